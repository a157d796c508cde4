"""Every write to an article: save, submit, publish, unpublish, archive, revert.

Each service checks the user's permission, runs in one transaction, renders
and sanitizes the body, leaves a revision (django-simple-history) naming the
user, and refreshes the searchable article text on the code row, so the
public page and search change together. Status moves only through the
workflow services; `article_save` never changes it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .images import CleanedImage, clean_illustration, phone_variant
from .markdown import render_markdown
from .models import Article, ArticleSource
from .models.content import validate_web_url
from .search import refresh_article_text

Status = Article.Status

# What a revert restores: the content, never the workflow state or the code.
REVERTIBLE_FIELDS = [
    "title",
    "summary",
    "body",
    "illustration",
    "illustration_small",
    "illustration_width",
    "illustration_height",
    "illustration_alt",
    "illustration_caption",
    "illustration_credit",
    "author",
    "medical_reviewer",
    "last_reviewed",
]
SOURCE_FIELDS = ["position", "title", "url"]


class WorkflowError(ValidationError):
    """The article is not in a state the requested step starts from."""


def _require(user: AbstractUser, permission: str) -> None:
    if not user.has_perm(f"conditions.{permission}"):
        raise PermissionDenied(_("You may not do this."))


def _record(article: Article, user: AbstractUser, reason: str) -> None:
    article._history_user = user
    article._change_reason = reason
    article.save()


def _prepare_illustration(article: Article) -> None:
    file = article.illustration
    if not file or file._committed:
        return
    cleaned = file.file if isinstance(file.file, CleanedImage) else clean_illustration(file.file)
    article.illustration = cleaned
    article.illustration_width, article.illustration_height = cleaned.image_width, cleaned.image_height
    article.illustration_small = phone_variant(cleaned)


@transaction.atomic
def article_save(*, article: Article, user: AbstractUser, reason: str = "") -> Article:
    """Create or edit an article's content: editors change drafts, publishers any article."""
    is_new = article._state.adding
    if is_new:
        _require(user, "add_article")
        article.status = Status.DRAFT
        article.created_by = user
        previous_code = None
        if not user.has_perm("conditions.publish_article"):
            article.publish_at = None
    else:
        _require(user, "change_article")
        current = Article.objects.select_for_update().get(pk=article.pk)
        if current.status != Status.DRAFT:
            _require(user, "publish_article")
        # The workflow services own the status, and publishers the publish time.
        article.status = current.status
        if not user.has_perm("conditions.publish_article"):
            article.publish_at = current.publish_at
        previous_code = current.code_id
    article.body_html = render_markdown(article.body)
    _prepare_illustration(article)
    _record(article, user, reason or (_("Created") if is_new else _("Edited")))
    refresh_article_text({article.code_id, previous_code} - {None})
    return article


@dataclass(frozen=True)
class Step:
    """One move of the workflow: who may make it, from which states, to which."""

    permission: str
    allowed_from: frozenset
    to: str
    reason: str


WORKFLOW = {
    "submit": Step(
        "submit_article", frozenset({Status.DRAFT}), Status.IN_REVIEW, gettext_lazy("Submitted for review")
    ),
    "publish": Step(
        "publish_article",
        frozenset({Status.DRAFT, Status.IN_REVIEW, Status.ARCHIVED}),
        Status.PUBLISHED,
        gettext_lazy("Published"),
    ),
    "unpublish": Step(
        "publish_article", frozenset({Status.PUBLISHED}), Status.DRAFT, gettext_lazy("Unpublished")
    ),
    "archive": Step(
        "publish_article",
        frozenset({Status.DRAFT, Status.IN_REVIEW, Status.PUBLISHED}),
        Status.ARCHIVED,
        gettext_lazy("Archived"),
    ),
}


def _transition(article: Article, user: AbstractUser, step: Step) -> Article:
    _require(user, step.permission)
    current = Article.objects.select_for_update().get(pk=article.pk)
    if current.status not in step.allowed_from:
        raise WorkflowError(
            _("“%(title)s” is %(status)s and cannot be %(step)s.")
            % {
                "title": current.title,
                "status": current.get_status_display().lower(),
                "step": str(step.reason).lower(),
            },
            code="invalid_transition",
        )
    current.status = step.to
    current.body_html = render_markdown(current.body)
    _record(current, user, str(step.reason))
    refresh_article_text([current.code_id])
    article.refresh_from_db()
    return article


@transaction.atomic
def article_submit(*, article: Article, user: AbstractUser) -> Article:
    """An editor hands a draft to the publishers."""
    return _transition(article, user, WORKFLOW["submit"])


@transaction.atomic
def article_publish(*, article: Article, user: AbstractUser, publish_at: datetime | None = None) -> Article:
    """Publish now, or at `publish_at` (the article stays hidden until then)."""
    if publish_at is not None:
        _require(user, WORKFLOW["publish"].permission)
        Article.objects.filter(pk=article.pk).update(publish_at=publish_at)
    return _transition(article, user, WORKFLOW["publish"])


@transaction.atomic
def article_unpublish(*, article: Article, user: AbstractUser) -> Article:
    """Take a published article off the site and back to draft, so editors can work on it."""
    return _transition(article, user, WORKFLOW["unpublish"])


@transaction.atomic
def article_archive(*, article: Article, user: AbstractUser) -> Article:
    """Retire an article: hidden from the public, kept with its history."""
    return _transition(article, user, WORKFLOW["archive"])


@transaction.atomic
def article_delete(*, article: Article, user: AbstractUser) -> None:
    """Delete an article for good (superusers only, by default); its history stays."""
    _require(user, "delete_article")
    code_id = article.code_id
    article._history_user = user
    article.delete()
    refresh_article_text([code_id])


@transaction.atomic
def source_save(*, source: ArticleSource, user: AbstractUser) -> ArticleSource:
    """Add or change one source of an article; its address must be an http or https URL."""
    _require(user, "change_article")
    validate_web_url(source.url)
    source._history_user = user
    source.save()
    return source


def sources_at_revision(*, article: Article, history_id: int) -> list[ArticleSource]:
    """The article's sources as they stood with this revision.

    The admin saves the sources just after the article, so the state that
    belongs to a revision is the one just before the article's next revision.
    """
    record = article.history.get(history_id=history_id)
    later = article.history.filter(history_date__gt=record.history_date).order_by("history_date").first()
    moment = later.history_date - timedelta(microseconds=1) if later else timezone.now()
    return sorted(
        ArticleSource.history.as_of(moment).filter(article_id=article.pk), key=lambda s: (s.position, s.pk)
    )


@transaction.atomic
def article_revert(*, article: Article, user: AbstractUser, history_id: int) -> Article:
    """Bring back the content and sources of an earlier revision, as a new revision."""
    record = article.history.get(history_id=history_id)
    sources = sources_at_revision(article=article, history_id=history_id)
    for field in REVERTIBLE_FIELDS:
        setattr(article, field, getattr(record, field))
    article_save(
        article=article,
        user=user,
        reason=_("Reverted to the revision of %(date)s")
        % {"date": f"{timezone.localtime(record.history_date):%Y-%m-%d %H:%M:%S}"},
    )
    # A handful of rows, saved one by one so that each change is in the sources' history too.
    for source in article.sources.all():
        source._history_user = user
        source.delete()
    for source in sources:
        restored = ArticleSource(
            article=article, **{field: getattr(source, field) for field in SOURCE_FIELDS}
        )
        source_save(source=restored, user=user)
    return article
