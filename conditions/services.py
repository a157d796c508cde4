"""Every write to an article: save, submit, withdraw, request changes, publish, revise, revert.

Each service checks the user's permission, runs in one transaction, renders
and sanitizes the body, leaves a revision (django-simple-history) naming the
user, and refreshes the searchable article text on the code row, so the
public page and search change together. Status moves only through the
workflow services; `article_save` never changes it. Workflow steps are also
written to the admin log, and the people who must act next are emailed once
the transaction commits (conditions.notifications).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import notifications
from .images import CleanedImage, clean_illustration, phone_variant
from .indexing import refresh_article_text
from .markdown import markdown_problems, render_markdown
from .models import Article, ArticleSource, Code, ErrorReport
from .models.content import validate_web_url

Status = Article.Status

# What a revert restores, and what a revision carries to the live article: the content,
# never the workflow state or the code.
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
    "related_code_list",
]
SOURCE_FIELDS = ["position", "title", "url"]


class WorkflowError(ValidationError):
    """The article is not in a state the requested step starts from."""


class StaleEdit(ValidationError):
    """The row changed after the editor opened it: saving would silently undo someone's work."""


def _require(user: AbstractUser, permission: str) -> None:
    if not user.has_perm(f"conditions.{permission}"):
        raise PermissionDenied(_("You may not do this."))


def _record(article: Article, user: AbstractUser, reason: str) -> None:
    article._history_user = user
    article._change_reason = reason
    article.save()


def _log(article: Article, user: AbstractUser, message: str) -> None:
    """A workflow step in the admin's "Recent actions" and the object's history."""
    LogEntry.objects.log_actions(
        user_id=user.pk, queryset=[article], action_flag=CHANGE, change_message=message, single_object=True
    )


def _prepare_illustration(article: Article) -> None:
    file = article.illustration
    if not file or file._committed:
        return
    cleaned = file.file if isinstance(file.file, CleanedImage) else clean_illustration(file.file)
    article.illustration = cleaned
    article.illustration_width, article.illustration_height = cleaned.image_width, cleaned.image_height
    article.illustration_small = phone_variant(cleaned)


# --- Checks shared by the admin form and the services ----------------------------------------
def validate_article_body(body: str) -> None:
    """Refuse a body with broken links or references, headings out of order, or over the size limit."""
    problems = markdown_problems(body)
    if problems:
        raise ValidationError({"body": [ValidationError(problem, code="markdown") for problem in problems]})


def last_change(instance: models.Model) -> str:
    """ "changed by X at T", from the row's latest revision, for a refused stale save."""
    record = instance.history.select_related("history_user").order_by("-history_date").first()
    who = (record.history_user if record else None) or _("someone")
    when = local_time(record.history_date if record else instance.updated_at)
    return _("changed by %(who)s at %(when)s") % {"who": who, "when": when}


def ensure_fresh(*, instance: models.Model, loaded_at: datetime | None) -> None:
    """Refuse to save over a row that changed since the editor loaded it (`loaded_at` = its updated_at then).

    Locks the row until the end of the transaction, so nobody can slip in between the check and the save.
    """
    if loaded_at is None or instance.pk is None:
        return
    current = type(instance).objects.select_for_update().filter(pk=instance.pk).first()
    if current is not None and current.updated_at != loaded_at:
        raise StaleEdit(
            _(
                "Not saved: this %(thing)s was %(change)s since you opened it. "
                "Compare the revisions, then open it again and redo your edits."
            )
            % {"thing": type(instance)._meta.verbose_name, "change": last_change(current)},
            code="stale",
        )


def _set_related_codes(article: Article, related_codes) -> None:
    codes = [code.code if isinstance(code, Code) else str(code) for code in related_codes]
    article.related_code_list = sorted(dict.fromkeys(codes))


def _sync_related_codes(article: Article) -> None:
    article.related_codes.set(Code.objects.filter(code__in=article.related_code_list))


@transaction.atomic
def article_save(
    *,
    article: Article,
    user: AbstractUser,
    reason: str = "",
    related_codes=None,
    loaded_at: datetime | None = None,
) -> Article:
    """Create or edit an article's content: editors change drafts, publishers any article.

    `related_codes` (codes or code strings) replaces the related codes when given; `loaded_at`
    (the article's updated_at when the editor opened it) refuses a save over someone else's.
    """
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
        ensure_fresh(instance=article, loaded_at=loaded_at)
        current = Article.objects.select_for_update().get(pk=article.pk)
        if current.status != Status.DRAFT:
            _require(user, "publish_article")
        # The workflow services own the status and the note, and publishers the publish time.
        article.status = current.status
        article.review_note = current.review_note
        if not user.has_perm("conditions.publish_article"):
            article.publish_at = current.publish_at
        previous_code = current.code_id
        if article.revision_of_id:
            article.code_id = current.code_id  # a working draft stays with its live article
    validate_article_body(article.body)
    article.body_html = render_markdown(article.body)
    if related_codes is not None:
        _set_related_codes(article, related_codes)
    _prepare_illustration(article)
    _record(article, user, reason or (_("Created") if is_new else _("Edited")))
    if related_codes is not None:
        _sync_related_codes(article)
    refresh_article_text({article.code_id, previous_code} - {None})
    return article


@dataclass(frozen=True)
class Step:
    """One move of the workflow: who may make it, from which states, to which."""

    permission: str
    allowed_from: frozenset
    to: str
    reason: str
    # Whether the step applies to live articles, to working drafts of live articles, or both.
    on_revisions: bool = True
    on_articles: bool = True


WORKFLOW = {
    "submit": Step(
        "submit_article", frozenset({Status.DRAFT}), Status.IN_REVIEW, gettext_lazy("Submitted for review")
    ),
    "withdraw": Step(
        "submit_article", frozenset({Status.IN_REVIEW}), Status.DRAFT, gettext_lazy("Withdrawn from review")
    ),
    "request_changes": Step(
        "publish_article", frozenset({Status.IN_REVIEW}), Status.DRAFT, gettext_lazy("Changes requested")
    ),
    "publish": Step(
        "publish_article",
        frozenset({Status.DRAFT, Status.IN_REVIEW, Status.ARCHIVED}),
        Status.PUBLISHED,
        gettext_lazy("Published"),
    ),
    "revise": Step(
        "submit_article",
        frozenset({Status.PUBLISHED}),
        Status.DRAFT,
        gettext_lazy("Revision started"),
        on_revisions=False,
    ),
    "unpublish": Step(
        "publish_article",
        frozenset({Status.PUBLISHED}),
        Status.DRAFT,
        gettext_lazy("Unpublished"),
        on_revisions=False,
    ),
    "archive": Step(
        "publish_article",
        frozenset({Status.DRAFT, Status.IN_REVIEW, Status.PUBLISHED}),
        Status.ARCHIVED,
        gettext_lazy("Archived"),
        on_revisions=False,
    ),
}


def step_applies(name: str, article: Article) -> bool:
    """Whether the workflow step `name` can start from this article as it is."""
    step = WORKFLOW[name]
    if article.status not in step.allowed_from:
        return False
    if article.revision_of_id:
        return step.on_revisions
    if name == "revise" and Article.objects.filter(revision_of=article).exists():
        return False
    return step.on_articles


def _locked(article: Article, user: AbstractUser, name: str, loaded_at: datetime | None) -> Article:
    step = WORKFLOW[name]
    _require(user, step.permission)
    ensure_fresh(instance=article, loaded_at=loaded_at)
    current = Article.objects.select_for_update().get(pk=article.pk)
    if not step_applies(name, current):
        raise WorkflowError(
            _("“%(title)s” is %(status)s and cannot be %(step)s.")
            % {
                "title": current.title,
                "status": state_label(current).lower(),
                "step": str(step.reason).lower(),
            },
            code="invalid_transition",
        )
    return current


def _transition(
    article: Article, user: AbstractUser, name: str, *, loaded_at=None, note: str = "", reason: str = ""
) -> Article:
    current = _locked(article, user, name, loaded_at)
    step = WORKFLOW[name]
    current.status = step.to
    current.body_html = render_markdown(current.body)
    if name == "request_changes":
        current.review_note = note
    elif name == "submit":
        current.review_note = ""
    reason = reason or str(step.reason)
    _record(current, user, f"{reason}: {note}" if note else reason)
    _log(current, user, f"{reason}: {note}" if note else reason)
    refresh_article_text([current.code_id])
    article.refresh_from_db()
    return article


def local_time(value: datetime | None) -> str:
    """A time in the current (the editor's) zone, with the zone's name: "Jan. 2, 2030, 9 a.m. CST"."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{date_format(local, 'DATETIME_FORMAT')} {local.tzname()}"


def state_label(article: Article) -> str:
    """The state as editors read it: a scheduled article is not "Published" yet."""
    if article.is_scheduled:
        return _("Scheduled for %(time)s") % {"time": local_time(article.publish_at)}
    label = article.get_status_display()
    return (
        _("%(status)s (revision of the live article)") % {"status": label}
        if article.revision_of_id
        else label
    )


@transaction.atomic
def article_submit(*, article: Article, user: AbstractUser, loaded_at: datetime | None = None) -> Article:
    """An editor hands a draft to the publishers, who are emailed."""
    _transition(article, user, "submit", loaded_at=loaded_at)
    transaction.on_commit(lambda: notifications.submitted(article=article, by=user))
    return article


@transaction.atomic
def article_withdraw(*, article: Article, user: AbstractUser, loaded_at: datetime | None = None) -> Article:
    """The editor takes a submitted article back to draft, to change it before review."""
    return _transition(article, user, "withdraw", loaded_at=loaded_at)


@transaction.atomic
def article_request_changes(
    *, article: Article, user: AbstractUser, note: str, loaded_at: datetime | None = None
) -> Article:
    """A publisher sends a submitted article back to draft with a note the editor sees."""
    note = " ".join((note or "").split())
    if not note:
        raise ValidationError(
            {"review_note": _("Say what should change: the note is required.")}, code="required"
        )
    _transition(article, user, "request_changes", loaded_at=loaded_at, note=note)
    transaction.on_commit(lambda: notifications.sent_back(article=article, by=user))
    return article


@transaction.atomic
def article_publish(
    *,
    article: Article,
    user: AbstractUser,
    publish_at: datetime | None = None,
    loaded_at: datetime | None = None,
) -> Article:
    """Publish now, or at the publish time (given, or the one saved on the article): hidden until then.

    A working draft of a live article replaces the live article in the same transaction and is
    then removed (its revisions stay in the history); the live article is returned.
    """
    if publish_at is not None:
        _require(user, WORKFLOW["publish"].permission)
        Article.objects.filter(pk=article.pk).update(publish_at=publish_at)
    if article.revision_of_id:
        return _publish_revision(article, user, loaded_at)
    _transition(article, user, "publish", loaded_at=loaded_at)
    transaction.on_commit(lambda: notifications.published(article=article, by=user))
    return article


def _publish_revision(revision: Article, user: AbstractUser, loaded_at) -> Article:
    draft = _locked(revision, user, "publish", loaded_at)
    live = Article.objects.select_for_update().get(pk=draft.revision_of_id)
    if draft.publish_at and draft.publish_at > timezone.now():
        raise WorkflowError(
            _(
                "A revision replaces the live article as soon as it is published: "
                "clear its publish time, or publish it when the time comes."
            ),
            code="scheduled_revision",
        )
    for field in REVERTIBLE_FIELDS:
        setattr(live, field, getattr(draft, field))
    live.body_html = render_markdown(live.body)
    live.status = Status.PUBLISHED
    reason = _("Published the revision by %(who)s") % {"who": draft.created_by or _("someone")}
    _record(live, user, reason)
    _sync_related_codes(live)
    _replace_sources(live, list(draft.sources.all()), user)
    _log(live, user, reason)
    author = draft.created_by
    draft._history_user = user
    draft._change_reason = reason
    draft.delete()
    refresh_article_text([live.code_id])
    transaction.on_commit(lambda: notifications.published(article=live, by=user, author=author))
    return live


@transaction.atomic
def article_revise(*, article: Article, user: AbstractUser) -> Article:
    """Start a working draft of a published article; the published one stays live until it replaces it."""
    live = _locked(article, user, "revise", None)
    draft = Article(revision_of=live, code_id=live.code_id, status=Status.DRAFT, created_by=user)
    for field in REVERTIBLE_FIELDS:
        setattr(draft, field, getattr(live, field))
    draft.body_html = live.body_html
    reason = _("Revision of the live article started")
    _record(draft, user, reason)
    _sync_related_codes(draft)
    _replace_sources(draft, list(live.sources.all()), user)
    _log(live, user, reason)
    return draft


@transaction.atomic
def article_unpublish(*, article: Article, user: AbstractUser, loaded_at: datetime | None = None) -> Article:
    """Take a published article off the site and back to draft, so editors can work on it."""
    return _transition(article, user, "unpublish", loaded_at=loaded_at)


@transaction.atomic
def article_archive(*, article: Article, user: AbstractUser, loaded_at: datetime | None = None) -> Article:
    """Retire an article: hidden from the public, kept with its history."""
    return _transition(article, user, "archive", loaded_at=loaded_at)


def _replace_sources(article: Article, sources, user: AbstractUser) -> None:
    # A handful of rows, saved one by one so that each change is in the sources' history too.
    for source in article.sources.all():
        source._history_user = user
        source.delete()
    for source in sources:
        restored = ArticleSource(
            article=article, **{field: getattr(source, field) for field in SOURCE_FIELDS}
        )
        source_save(source=restored, user=user)


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
def article_revert(
    *, article: Article, user: AbstractUser, history_id: int, loaded_at: datetime | None = None
) -> Article:
    """Bring back the content and sources of an earlier revision, as a new revision."""
    record = article.history.get(history_id=history_id)
    sources = sources_at_revision(article=article, history_id=history_id)
    for field in REVERTIBLE_FIELDS:
        setattr(article, field, getattr(record, field))
    article_save(
        article=article,
        user=user,
        loaded_at=loaded_at,
        reason=_("Reverted to the revision of %(date)s")
        % {"date": f"{timezone.localtime(record.history_date):%Y-%m-%d %H:%M:%S}"},
    )
    _sync_related_codes(article)
    _replace_sources(article, sources, user)
    return article


@transaction.atomic
def synonym_save(*, synonym, user: AbstractUser, loaded_at: datetime | None = None):
    """Save a search synonym, refusing a save over a change made since the editor opened it."""
    _require(user, "add_synonym" if synonym._state.adding else "change_synonym")
    ensure_fresh(instance=synonym, loaded_at=loaded_at)
    synonym._history_user = user
    synonym.save()
    return synonym


# --- Error reports from visitors ----------------------------------------------

# More reports than this in an hour and the contact form asks people to come back later: a flood is not stored.
REPORTS_PER_HOUR = 60


class TooManyReports(Exception):
    pass


def error_report_create(*, page: str, message: str, email: str = "") -> ErrorReport:
    """Store a visitor's error report for the editors, unless too many came in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    if ErrorReport.objects.filter(created_at__gte=since).count() >= REPORTS_PER_HOUR:
        raise TooManyReports
    return ErrorReport.objects.create(page=page, message=message, email=email)
