"""The publishing services: workflow, permissions per group, search text, scheduled publishing, revert."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from conditions import services
from conditions.indexing import refresh_due_articles
from conditions.models import Article, ArticleSource, Code

Status = Article.Status


def draft(user, code="M61.2", **fields):
    article = Article(
        code_id=code,
        title=fields.pop("title", "Bone growing in a paralysed muscle"),
        summary="Bone can form inside muscles after a spinal cord injury.",
        body=fields.pop("body", "Hard lumps can form.\n\n1. Stretch\n2. Move <script>alert(1)</script>"),
        author="Sam Writer",
        **fields,
    )
    return services.article_save(article=article, user=user)


def code_row(code="M61.2"):
    return Code.objects.get(pk=code)


def test_save_renders_and_sanitizes_the_body_and_records_who(editor):
    article = draft(editor)
    assert article.status == Status.DRAFT and article.created_by == editor
    assert "<ol>" in article.body_html and "<script>" not in article.body_html
    revision = article.history.get()
    assert revision.history_user == editor and revision.history_change_reason == "Created"


def test_the_whole_workflow_keeps_search_text_current(editor, publisher):
    article = draft(editor)
    assert code_row().article_text == "" and not code_row().has_article

    services.article_submit(article=article, user=editor)
    assert article.status == Status.IN_REVIEW and code_row().article_text == ""

    services.article_publish(article=article, user=publisher)
    row = code_row()
    assert row.has_article
    assert row.article_text == (
        "Bone growing in a paralysed muscle Bone can form inside muscles after a spinal cord injury. "
        "Hard lumps can form. Stretch Move <script>alert(1)</script>"
    )

    article.title = "Myositis ossificans after paralysis"
    services.article_save(article=article, user=publisher)
    assert code_row().article_text.startswith("Myositis ossificans after paralysis ")

    services.article_unpublish(article=article, user=publisher)
    assert article.status == Status.DRAFT and code_row().article_text == "" and not code_row().has_article

    services.article_publish(article=article, user=publisher)
    services.article_archive(article=article, user=publisher)
    assert article.status == Status.ARCHIVED and not code_row().has_article
    reasons = list(article.history.order_by("history_date").values_list("history_change_reason", flat=True))
    assert reasons == [
        "Created",
        "Submitted for review",
        "Published",
        "Edited",
        "Unpublished",
        "Published",
        "Archived",
    ]


def test_moving_an_article_to_another_code_clears_the_old_codes_text(publisher):
    article = draft(publisher)
    services.article_publish(article=article, user=publisher)
    article.code_id = "M61.20"
    services.article_save(article=article, user=publisher)
    assert not code_row("M61.2").has_article and code_row("M61.20").has_article


class TestEditorGroup:
    def test_can_write_and_submit_a_draft(self, editor):
        article = draft(editor)
        article.summary = "Changed."
        services.article_save(article=article, user=editor)
        services.article_submit(article=article, user=editor)
        assert Article.objects.get().status == Status.IN_REVIEW

    @pytest.mark.parametrize(
        "service", [services.article_publish, services.article_unpublish, services.article_archive]
    )
    def test_cannot_publish_unpublish_or_archive(self, editor, service):
        article = draft(editor)
        with pytest.raises(PermissionDenied):
            service(article=article, user=editor)
        assert Article.objects.get().status == Status.DRAFT

    def test_cannot_edit_an_article_once_submitted(self, editor):
        article = services.article_submit(article=draft(editor), user=editor)
        article.body = "Sneaky change"
        with pytest.raises(PermissionDenied):
            services.article_save(article=article, user=editor)
        assert Article.objects.get().body != "Sneaky change"

    def test_cannot_set_the_status_or_publish_time_by_saving(self, editor):
        article = draft(editor, status=Status.PUBLISHED, publish_at=timezone.now())
        assert article.status == Status.DRAFT and article.publish_at is None
        article.status = Status.PUBLISHED
        services.article_save(article=article, user=editor)
        assert Article.objects.get().status == Status.DRAFT and not code_row().has_article


class TestPublisherGroup:
    def test_can_review_publish_unpublish_and_archive(self, editor, publisher):
        article = services.article_submit(article=draft(editor), user=editor)
        for service, status in [
            (services.article_publish, Status.PUBLISHED),
            (services.article_unpublish, Status.DRAFT),
            (services.article_archive, Status.ARCHIVED),
            (services.article_publish, Status.PUBLISHED),
        ]:
            service(article=article, user=publisher)
            assert Article.objects.get().status == status

    def test_steps_from_the_wrong_state_are_refused(self, publisher):
        article = draft(publisher)
        with pytest.raises(services.WorkflowError):
            services.article_unpublish(article=article, user=publisher)
        services.article_publish(article=article, user=publisher)
        with pytest.raises(services.WorkflowError):
            services.article_publish(article=article, user=publisher)


def test_a_user_without_a_group_can_do_nothing(db, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    with pytest.raises(PermissionDenied):
        draft(nobody)
    assert not Article.objects.exists()


def test_scheduled_publishing_with_a_frozen_clock(publisher, client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        article = draft(publisher, body="Wombatoid lumps can form.")
        services.article_publish(article=article, user=publisher, publish_at=start + timedelta(hours=2))
        assert article.status == Status.PUBLISHED
        assert not Article.objects.published().exists()
        assert not code_row().has_article
        assert "Bone growing in a paralysed muscle" not in client.get("/codes/M61.2/").content.decode()
        assert not Code.objects.search("wombatoid").filter(code="M61.2").exists()

    with time_machine.travel(start + timedelta(hours=2, minutes=1), tick=False):
        assert list(Article.objects.published()) == [article]
        assert "Bone growing in a paralysed muscle" in client.get("/codes/M61.2/").content.decode()
        # A search never writes: the publish_scheduled job copies the article for search.
        assert refresh_due_articles() == 1
        assert Code.objects.search("wombatoid").filter(code="M61.2").exists()
        assert code_row().has_article
        assert refresh_due_articles() == 0


def test_revert_restores_content_and_sources_as_a_new_revision(publisher):
    article = draft(publisher)
    ArticleSource.objects.create(
        article=article, position=1, title="MedlinePlus", url="https://medlineplus.gov/"
    )
    first = article.history.latest("history_date").history_id
    services.article_publish(article=article, user=publisher)

    article.title = "A worse title"
    article.body = "Worse body"
    services.article_save(article=article, user=publisher)
    article.sources.all().delete()
    ArticleSource.objects.create(article=article, position=1, title="A blog", url="https://example.com/")

    services.article_revert(article=article, user=publisher, history_id=first)

    article.refresh_from_db()
    assert article.title == "Bone growing in a paralysed muscle" and "Stretch" in article.body_html
    assert article.status == Status.PUBLISHED  # a revert changes content, not the workflow state
    assert [(s.title, s.url) for s in article.sources.all()] == [("MedlinePlus", "https://medlineplus.gov/")]
    assert code_row().article_text.startswith("Bone growing in a paralysed muscle")
    assert article.history.latest("history_date").history_change_reason.startswith(
        "Reverted to the revision of"
    )


def test_only_superusers_delete_and_search_forgets_the_article(publisher, admin_user):
    article = draft(publisher)
    article_id = article.pk
    services.article_publish(article=article, user=publisher)
    with pytest.raises(PermissionDenied):
        services.article_delete(article=article, user=publisher)
    services.article_delete(article=article, user=admin_user)
    assert not Article.objects.exists() and not code_row().has_article and code_row().article_text == ""
    assert article.history.model.objects.filter(id=article_id, history_type="-").exists()


def test_a_missing_illustration_file_never_breaks_loading_an_article(publisher, client):
    article = draft(publisher)
    Article.objects.filter(pk=article.pk).update(
        illustration="illustrations/gone.png", status=Status.PUBLISHED
    )
    assert Article.objects.get().illustration.name == "illustrations/gone.png"
    assert client.get("/codes/M61.2/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://files.example.org/guide.pdf",
        "//evil.example/",
        "https://",
    ],
)
def test_sources_keep_web_addresses_only(publisher, url):
    article = draft(publisher)
    with pytest.raises(ValidationError):
        services.source_save(source=ArticleSource(article=article, title="Bad", url=url), user=publisher)
    assert not article.sources.exists()


def test_a_web_source_is_saved_with_its_revision(publisher):
    article = draft(publisher)
    source = ArticleSource(article=article, position=1, title="MedlinePlus", url="https://medlineplus.gov/")
    services.source_save(source=source, user=publisher)
    assert source.history.get().history_user == publisher


def test_a_source_stored_by_another_path_is_never_a_live_link(publisher, client):
    article = draft(publisher)
    ArticleSource.objects.create(article=article, position=1, title="Trap <b>", url="javascript:alert(1)")
    ArticleSource.objects.create(
        article=article, position=2, title="MedlinePlus", url="https://medlineplus.gov/"
    )
    services.article_publish(article=article, user=publisher)
    html = client.get("/codes/M61.2/").content.decode()
    assert "javascript:" not in html and "<li>Trap &lt;b&gt;</li>" in html
    assert '<a href="https://medlineplus.gov/" rel="noopener">MedlinePlus</a>' in html
