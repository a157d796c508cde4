"""The editors' daily work through HTTP: buttons that save first, no silent overwrite, times in the editor's zone,
revising a live article, withdraw and request changes, notifications, the admin log and the review queue."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conditions import services
from conditions.models import Article, ArticleSource, Synonym

from .test_admin import article_form, public_page

CHANGE = "admin:conditions_article_change"


def change_url(article):
    return reverse(CHANGE, args=[article.pk])


@pytest.fixture
def draft(editor):
    article = Article(
        code_id="M61.2", title="Bone in muscle", summary="Old summary.", body="Hard lumps.", author="Sam"
    )
    services.article_save(article=article, user=editor)
    ArticleSource.objects.create(
        article=article, position=1, title="MedlinePlus", url="https://medlineplus.gov/"
    )
    return article


def edit_form(article, **changes):
    """The change form as the browser would post it for this article as it is now."""
    article.refresh_from_db()
    sources = list(article.sources.all())
    data = article_form(
        code=article.code_id,
        title=article.title,
        sources=[(s.title, s.url) for s in sources] or (("MedlinePlus", "https://medlineplus.gov/"),),
        existing=[s.pk for s in sources],
        body=article.body,
        summary=article.summary,
        loaded_at=article.updated_at.isoformat(),
    )
    for i in range(len(sources)):
        data[f"sources-{i}-article"] = str(article.pk)
    data.update(changes)
    return data


def publish_now(article, user):
    services.article_submit(article=article, user=user)
    return services.article_publish(article=article, user=user)


class TestSafeButtons:
    def test_submit_saves_the_edits_first(self, client, editor, draft):
        client.force_login(editor)
        response = client.post(change_url(draft), edit_form(draft, summary="New summary.", _step="submit"))
        assert response.status_code == 302
        draft.refresh_from_db()
        assert (draft.status, draft.summary) == ("in_review", "New summary.")
        assert "Submitted for review" in draft.history.first().history_change_reason

    def test_a_step_does_nothing_when_the_edits_do_not_pass_the_checks(self, client, editor, draft):
        client.force_login(editor)
        response = client.post(
            change_url(draft), edit_form(draft, body="[x](www.medlineplus.gov/a)", _step="submit")
        )
        assert response.status_code == 200
        assert "has no scheme: write https://www.medlineplus.gov/a" in response.content.decode()
        draft.refresh_from_db()
        assert (draft.status, draft.body) == ("draft", "Hard lumps.")

    def test_the_workflow_buttons_sit_after_save_and_inside_the_form(self, client, editor, draft):
        client.force_login(editor)
        html = client.get(change_url(draft)).content.decode()
        assert html.index('name="_save"') < html.index('name="_step" value="submit"')
        assert 'form="step-submit"' not in html

    def test_publish_honours_the_typed_time_and_says_scheduled(self, client, editor, publisher, draft):
        services.article_submit(article=draft, user=editor)
        client.force_login(publisher)
        later = timezone.now() + timedelta(days=3)
        data = edit_form(
            draft, publish_at_0=f"{later:%Y-%m-%d}", publish_at_1=f"{later:%H:%M:%S}", _step="publish"
        )
        response = client.post(change_url(draft), data, follow=True)
        html = response.content.decode()
        assert "is scheduled for" in html and "now published" not in html
        draft.refresh_from_db()
        assert draft.status == "published" and draft.is_scheduled
        assert abs(draft.publish_at - later) < timedelta(seconds=1)
        assert "Bone in muscle" not in public_page(client)
        changelist = client.get(reverse("admin:conditions_article_changelist")).content.decode()
        assert "Scheduled for" in changelist

    def test_times_are_shown_and_read_in_the_editors_zone(self, client, editor, publisher, draft):
        services.article_submit(article=draft, user=editor)
        client.force_login(publisher)
        client.cookies["tz"] = "America/Chicago"
        form = client.get(change_url(draft)).content.decode()
        assert 'data-admin-utc-offset="-' in form  # no "hours behind server time" warning
        data = edit_form(draft, publish_at_0="2030-01-02", publish_at_1="09:00:00", _step="publish")
        assert client.post(change_url(draft), data).status_code == 302
        draft.refresh_from_db()
        assert draft.publish_at == datetime(2030, 1, 2, 15, 0, tzinfo=UTC)  # 9:00 in Chicago is 15:00 UTC
        shown = client.get(change_url(draft)).content.decode()
        assert 'value="09:00:00"' in shown
        client.cookies["tz"] = "Not/AZone"
        assert client.get(change_url(draft)).status_code == 200


class TestNoSilentOverwrite:
    def test_a_stale_article_save_is_refused(self, client, editor, publisher, draft):
        stale = edit_form(draft, summary="Editor's summary.")
        client.force_login(publisher)
        assert client.post(change_url(draft), edit_form(draft, title="Publisher's title")).status_code == 302
        client.force_login(editor)
        response = client.post(change_url(draft), stale)
        html = response.content.decode()
        assert response.status_code == 200
        assert "changed by pat at" in html and "since you opened it" in html
        assert reverse("admin:conditions_article_compare", args=[draft.pk]) in html
        draft.refresh_from_db()
        assert (draft.title, draft.summary) == ("Publisher's title", "Old summary.")

    def test_a_stale_sources_save_is_refused(self, client, editor, publisher, draft):
        stale = edit_form(draft, **{"sources-0-title": "Editor's source"})
        client.force_login(publisher)
        fresh = edit_form(draft, **{"sources-0-url": "https://www.nhs.uk/"})
        assert client.post(change_url(draft), fresh).status_code == 302
        client.force_login(editor)
        assert client.post(change_url(draft), stale).status_code == 200
        assert [(s.title, s.url) for s in draft.sources.all()] == [("MedlinePlus", "https://www.nhs.uk/")]

    def test_a_stale_synonym_save_is_refused(self, client, editor, publisher):
        synonym = Synonym.objects.create(term="bone lumps", meaning="ossification")
        url = reverse("admin:conditions_synonym_change", args=[synonym.pk])
        client.force_login(editor)
        opened = client.get(url).content.decode()
        assert f'value="{synonym.updated_at.isoformat()}"' in opened
        stale = {
            "term": "bone lumps",
            "meaning": "calcification",
            "code": "",
            "loaded_at": synonym.updated_at.isoformat(),
        }
        client.force_login(publisher)
        response = client.post(url, {**stale, "meaning": "myositis ossificans"})
        assert response.status_code == 302
        client.force_login(editor)
        response = client.post(url, stale)
        assert response.status_code == 200 and "changed by pat at" in response.content.decode()
        synonym.refresh_from_db()
        assert synonym.meaning == "myositis ossificans"

    def test_a_step_from_a_stale_page_is_refused(self, client, editor, publisher, draft):
        services.article_submit(article=draft, user=editor)
        draft.refresh_from_db()
        opened = draft.updated_at.isoformat()
        services.article_withdraw(article=draft, user=editor)
        services.article_submit(article=draft, user=editor)
        client.force_login(editor)
        url = reverse("admin:conditions_article_step", args=[draft.pk, "withdraw"])
        response = client.post(url, {"loaded_at": opened}, follow=True)
        assert "since you opened it" in response.content.decode()
        draft.refresh_from_db()
        assert draft.status == "in_review"
