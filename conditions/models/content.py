"""Editor content: plain-language articles about a code, and search synonyms.

Articles attach to a code by its official string (the Code primary key) with
no database constraint, so a re-import that retires a code never deletes or
detaches an article.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from conditions.images import illustration_path


class ArticleQuerySet(models.QuerySet):
    def published(self, now=None):
        """Articles the public may see: published, and their publish time has come."""
        now = now or timezone.now()
        return self.filter(status=Article.Status.PUBLISHED, revision_of=None).filter(
            Q(publish_at__isnull=True) | Q(publish_at__lte=now)
        )

    def scheduled(self, now=None):
        """Published articles whose publish time is still ahead: hidden until then."""
        return self.filter(status=Article.Status.PUBLISHED, publish_at__gt=now or timezone.now())

    def review_overdue(self, today=None):
        """Live articles whose medical review is over a year old, or never happened."""
        year_ago = (today or timezone.localdate()) - timedelta(days=365)
        return self.published().filter(Q(last_reviewed__lt=year_ago) | Q(last_reviewed__isnull=True))

    def changes_requested(self):
        """Drafts a publisher sent back with a note."""
        return self.filter(status=Article.Status.DRAFT).exclude(review_note="")


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    code = models.ForeignKey(
        "conditions.Code",
        models.DO_NOTHING,
        db_constraint=False,
        related_name="articles",
        help_text=_("The official code this article explains."),
    )
    # A working draft of a published article: edited and reviewed while the live one stays
    # public; publishing it copies it onto the live article (services.article_publish).
    revision_of = models.OneToOneField(
        "self",
        models.CASCADE,
        null=True,
        blank=True,
        editable=False,
        related_name="working_draft",
        verbose_name=_("revision of"),
    )
    related_codes = models.ManyToManyField(
        "conditions.Code", blank=True, db_constraint=False, related_name="related_articles"
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(
        _("summary"),
        max_length=320,
        help_text=_("One or two sentences; used for the meta description and search snippets."),
    )
    body = models.TextField(_("body"), help_text=_("Markdown."))
    body_html = models.TextField(_("rendered body"), blank=True, editable=False)
    illustration = models.ImageField(
        _("illustration"),
        upload_to=illustration_path,
        blank=True,
        help_text=_("PNG, JPEG, GIF or WebP up to 5 MB; it is re-encoded without its metadata."),
    )
    illustration_small = models.ImageField(
        _("illustration for phones"), upload_to=illustration_path, blank=True, editable=False
    )
    # Set by the services from the re-encoded image (not ImageField's width_field, which
    # would open the file whenever an article is loaded and fail when it is missing).
    illustration_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    illustration_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    illustration_alt = models.CharField(_("alt text"), max_length=250, blank=True)
    illustration_caption = models.CharField(_("caption"), max_length=250, blank=True)
    illustration_credit = models.CharField(_("credit"), max_length=250, blank=True)
    author = models.CharField(_("author"), max_length=120)
    medical_reviewer = models.CharField(_("medical reviewer"), max_length=120, blank=True)
    last_reviewed = models.DateField(_("last reviewed"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.DRAFT)
    publish_at = models.DateTimeField(
        _("publish time"), null=True, blank=True, help_text=_("Leave empty to publish at once.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    # Codes of related_codes as the article's history keeps them (a many-to-many is not in a revision).
    related_code_list = models.JSONField(_("related codes"), default=list, blank=True, editable=False)
    review_note = models.TextField(_("note from the publisher"), blank=True, editable=False)

    objects = ArticleQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [
            # One live article per code; its working draft shares the code.
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(revision_of=None),
                name="one_article_per_code",
                violation_error_message=_("This code has an article already."),
            ),
        ]
        permissions = [
            ("submit_article", _("Can submit an article for review")),
            ("publish_article", _("Can publish, unpublish and archive articles")),
        ]

    def __str__(self):
        return f"{self.code_id}: {self.title}"

    def get_absolute_url(self):
        return reverse("conditions:code", args=[self.code_id])

    @property
    def is_scheduled(self):
        return self.status == self.Status.PUBLISHED and bool(
            self.publish_at and self.publish_at > timezone.now()
        )

    @property
    def is_sample(self):
        """Sample content written to show how articles look (its author line says so), not an editor's article."""
        return "sample content" in self.author.lower()

    @property
    def is_reviewed(self):
        """Whether the page may say "medically reviewed by": a named reviewer, and never on sample content."""
        return bool(self.medical_reviewer) and not self.is_sample


# Links to sources are web pages only: never javascript:, data: or other schemes.
validate_web_url = URLValidator(
    schemes=["http", "https"], message=_("Enter an http:// or https:// address."), code="web_url"
)


class ArticleSource(models.Model):
    article = models.ForeignKey(Article, models.CASCADE, related_name="sources")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=250)
    url = models.URLField(_("URL"), max_length=500)

    # Kept so that reverting an article also restores its sources.
    history = HistoricalRecords()

    class Meta:
        ordering = ["article", "position", "id"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self):
        return self.title


class Synonym(models.Model):
    """A lay term and what it means in the code set: other words, or a code."""

    term = models.CharField(_("lay term"), max_length=120, unique=True)
    meaning = models.CharField(
        _("means"),
        max_length=250,
        blank=True,
        help_text=_("Words the official titles use, e.g. 'myocardial infarction'."),
    )
    code = models.ForeignKey(
        "conditions.Code",
        models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="synonyms",
        help_text=_("Or the code the term stands for."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["term"]
        verbose_name = _("search synonym")
        verbose_name_plural = _("search synonyms")
        constraints = [
            models.CheckConstraint(
                condition=~Q(meaning="") | Q(code__isnull=False), name="synonym_has_meaning_or_code"
            )
        ]

    def __str__(self):
        return f"{self.term} → {self.meaning or self.code_id}"
