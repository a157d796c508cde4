"""Admin pages beyond Django's own: preview, workflow steps, compare and revert revisions.

They are wired into ArticleAdmin.get_urls behind admin_site.admin_view (staff
only); each checks the model permission it needs and leaves the writing to
conditions.services.
"""

import difflib

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from . import services
from .markdown import BODY_MAX_BYTES, markdown_problems, render_markdown, rendered_text
from .models import Article, Code
from .preview import public_code_context
from .textdiff import word_diff

# The workflow buttons and their labels, in the order shown; who may press which when is services.WORKFLOW's.
STEPS = {
    "submit": _("Submit for review"),
    "withdraw": _("Withdraw from review"),
    "request_changes": _("Request changes"),
    "publish": _("Publish"),
    "revise": _("Start a revision"),
    "unpublish": _("Unpublish"),
    "archive": _("Archive"),
}
# What the compare page shows: the content a revert restores, where the article sits and its state. The
# image's phone copy and size follow the illustration, so its own row says all.
COMPARED_FIELDS = [
    "code",
    *(
        field
        for field in services.REVERTIBLE_FIELDS
        if field not in ("illustration_small", "illustration_width", "illustration_height")
    ),
    "status",
    "publish_at",
]
# Text compared word by word (the body as the public reads it, not its Markdown).
WORD_DIFF_FIELDS = {"title", "summary", "body", "illustration_alt", "illustration_caption"}


def steps_for(user, article):
    """The workflow buttons this user may press on this article now."""
    return [
        {"name": name, "label": label}
        for name, label in STEPS.items()
        if user.has_perm(f"conditions.{services.WORKFLOW[name].permission}")
        and services.step_applies(name, article)
    ]


def parse_loaded_at(value):
    """The updated_at an editor's page was built from (ISO 8601), or None when absent or malformed."""
    return parse_datetime(value) if value else None


def run_step(request, article, name, *, loaded_at=None, note=""):
    """Run workflow step `name` through its service and tell the user what happened.

    Returns the article to show next: a new working draft after "revise", the live article
    after publishing a working draft, else the article itself.
    """
    kwargs = {"article": article, "user": request.user}
    if name != "revise":
        kwargs["loaded_at"] = loaded_at
    if name == "request_changes":
        kwargs["note"] = note
    service = getattr(services, f"article_{name}")
    try:
        result = service(**kwargs)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return article
    messages.success(request, step_message(name, result))
    return result


def step_message(name, article):
    title = article.title
    if name == "publish" and article.is_scheduled:
        return _("“%(title)s” is scheduled for %(time)s: it stays hidden from the public until then.") % {
            "title": title,
            "time": services.local_time(article.publish_at),
        }
    if name == "revise":
        return _(
            "This is a new revision of “%(title)s”. The published article stays live, unchanged, "
            "until this revision is published."
        ) % {"title": title}
    if name == "submit":
        return _("“%(title)s” was submitted for review; the publishers have been notified.") % {
            "title": title
        }
    if name == "request_changes":
        return _("“%(title)s” went back to draft with your note; its author has been notified.") % {
            "title": title
        }
    return _("“%(title)s” is now %(status)s.") % {
        "title": title,
        "status": services.state_label(article).lower(),
    }


def _article(request, object_id, permission="view_article"):
    if not request.user.has_perm(f"conditions.{permission}"):
        raise PermissionDenied
    return get_object_or_404(Article, pk=object_id)


def _preview_response(request, article, sources=None):
    article.body_html = render_markdown(article.body)
    try:
        context = public_code_context(request, article, sources)
    except Code.DoesNotExist as missing:
        # The article outlived its code (a release retired it): there is no page to preview.
        raise Http404(
            _("The code %(code)s is not in the current release.") % {"code": article.code_id}
        ) from missing
    response = TemplateResponse(request, "conditions/code.html", context)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def article_preview(request, object_id):
    """The public code page as it will look with this version of the article, whatever its status."""
    return _preview_response(request, _article(request, object_id))


def article_revision_preview(request, object_id, history_id):
    """The public code page with a past revision of the article: its text, sources and related codes."""
    article = _article(request, object_id)
    record = get_object_or_404(article.history, history_id=history_id)
    sources = services.sources_at_revision(article=article, history_id=record.history_id)
    return _preview_response(request, record.instance, sources)


@require_POST
def body_preview(request):
    """The live preview while typing: the body rendered and sanitized as the public page does it."""
    if not (
        request.user.has_perm("conditions.add_article") or request.user.has_perm("conditions.change_article")
    ):
        raise PermissionDenied
    body = request.POST.get("body", "")
    problems = markdown_problems(body)
    html = "" if len(body.encode()) > BODY_MAX_BYTES else render_markdown(body)
    response = JsonResponse({"html": html, "problems": problems})
    response.headers["Cache-Control"] = "private, no-store"
    return response


@require_POST
def article_step(request, object_id, step):
    """A workflow button on a page without an editable form (the step's service checks the permission)."""
    article = _article(request, object_id)
    shown = run_step(
        request,
        article,
        step,
        loaded_at=parse_loaded_at(request.POST.get("loaded_at")),
        note=request.POST.get("review_note", ""),
    )
    return redirect("admin:conditions_article_change", shown.pk)


def article_revert(request, object_id, history_id):
    """GET: what a revert to this revision would change, and a button to confirm. POST: revert."""
    article = _article(request, object_id, "change_article")
    record = get_object_or_404(article.history, history_id=history_id)
    if not admin.site._registry[Article].has_change_permission(request, article):
        raise PermissionDenied
    if request.method == "POST":
        try:
            services.article_revert(
                article=article,
                user=request.user,
                history_id=record.history_id,
                loaded_at=parse_loaded_at(request.POST.get("loaded_at")),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The article was reverted; the revert is a new revision."))
        return redirect("admin:conditions_article_change", article.pk)
    current = article.history.order_by("-history_date", "-history_id").first()
    context = {
        **admin.site.each_context(request),
        "opts": Article._meta,
        "original": article,
        "title": _("Revert “%(title)s”?") % {"title": article.title},
        "record": record,
        "changes": revision_changes(article, current, record),
        "loaded_at": article.updated_at.isoformat(),
    }
    return TemplateResponse(request, "admin/conditions/article/revert.html", context)


def _choose(revisions, value, default):
    try:
        wanted = int(value)
    except (TypeError, ValueError):
        return default
    return next((r for r in revisions if r.history_id == wanted), default)


def _shown(record, field):
    """A revision's value of a field as an editor reads it: the code string, a status label."""
    if field == "code":
        return record.code_id
    if field == "status":
        return Article.Status(record.status).label
    if field == "related_code_list":
        return ", ".join(record.related_code_list or []) or "—"
    return getattr(record, field)


def revision_changes(article, old, new):
    """What differs between two revisions: words of the text fields (the body as rendered), other
    fields before and after, and the sources line by line."""
    changes = []
    for field in COMPARED_FIELDS:
        before, after = (_shown(record, field) for record in (old, new))
        if before == after:
            continue
        label = Article._meta.get_field(field).verbose_name
        if field in WORD_DIFF_FIELDS:
            if field == "body":
                before, after = rendered_text(before), rendered_text(after)
            changes.append({"field": label, "pieces": word_diff(str(before or ""), str(after or ""))})
        else:
            changes.append({"field": label, "before": before, "after": after})
    sources = {
        key: [
            f"{s.title} <{s.url}>"
            for s in services.sources_at_revision(article=article, history_id=record.history_id)
        ]
        for key, record in (("old", old), ("new", new))
    }
    if sources["old"] != sources["new"]:
        lines = difflib.ndiff(sources["old"], sources["new"])
        changes.append(
            {
                "field": _("sources"),
                "lines": [{"sign": line[:1], "text": line[2:]} for line in lines if not line.startswith("?")],
            }
        )
    return changes


def article_compare(request, object_id):
    """Two revisions side by side: which fields changed, a word diff of the text as rendered, the sources."""
    article = _article(request, object_id)
    if not request.user.has_perm("conditions.view_historicalarticle"):
        raise PermissionDenied
    revisions = list(article.history.select_related("history_user").order_by("-history_date", "-history_id"))
    if not revisions:
        raise Http404
    new = _choose(revisions, request.GET.get("new"), revisions[0])
    old = _choose(revisions, request.GET.get("old"), revisions[1] if len(revisions) > 1 else revisions[0])
    changes = revision_changes(article, old, new)
    model_admin = admin.site._registry[Article]
    context = {
        **admin.site.each_context(request),
        "opts": Article._meta,
        "original": article,
        "title": _("Compare revisions of “%(title)s”") % {"title": article.title},
        "revisions": revisions,
        "old": old,
        "new": new,
        "changes": changes,
        "can_revert": model_admin.has_change_permission(request, article),
        "revert_url": reverse("admin:conditions_article_revert", args=[article.pk, old.history_id]),
    }
    return TemplateResponse(request, "admin/conditions/article/compare.html", context)
