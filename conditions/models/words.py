"""The corpus's word list, for completing and correcting search words.

Named for what it holds, not "search": the search package is ``conditions.search``.
"""

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
