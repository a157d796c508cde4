"""Emails about the editorial workflow, through Django's mail API.

The services call these once their transaction has committed: publishers
hear of a submission, the author hears that their article was published or
sent back with a note. Development prints mail to the console; production
sends it through the SMTP server given in the environment (see settings).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _


def _link(article) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("admin:conditions_article_change", args=[article.pk])


def publishers():
    """Active people who may publish and have an email address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    may_publish = (
        Q(is_superuser=True)
        | Q(groups__permissions__codename="publish_article")
        | Q(user_permissions__codename="publish_article")
    )
    return users.filter(may_publish).distinct().order_by("pk")


def _send(subject: str, lines: list[str], recipients: list[str]) -> None:
    if recipients:
        send_mail(subject, "\n\n".join(lines), None, recipients)


def submitted(*, article, by) -> None:
    _send(
        _("Waiting for review: %(title)s") % {"title": article.title},
        [
            _("%(who)s submitted “%(title)s” (%(code)s) for review.")
            % {"who": by, "title": article.title, "code": article.code_id},
            _link(article),
        ],
        [user.email for user in publishers() if user.pk != by.pk],
    )


def sent_back(*, article, by) -> None:
    author = article.created_by
    _send(
        _("Changes requested: %(title)s") % {"title": article.title},
        [
            _("%(who)s sent “%(title)s” (%(code)s) back to draft with this note:")
            % {"who": by, "title": article.title, "code": article.code_id},
            article.review_note,
            _link(article),
        ],
        [author.email] if author and author.email and author.pk != by.pk else [],
    )


def published(*, article, by, author=None) -> None:
    author = author or article.created_by
    if article.is_scheduled:
        news = _("%(who)s scheduled “%(title)s” (%(code)s) to go live at %(time)s UTC.") % {
            "who": by,
            "title": article.title,
            "code": article.code_id,
            "time": f"{article.publish_at:%Y-%m-%d %H:%M}",
        }
    else:
        news = _("%(who)s published “%(title)s” (%(code)s).") % {
            "who": by,
            "title": article.title,
            "code": article.code_id,
        }
    _send(
        _("Published: %(title)s") % {"title": article.title},
        [news, settings.SITE_URL.rstrip("/") + article.get_absolute_url()],
        [author.email] if author and author.email and author.pk != by.pk else [],
    )
