"""The official ICD-10-CM tabular list: chapters, blocks, codes and their notes.

Rows are keyed by their official strings (chapter number, block range, code
with its dot), so anything editors attach later survives a re-import.
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Cast, Length, Replace, Upper
from django.utils.translation import gettext_lazy as _

from conditions.addresses import code_url, page_url
from conditions.search import AUTOCOMPLETE_LIMIT, SEARCH_CONFIG, Query, ranked, suggestions, understand
from conditions.search.rank import FAMILY_CHARACTERS, packed_code
from conditions.search.variants import variant_number, variant_penalty


def title_vector():
    """Stored tsvector of a chapter's or block's title (a generated column reads only its own row)."""
    return models.GeneratedField(
        expression=SearchVector("title", config=SEARCH_CONFIG, weight="A"),
        output_field=SearchVectorField(),
        db_persist=True,
    )


class Heading(models.Model):
    """What chapters and blocks share: a title over a range of codes, in official order."""

    title = models.TextField(_("title"))
    code_range = models.CharField(_("code range"), max_length=16)
    sort_order = models.PositiveIntegerField(_("official order"), db_index=True)
    search_vector = title_vector()
    # How many codes, and billable codes, the heading holds: kept by the import (conditions.derived).
    code_count = models.PositiveIntegerField(_("codes"), db_default=0, editable=False)
    billable_count = models.PositiveIntegerField(_("billable codes"), db_default=0, editable=False)

    class Meta:
        abstract = True
        ordering = ["sort_order"]


class Chapter(Heading):
    number = models.CharField(_("number"), max_length=2, primary_key=True)

    class Meta(Heading.Meta):
        verbose_name = _("chapter")
        verbose_name_plural = _("chapters")

    def __str__(self):
        return f"Chapter {self.number}: {self.title}"

    def get_absolute_url(self):
        return page_url("conditions:chapter", self.number)


class Block(Heading):
    block_id = models.CharField(_("block"), max_length=16, primary_key=True)
    chapter = models.ForeignKey(Chapter, models.CASCADE, related_name="blocks")

    class Meta(Heading.Meta):
        verbose_name = _("block")
        verbose_name_plural = _("blocks")

    def __str__(self):
        return f"{self.block_id} {self.title}"

    def get_absolute_url(self):
        return page_url("conditions:block", self.block_id)


# What only search reads (long texts and vectors): the pages do not fetch them.
SEARCH_ONLY_FIELDS = (
    "search_vector",
    "search_prior",
    "search_variant",
    "code_key",
    "family_key",
    "article_text",
    "inclusion_text",
    "notes_text",
)


class CodeQuerySet(models.QuerySet):
    def ancestors_of(self, code):
        return self.filter(code__in=code.ancestors).order_by("depth")

    def descendants_of(self, code):
        return self.filter(ancestors__contains=[code.code]).order_by("sort_order")

    def search(self, query: str | Query):
        """Codes matching a search box query (text, or ``conditions.search.understand(text)``), best first.

        The one entry point of search: the results page, the API, the
        FilterSet and the admin's code picker all rank through it.
        """
        return ranked(self, query if isinstance(query, Query) else understand(query))

    def suggest(self, query: str | Query, limit: int = AUTOCOMPLETE_LIMIT) -> list:
        """Autocomplete suggestions for text being typed, ranked as search ranks."""
        return suggestions(
            self, query if isinstance(query, Query) else understand(query, autocomplete=True), limit
        )


class Code(models.Model):
    code = models.CharField(_("code"), max_length=8, primary_key=True)
    title = models.TextField(_("title"))
    chapter = models.ForeignKey(Chapter, models.CASCADE, related_name="codes")
    block = models.ForeignKey(Block, models.CASCADE, related_name="codes")
    parent = models.ForeignKey("self", models.CASCADE, null=True, blank=True, related_name="children")
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
        help_text=_(
            "Title, summary and body of the published article, kept by the publishing service for search."
        ),
    )
    has_article = models.BooleanField(_("has a published article"), db_default=False)
    seventh_characters = models.JSONField(
        _("7th characters"),
        default=list,
        blank=True,
        help_text=_("[character, meaning] pairs defined at this level."),
    )
    inclusion_text = models.TextField(
        _("inclusion terms"),
        blank=True,
        db_default="",
        editable=False,
        help_text=_(
            "Inclusion terms of this code and the levels above it, and its includes notes; kept by the import."
        ),
    )
    notes_text = models.TextField(
        _("other notes"),
        blank=True,
        db_default="",
        editable=False,
        help_text=_("The code's other official notes; kept by the import."),
    )
    # Weights: code and title A, inclusion terms B, article C, other notes D.
    # The code is indexed without its dot: the parser keeps "M61.2" as one
    # token, and the query side writes codes the same way ("m612").
    search_vector = models.GeneratedField(
        expression=(
            SearchVector(Replace("code", Value("."), Value("")), "title", config=SEARCH_CONFIG, weight="A")
            + SearchVector("inclusion_text", config=SEARCH_CONFIG, weight="B")
            + SearchVector("article_text", config=SEARCH_CONFIG, weight="C")
            + SearchVector("notes_text", config=SEARCH_CONFIG, weight="D")
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # Neonatal, pregnancy, poisoning, history, screening, "elsewhere" and later-encounter codes rank below the
    # main condition unless a query names them (conditions.search.variants); the penalty is in search_prior.
    search_variant = models.GeneratedField(
        expression=variant_number(), output_field=models.SmallIntegerField(), db_persist=True
    )
    # Search ranks equal matches by generality (short title, high level), lifting billable codes and
    # codes with a published article; stored so ranking tens of thousands of matches costs no arithmetic.
    search_prior = models.GeneratedField(
        expression=(
            Value(40.0)
            / (Value(40.0) + Cast(Length("title"), models.FloatField()))
            * Value(6.0)
            / (Value(5.0) + Cast("depth", models.FloatField()))
            * Case(When(billable=True, then=Value(1.1)), default=Value(1.0))
            * Case(When(has_article=True, then=Value(1.5)), default=Value(1.0))
            * variant_penalty()
        ),
        output_field=models.FloatField(),
        db_persist=True,
    )
    # The collapsed results group tens of thousands of matches by family and find each family's first and last
    # code: stored as numbers, that is grouping and comparing bigints instead of cutting and hashing text.
    code_key = models.GeneratedField(
        expression=packed_code(), output_field=models.BigIntegerField(), db_persist=True
    )
    family_key = models.GeneratedField(
        expression=packed_code(FAMILY_CHARACTERS, depth_at_most=2),
        output_field=models.BigIntegerField(),
        db_persist=True,
    )

    objects = CodeQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order"]
        verbose_name = _("code")
        verbose_name_plural = _("codes")
        indexes = [
            GinIndex(fields=["ancestors"], name="code_ancestors_gin"),
            GinIndex(fields=["search_vector"], name="code_search_gin"),
            # Autocomplete ranks only categories and subcategories: a small index keeps it fast.
            GinIndex(fields=["search_vector"], name="code_search_top_gin", condition=Q(depth__lte=2)),
            # Code prefixes ("S72.0" and everything under it) with LIKE, whatever the collation.
            models.Index(fields=["code"], opclasses=["varchar_pattern_ops"], name="code_prefix"),
            # Autocomplete lists the codes under a prefix level by level ("S" -> S00, S01, ...).
            models.Index(
                fields=["depth", "code"],
                opclasses=["int2_ops", "varchar_pattern_ops"],
                name="code_level_prefix",
            ),
            # The admin's code search (`^code`, `title`) runs UPPER(..) LIKE 'X%' and
            # LIKE '%X%': these two indexes answer it over the whole code set.
            models.Index(OpClass(Upper("code"), name="text_pattern_ops"), name="code_upper_code_prefix"),
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="code_upper_title_trgm"),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    def get_absolute_url(self):
        return code_url(self.code)

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
    references = models.JSONField(
        _("references"),
        db_default=Value({}, output_field=models.JSONField()),
        blank=True,
        editable=False,
        help_text=_(
            "The codes, blocks and chapters the text names that exist, with their targets; kept by the import."
        ),
    )

    class Meta:
        ordering = ["owner_type", "owner", "kind", "position"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_type", "owner", "kind", "position"], name="note_unique_position"
            )
        ]
        indexes = [
            # Search's last fallback: inclusion terms that look like the query (`<%` word similarity). The
            # terms one by one, not the codes' inherited text: rechecking long texts cost seconds.
            GinIndex(
                OpClass(Upper("text"), name="gin_trgm_ops"),
                name="note_upper_inclusion_trgm",
                condition=Q(owner_type="code", kind__in=["inclusion_term", "includes"]),
            ),
            # Search ranks a code whose inclusion term is exactly the query ("Hay fever" of J30.1) higher: the
            # terms equal to the query, or to it and nonessential modifiers ("Hypertension (arterial)").
            models.Index(
                OpClass(Upper("text"), name="text_pattern_ops"),
                name="note_upper_inclusion_prefix",
                condition=Q(owner_type="code", kind__in=["inclusion_term", "includes"]),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.owner}: {self.text[:60]}"
