"""What the search pages show besides the ranked codes: highlighted snippets, autocomplete, matching chapters and blocks."""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import F
from django.utils.html import escape
from django.utils.safestring import mark_safe

from conditions.models import SEARCH_CONFIG, Block, Chapter, Code

from .query import MARK_START, MARK_STOP, ParsedQuery, any_word, parse_query, search_codes

AUTOCOMPLETE_LIMIT = 8

# ts_headline marks matches with two rare characters (removed from the text
# first); the result is escaped and only then are they turned into <mark>.
HEADLINE_SQL = f"""
SELECT c.code,
       ts_headline(%(config)s::regconfig, translate(c.title, '{MARK_START}{MARK_STOP}', ''), q,
                   'HighlightAll=true, StartSel={MARK_START}, StopSel={MARK_STOP}'),
       CASE WHEN c.search_vector @@ to_tsquery(%(config)s::regconfig, %(elsewhere)s) THEN
           ts_headline(%(config)s::regconfig, c.rest, q,
                       'MaxFragments=2, MinWords=5, MaxWords=16, StartSel={MARK_START}, StopSel={MARK_STOP}, '
                       'FragmentDelimiter=" … "')
       END
FROM (
    SELECT code, title, search_vector,
           translate(concat_ws(' · ', nullif(inclusion_text, ''), nullif(article_text, ''), nullif(notes_text, '')),
                     '{MARK_START}{MARK_STOP}', '') AS rest
    FROM conditions_code WHERE code = ANY(%(codes)s)
) c, to_tsquery(%(config)s::regconfig, %(tsquery)s) q
"""


def marked_html(text: str) -> str:
    return mark_safe(escape(text).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))


def highlight(codes, parsed: ParsedQuery) -> None:
    """Give each code ``title_html`` and ``snippet_html`` (escaped, matched words in <mark>; snippet may be '')."""
    headlines = {}
    if parsed.tsquery and codes:
        with connection.cursor() as cursor:
            cursor.execute(
                HEADLINE_SQL,
                {
                    "config": SEARCH_CONFIG,
                    "codes": [c.code for c in codes],
                    "tsquery": parsed.tsquery,
                    # Parsing the notes for a snippet is the costly part: only where a word matched in them.
                    "elsewhere": any_word(parsed.tsquery, "BCD"),
                },
            )
            headlines = {code: (title, rest) for code, title, rest in cursor.fetchall()}
    for code in codes:
        title, rest = headlines.get(code.code, (code.title, ""))
        code.title_html = marked_html(title)
        # The notes' snippet is worth showing only where the match is in them.
        code.snippet_html = marked_html(rest) if rest and MARK_START in rest else ""


def matching_sections(parsed: ParsedQuery, limit: int = 5) -> list:
    """Chapters and blocks whose titles match the words, best first."""
    if not parsed.tsquery:
        return []
    query = SearchQuery(parsed.tsquery, search_type="raw", config=SEARCH_CONFIG)
    found = []
    for model in (Chapter, Block):
        found += (
            model.objects.filter(search_vector=query)
            .annotate(score=SearchRank(F("search_vector"), query))
            .order_by("-score", "sort_order")[:limit]
        )
    return sorted(found, key=lambda section: -section.score)[:limit]


def autocomplete(text, limit: int = AUTOCOMPLETE_LIMIT) -> list[Code]:
    """Suggestions while typing: codes from their first character, or words with the last one partial.

    Text suggestions come from categories and subcategories first (a small
    partial index keeps this fast); deeper codes fill the list when those
    are too few.
    """
    parsed = parse_query(text, autocomplete=True)
    if parsed.is_empty:
        return []
    codes = Code.objects.only("code", "title", "billable", "chapter_id", "depth", "sort_order")
    if parsed.code_prefix:
        return list(codes.filter(code__startswith=parsed.code_prefix).order_by("depth", "sort_order")[:limit])
    found = list(search_codes(codes.filter(depth__lte=2), parsed)[:limit])
    if len(found) < limit:
        found += search_codes(codes.filter(depth__gt=2), parsed)[: limit - len(found)]
    return found
