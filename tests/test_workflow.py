"""The editors' daily work through HTTP: buttons that save first, no silent overwrite, times in the editor's zone,
revising a live article, withdraw and request changes, notifications, the admin log and the review queue."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import LogEntry
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


@pytest.fixture
def emails(editor, publisher):
    editor.email, publisher.email = "eddie@example.org", "pat@example.org"
    editor.save()
    publisher.save()


class TestReviseALiveArticle:
    @pytest.fixture
    def live(self, editor, publisher, draft):
        services.article_save(article=draft, user=editor, related_codes=["M61.20"])
        return publish_now(draft, publisher)

    def test_a_revision_is_reviewed_while_the_live_article_stays_and_then_replaces_it(
        self, client, editor, publisher, live, mailoutbox, emails, django_capture_on_commit_callbacks
    ):
        client.force_login(editor)
        page = client.get(change_url(live)).content.decode()
        assert 'form="step-revise"' in page  # the editor cannot edit the live article, only revise it
        response = client.post(
            reverse("admin:conditions_article_step", args=[live.pk, "revise"]), follow=True
        )
        revision = Article.objects.get(revision_of=live)
        assert response.redirect_chain[-1][0] == change_url(revision)
        assert "The published article stays live" in response.content.decode()
        assert (revision.status, revision.code_id, revision.related_code_list) == (
            "draft",
            "M61.2",
            ["M61.20"],
        )
        assert [s.url for s in revision.sources.all()] == ["https://medlineplus.gov/"]

        with django_capture_on_commit_callbacks(execute=True):
            data = edit_form(revision, title="Bone in muscle, revised", _step="submit")
            data["sources-0-url"] = "https://www.nhs.uk/"
            assert client.post(change_url(revision), data).status_code == 302
        html = public_page(client)
        assert "Bone in muscle" in html and "revised" not in html
        assert [m.to for m in mailoutbox] == [["pat@example.org"]]

        client.force_login(publisher)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(change_url(revision), edit_form(revision, _step="publish"))
        assert response.url == change_url(live)
        live.refresh_from_db()
        assert (live.title, live.status) == ("Bone in muscle, revised", "published")
        assert [s.url for s in live.sources.all()] == ["https://www.nhs.uk/"]
        assert not Article.objects.filter(revision_of=live).exists()
        assert "Bone in muscle, revised" in public_page(client)
        assert "Published the revision by eddie" in live.history.first().history_change_reason
        assert mailoutbox[-1].to == ["eddie@example.org"] and "published" in mailoutbox[-1].body

    def test_one_revision_at_a_time_and_never_scheduled(self, editor, publisher, live):
        revision = services.article_revise(article=live, user=editor)
        with pytest.raises(services.WorkflowError):
            services.article_revise(article=live, user=editor)
        Article.objects.filter(pk=revision.pk).update(publish_at=timezone.now() + timedelta(days=1))
        revision.refresh_from_db()
        with pytest.raises(services.WorkflowError, match="replaces the live article"):
            services.article_publish(article=revision, user=publisher)
        live.refresh_from_db()
        assert live.title == "Bone in muscle"


class TestBackFromReview:
    def test_the_editor_withdraws(self, client, editor, draft):
        services.article_submit(article=draft, user=editor)
        client.force_login(editor)
        response = client.post(reverse("admin:conditions_article_step", args=[draft.pk, "withdraw"]))
        assert response.status_code == 302
        draft.refresh_from_db()
        assert draft.status == "draft"
        assert LogEntry.objects.filter(
            object_id=str(draft.pk), change_message="Withdrawn from review"
        ).exists()

    def test_the_publisher_requests_changes_with_a_note(
        self, client, editor, publisher, draft, mailoutbox, emails, django_capture_on_commit_callbacks
    ):
        services.article_submit(article=draft, user=editor)
        client.force_login(publisher)
        assert 'name="review_note"' in client.get(change_url(draft)).content.decode()
        response = client.post(change_url(draft), edit_form(draft, _step="request_changes", review_note=""))
        assert response.status_code == 200 and "the note is required" in response.content.decode()
        draft.refresh_from_db()
        assert draft.status == "in_review"
        with django_capture_on_commit_callbacks(execute=True):
            data = edit_form(draft, _step="request_changes", review_note="Name the sources in the text.")
            assert client.post(change_url(draft), data).status_code == 302
        draft.refresh_from_db()
        assert (draft.status, draft.review_note) == ("draft", "Name the sources in the text.")
        assert mailoutbox[-1].to == ["eddie@example.org"] and "Name the sources" in mailoutbox[-1].body
        entry = LogEntry.objects.filter(object_id=str(draft.pk)).latest("action_time")
        assert entry.change_message == "Changes requested: Name the sources in the text."

        client.force_login(editor)
        assert "Name the sources in the text." in client.get(change_url(draft)).content.decode()
        home = client.get(reverse("admin:index")).content.decode()
        assert "Changes requested (1)" in home
        client.post(change_url(draft), edit_form(draft, _step="submit"))
        draft.refresh_from_db()
        assert (draft.status, draft.review_note) == ("in_review", "")


class TestReviewQueue:
    def test_each_role_sees_its_queue(self, client, editor, publisher, django_user_model, draft):
        other = django_user_model.objects.create_user("olga", is_staff=True)
        other.groups.add(*editor.groups.all())
        theirs = Article(code_id="I10", title="High blood pressure", summary="s", body="b", author="O")
        services.article_save(article=theirs, user=other)
        services.article_submit(article=theirs, user=other)
        later = Article(code_id="E11.9", title="Diabetes", summary="s", body="b", author="O")
        services.article_save(article=later, user=publisher)
        services.article_submit(article=later, user=publisher)
        services.article_publish(article=later, user=publisher, publish_at=timezone.now() + timedelta(days=2))

        client.force_login(publisher)
        home = client.get(reverse("admin:index")).content.decode()
        assert "Waiting for review (1)" in home and "High blood pressure" in home
        assert "Scheduled (1)" in home and "Review overdue (0)" in home
        client.force_login(editor)
        home = client.get(reverse("admin:index")).content.decode()
        assert "Waiting for review (0)" in home and "My drafts (1)" in home
        listed = client.get(reverse("admin:conditions_article_changelist") + "?queue=mine").content.decode()
        assert "Bone in muscle" in listed and "High blood pressure" not in listed

    def test_submitting_emails_the_publishers(
        self, editor, publisher, draft, mailoutbox, emails, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            services.article_submit(article=draft, user=editor)
        assert [m.to for m in mailoutbox] == [["pat@example.org"]]
        assert mailoutbox[0].subject == "Waiting for review: Bone in muscle"
        assert f"/conditions/article/{draft.pk}/change/" in mailoutbox[0].body


def png_bytes():
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (800, 400), "teal").save(buffer, "PNG")
    return buffer.getvalue()


class TestWritingAids:
    @pytest.mark.parametrize(
        "body, message",
        [
            (
                "[MedlinePlus](www.medlineplus.gov/diabetes.html)",
                "has no scheme: write https://www.medlineplus.gov",
            ),
            ("[x](htps://medlineplus.gov/)", "starts with “htps:”"),
            ("[x]()", "has no address"),
            ("See [x](https://medlineplus.gov/ for more", "is not a link"),
            ("See [x][ref].", "“[x][ref]” is not a link"),
            ("[x](javascript:alert(1))", "is not a link"),
            ("# Title\n\n### Too deep", "jumps from level 1 to level 3"),
            ("word " * 30000, "the limit is 100 KB"),
        ],
    )
    def test_broken_bodies_are_refused_with_a_clear_message(self, client, editor, draft, body, message):
        client.force_login(editor)
        response = client.post(change_url(draft), edit_form(draft, body=body))
        assert response.status_code == 200
        assert message in response.content.decode()
        draft.refresh_from_db()
        assert draft.body == "Hard lumps."

    def test_a_3_mb_paste_gets_a_form_error_not_a_400(self, client, editor, draft):
        client.force_login(editor)
        response = client.post(change_url(draft), edit_form(draft, body="x" * 3_000_000))
        assert response.status_code == 200 and "the limit is 100 KB" in response.content.decode()

    def test_long_title_and_summary_are_kept_and_refused_not_cut(self, client, editor, draft):
        client.force_login(editor)
        summary = "A sentence that goes on. " * 26  # 649 characters once the last space is stripped
        response = client.post(change_url(draft), edit_form(draft, summary=summary, title="T" * 240))
        html = response.content.decode()
        assert response.status_code == 200
        assert "at most 320 characters (it has 649)" in html and "at most 200 characters (it has 240)" in html
        assert summary.strip() in html  # the whole text is still in the form
        form = client.get(change_url(draft)).content.decode()
        assert 'data-max-length="320"' in form and 'maxlength="320"' not in form

    def test_live_preview_uses_the_public_renderer_and_is_staff_only(self, client, editor, draft):
        url = reverse("admin:conditions_article_body_preview")
        body = "## Care\n\n<script>alert(1)</script> [ok](https://nhs.uk) [bad](www.x.org)"
        assert client.post(url, {"body": body}).status_code == 302  # to the login page
        client.force_login(editor)
        result = client.post(url, {"body": body}).json()
        assert "<h3>Care</h3>" in result["html"] and "<script>" not in result["html"]
        assert 'href="https://nhs.uk" rel="noopener nofollow"' in result["html"]
        assert any("has no scheme" in problem for problem in result["problems"])
        assert client.get(url).status_code == 405

    def test_the_chosen_image_survives_a_validation_error(self, client, editor, draft, media_root):
        from django.core.files.uploadedfile import SimpleUploadedFile

        client.force_login(editor)
        data = edit_form(draft, body="[x]()", illustration_alt="A drawing", illustration_caption="Muscle")
        data["illustration_credit"] = "Sam"
        data["illustration"] = SimpleUploadedFile("m.png", png_bytes(), content_type="image/png")
        response = client.post(change_url(draft), data)
        html = response.content.decode()
        assert response.status_code == 200 and "The image you chose is kept" in html
        token = response.context["adminform"].form.data["pending_illustration"]
        assert token
        retry = edit_form(draft, pending_illustration=token, illustration_alt="A drawing")
        retry.update(illustration_caption="Muscle", illustration_credit="Sam", body="Fixed.")
        assert client.post(change_url(draft), retry).status_code == 302
        draft.refresh_from_db()
        assert draft.illustration.name.endswith(".png") and draft.illustration_width == 800
        assert not list((media_root / "illustrations" / "pending").iterdir())
        kept = draft.illustration.name
        forged = edit_form(draft, pending_illustration="illustrations/pending/x.png", body="Again.")
        forged.update(illustration_alt="A drawing", illustration_caption="Muscle", illustration_credit="Sam")
        assert client.post(change_url(draft), forged).status_code == 302  # a forged token is ignored
        draft.refresh_from_db()
        assert draft.illustration.name == kept


class TestRevisions:
    @pytest.fixture
    def revised(self, editor, draft):
        first = draft.history.first().history_id
        draft.body = "Bone can form inside muscles after an injury. " * 10 + "Stretch every day."
        services.article_save(article=draft, user=editor, related_codes=["M61.20", "M61.21"])
        draft.body = draft.body.replace("every day", "twice a day")
        services.article_save(article=draft, user=editor, related_codes=["M61.21"])
        return first

    def test_compare_shows_a_word_diff_of_the_rendered_text(self, client, publisher, draft, revised):
        client.force_login(publisher)
        html = client.get(reverse("admin:conditions_article_compare", args=[draft.pk])).content.decode()
        assert "<del>every </del><ins>twice a </ins>day." in html
        assert "unchanged words" in html
        assert "M61.20, M61.21" in html and "M61.21" in html  # related codes are compared
        assert "<style>" not in html and "style=" not in html

    def test_revert_asks_first_and_restores_related_codes(self, client, publisher, draft, revised):
        client.force_login(publisher)
        url = reverse("admin:conditions_article_revert", args=[draft.pk, revised])
        confirm = client.get(url).content.decode()
        assert "Yes, revert" in confirm and "What would change" not in confirm
        draft.refresh_from_db()
        assert draft.related_code_list == ["M61.21"]
        assert client.post(url, {"loaded_at": draft.updated_at.isoformat()}).status_code == 302
        draft.refresh_from_db()
        assert (draft.body, draft.related_code_list) == ("Hard lumps.", [])
        assert list(draft.related_codes.all()) == []

    def test_an_old_revision_is_read_only_and_its_preview_shows_that_version(
        self, client, editor, draft, revised
    ):
        client.force_login(editor)
        url = reverse("admin:conditions_article_simple_history", args=[draft.pk, revised])
        html = client.get(url).content.decode()
        assert 'type="file"' not in html and "<textarea" not in html and 'name="_save"' not in html
        assert "Hard lumps." in html
        assert client.post(url, {"title": "x"}).status_code == 403
        preview = reverse("admin:conditions_article_revision_preview", args=[draft.pk, revised])
        assert preview in html
        shown = client.get(preview).content.decode()
        assert "Hard lumps." in shown and "twice a day" not in shown


class TestRelatedCodes:
    def test_shown_on_the_public_page_and_in_the_api(self, client, editor, publisher, draft):
        services.article_save(article=draft, user=editor, related_codes=["M61.21", "M61.20"])
        publish_now(draft, publisher)
        html = public_page(client)
        assert "Related codes" in html
        assert html.index("M61.20") < html.index('href="/codes/M61.21/"')
        article = client.get("/api/codes/M61.2").json()["article"]
        assert [c["code"] for c in article["related_codes"]] == ["M61.20", "M61.21"]

    def test_the_code_picker_finds_codes_by_lay_words(self, client, editor):
        client.force_login(editor)
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": "conditions",
                "model_name": "article",
                "field_name": "related_codes",
                "term": "strep throat",
            },
        )
        assert response.json()["results"][0]["id"] == "J02.0"
