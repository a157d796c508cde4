"""The admin home's review queue: what is waiting for whom, per role.

Publishers see every article waiting for review; editors see their own. Each
queue is also a filter of the article list (ArticleAdmin's QueueFilter), so the
count on the home page and the list behind its link never disagree.
"""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Article

QUEUES = {
    "waiting": _("Waiting for review"),
    "changes": _("Changes requested"),
    "mine": _("My drafts"),
    "scheduled": _("Scheduled"),
    "overdue": _("Review overdue"),
}
SHOWN = 5


def queue(name: str, user):
    """The articles in queue `name` as `user` sees it (publishers: everyone's; editors: their own)."""
    articles = Article.objects.all()
    everyone = user.has_perm("conditions.publish_article")
    own = Q() if everyone else Q(created_by=user)
    if name == "waiting":
        return articles.filter(own, status=Article.Status.IN_REVIEW).order_by("updated_at")
    if name == "changes":
        return articles.changes_requested().filter(own).order_by("-updated_at")
    if name == "mine":
        return articles.filter(created_by=user, status=Article.Status.DRAFT, review_note="").order_by(
            "-updated_at"
        )
    if name == "scheduled":
        return articles.scheduled().order_by("publish_at")
    if name == "overdue":
        return articles.review_overdue().order_by("last_reviewed", "code_id")
    raise KeyError(name)


def review_queue(user) -> list[dict]:
    """Each queue with its count and its first few articles, for the admin home."""
    if not user.has_perm("conditions.view_article"):
        return []
    result = []
    for name, label in QUEUES.items():
        articles = queue(name, user)
        result.append(
            {"name": name, "label": label, "count": articles.count(), "articles": list(articles[:SHOWN])}
        )
    return result
