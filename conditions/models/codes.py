"""The official ICD-10-CM tabular list: chapters, blocks, codes and their notes.

Rows are keyed by their official strings (chapter number, block range, code
with its dot), so anything editors attach later survives a re-import.
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Chapter(models.Model):
    number = models.CharField(_("number"), max_length=2, primary_key=True)
    title = models.TextField(_("title"))
    code_range = models.CharField(_("code range"), max_length=16)
    sort_order = models.PositiveIntegerField(_("official order"), db_index=True)

    class Meta:
        ordering = ["sort_order"]
        verbose_name = _("chapter")
        verbose_name_plural = _("chapters")

    def __str__(self):
        return f"Chapter {self.number}: {self.title}"

    def get_absolute_url(self):
        return reverse("conditions:chapter", args=[self.number])


class Block(models.Model):
    block_id = models.CharField(_("block"), max_length=16, primary_key=True)
    chapter = models.ForeignKey(Chapter, models.CASCADE, related_name="blocks")
    title = models.TextField(_("title"))
    code_range = models.CharField(_("code range"), max_length=16)
    sort_order = models.PositiveIntegerField(_("official order"), db_index=True)

    class Meta:
        ordering = ["sort_order"]
        verbose_name = _("block")
        verbose_name_plural = _("blocks")

    def __str__(self):
        return f"{self.block_id} {self.title}"

    def get_absolute_url(self):
        return reverse("conditions:block", args=[self.block_id])


class CodeQuerySet(models.QuerySet):
    def get_by_code(self, code):
        return self.select_related("chapter", "block").get(code=code)

    def ancestors_of(self, code):
        return self.filter(code__in=code.ancestors).order_by("depth")

    def descendants_of(self, code):
        return self.filter(ancestors__contains=[code.code]).order_by("sort_order")


class Code(models.Model):
    code = models.CharField(_("code"), max_length=8, primary_key=True)
    title = models.TextField(_("title"))
    chapter = models.ForeignKey(Chapter, models.CASCADE, related_name="codes")
    block = models.ForeignKey(Block, models.CASCADE, related_name="codes")
    parent = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="children"
    )
    ancestors = ArrayField(
        models.CharField(max_length=8),
        default=list,
        help_text=_("Codes above this one, category first."),
    )
    depth = models.PositiveSmallIntegerField(_("depth"), help_text=_("1 for a category."))
    sort_order = models.PositiveIntegerField(_("official order"), db_index=True)
    billable = models.BooleanField(_("billable"))
    placeholder = models.BooleanField(
        _("placeholder"), default=False, help_text=_("A level that exists to hold the X placeholder.")
    )
    article_text = models.TextField(
        _("published article text"),
        blank=True,
        db_default="",
        help_text=_("Title, summary and body of the published article, kept by the publishing service for search."),
    )
    has_article = models.BooleanField(_("has a published article"), db_default=False)
    seventh_characters = models.JSONField(
        _("7th characters"),
        default=list,
        blank=True,
        help_text=_("[character, meaning] pairs defined at this level."),
    )

    objects = CodeQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order"]
        verbose_name = _("code")
        verbose_name_plural = _("codes")
        indexes = [
            GinIndex(fields=["ancestors"], name="code_ancestors_gin"),
            # The admin's code search (`^code`, `title`) runs UPPER(..) LIKE 'X%' and
            # LIKE '%X%': these two indexes answer it over the whole code set.
            models.Index(OpClass(Upper("code"), name="text_pattern_ops"), name="code_upper_code_prefix"),
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="code_upper_title_trgm"),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    def get_absolute_url(self):
        return reverse("conditions:code", args=[self.code])

    @property
    def is_category(self):
        return self.depth == 1


class Note(models.Model):
    class Kind(models.TextChoices):
        INCLUDES = "includes", _("Includes")
        INCLUSION_TERM = "inclusion_term", _("Inclusion terms")
        EXCLUDES1 = "excludes1", _("Excludes1")
        EXCLUDES2 = "excludes2", _("Excludes2")
        CODE_FIRST = "code_first", _("Code first")
        USE_ADDITIONAL_CODE = "use_additional_code", _("Use additional code")
        CODE_ALSO = "code_also", _("Code also")
        SEVENTH_CHARACTER_NOTE = "seventh_character_note", _("7th character note")
        NOTE = "note", _("Notes")

    class Owner(models.TextChoices):
        CHAPTER = "chapter", _("chapter")
        BLOCK = "block", _("block")
        CODE = "code", _("code")

    owner_type = models.CharField(_("owner type"), max_length=8, choices=Owner)
    owner = models.CharField(_("owner"), max_length=16, help_text=_("Chapter number, block or code."))
    kind = models.CharField(_("kind"), max_length=24, choices=Kind)
    position = models.PositiveSmallIntegerField(_("position"))
    text = models.TextField(_("text"))

    class Meta:
        ordering = ["owner_type", "owner", "kind", "position"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_type", "owner", "kind", "position"], name="note_unique_position"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.owner}: {self.text[:60]}"
