"""Search over the code set, in one read-only path: parse (pure) -> resolve (reads) -> compile -> rank.

The way in is ``Code.objects.search(text_or_query)`` (the results page, the
API, the FilterSet and the admin's code picker all use it) and
``Code.objects.suggest(text)`` for autocomplete; ``understand(text)`` parses
and resolves once when a page needs the query's meaning too (did you mean,
highlights). Nothing here imports the models (they import this package) and
nothing here writes: the searchable text on code rows is kept by
``conditions.indexing``.
"""

from .compile import SEARCH_CONFIG
from .parse import MAX_QUERY_LENGTH, Kind, Parsed, clean, parse
from .rank import FAMILY_LIST, FAMILY_ROWS, Match, collapsed_page, ranked, ranking
from .resolve import Fallback, Query, icd9_targets, resolve, understand
from .results import (
    AUTOCOMPLETE_LIMIT,
    highlight,
    matching_sections,
    suggestions,
)

__all__ = [
    "AUTOCOMPLETE_LIMIT",
    "FAMILY_LIST",
    "FAMILY_ROWS",
    "MAX_QUERY_LENGTH",
    "SEARCH_CONFIG",
    "Fallback",
    "Kind",
    "Match",
    "Parsed",
    "Query",
    "clean",
    "collapsed_page",
    "highlight",
    "icd9_targets",
    "matching_sections",
    "parse",
    "ranked",
    "ranking",
    "resolve",
    "suggestions",
    "understand",
]
