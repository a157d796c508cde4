"""The corpus's word list, for completing and correcting search words.

Named for what it holds, not "search": the search package is ``conditions.search``.
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchWord(models.Model):
    """A distinct word of the official texts, refreshed by every import.

    Trigram similarity over ~20,000 words is fast where similarity over
    whole titles is not: a misspelt query word is replaced by its nearest
    word here before the text search runs (pg_trgm's documented pattern).
    """

    word = models.CharField(_("word"), max_length=64, primary_key=True)
    stem = models.CharField(
        _("stem"), max_length=64, db_index=True, help_text=_("The english stem the index holds.")
    )
    documents = models.PositiveIntegerField(_("documents"), help_text=_("Rows the word occurs in."))

    class Meta:
        ordering = ["word"]
        verbose_name = _("search word")
        verbose_name_plural = _("search words")
        indexes = [
            GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="searchword_trgm"),
            models.Index(fields=["word"], opclasses=["varchar_pattern_ops"], name="searchword_prefix"),
        ]

    def __str__(self):
        return self.word


class SearchPosting(models.Model):
    """One word of one code's search vector, with what ranking reads of the code: the search index turned
    round (word -> codes), kept by triggers on ``Code`` (migration 0024), never written by Python.

    A query of one common word ("fracture": 20,000 codes) is ranked from this word's rows, read in order from
    one index, instead of testing the word's weights in each of 20,000 code rows and reading their last
    columns: the ranking's expressions are the same (``conditions.search.rank``), the columns named alike.
    """

    pk = models.CompositePrimaryKey("lexeme", "code")
    lexeme = models.TextField(_("lexeme"), help_text=_("A word as the search index holds it (its stem)."))
    code = models.CharField(_("code"), max_length=8)
    weight = models.CharField(
        _("weight"),
        max_length=1,
        help_text=_(
            "Where the word is found in the code: A code and title, B inclusion terms, C article, D notes."
        ),
    )
    # As on Code.
    title = models.TextField(_("title"))
    ancestors = ArrayField(models.CharField(max_length=8), default=list)
    sort_order = models.IntegerField(_("official order"))
    search_variant = models.SmallIntegerField()
    search_prior = models.FloatField()
    code_key = models.BigIntegerField()
    family_key = models.BigIntegerField()

    class Meta:
        verbose_name = _("search posting")
        verbose_name_plural = _("search postings")
        # The primary key's index finds a word's rows; the second a word's rows of some families (the collapsed
        # results rank the shown families' again); the third a code's (for the triggers).
        indexes = [
            models.Index(fields=["lexeme", "family_key"], name="searchposting_family"),
            models.Index(fields=["code"], name="searchposting_code"),
        ]

    def __str__(self):
        return f"{self.lexeme}: {self.code}"
