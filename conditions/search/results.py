"""What search pages show besides the ranked codes: highlighted snippets, suggestions while typing, chapters and blocks."""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchRank
from django.db import connection
from django.db.models import F, QuerySet
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .compile import SEARCH_CONFIG, any_of, tsquery
from .rank import ranking, raw
from .resolve import Query

AUTOCOMPLETE_LIMIT = 8
# Highlight markers: the text is marked with these, then escaped, then they become <mark>.
MARK_START, MARK_STOP = "\u27e6", "\u27e7"
FRAGMENTS = " … "

# ts_headline marks matches with two rare characters (removed from the text
# first); the result is escaped and only then are they turned into <mark>.
HEADLINE_SQL = f"""
SELECT c.code,
       ts_headline(%(config)s::regconfig, translate(c.title, '{MARK_START}{MARK_STOP}', ''), q,
                   'HighlightAll=true, StartSel={MARK_START}, StopSel={MARK_STOP}'),
       CASE WHEN c.search_vector @@ to_tsquery(%(config)s::regconfig, %(elsewhere)s) THEN
           ts_headline(%(config)s::regconfig, c.rest, q,
                       'MaxFragments=2, MinWords=5, MaxWords=16, StartSel={MARK_START}, StopSel={MARK_STOP}, '
                       'FragmentDelimiter="{FRAGMENTS}"')
       END
FROM (
    SELECT code, title, search_vector,
           translate(concat_ws(' · ', nullif(inclusion_text, ''), nullif(article_text, ''), nullif(notes_text, '')),
                     '{MARK_START}{MARK_STOP}', '') AS rest
    FROM conditions_code WHERE code = ANY(%(codes)s)
) c, to_tsquery(%(config)s::regconfig, %(tsquery)s) q
"""
OPEN_PARENTHESIS = re.compile(r"\([^)]*$")
CLOSE_PARENTHESIS = re.compile(r"^[^(]*\)")


def marked_html(text: str) -> str:
    return mark_safe(escape(text).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))


def tidy_snippet(text: str) -> str:
    """Distinct fragments, none starting or ending inside a parenthesis, none repeating a term."""
    fragments = []
    for fragment in text.split(FRAGMENTS):
        fragment = CLOSE_PARENTHESIS.sub("", OPEN_PARENTHESIS.sub("", fragment)).strip(" |·,;")
        terms = [t.strip() for t in re.split(r" [|·] ", fragment)]
        fragment = " · ".join(dict.fromkeys(t for t in terms if t))
        if fragment and MARK_START in fragment and fragment not in fragments:
            fragments.append(fragment)
    return FRAGMENTS.join(fragments)


def highlight(codes, query: Query) -> None:
    """Give each code ``title_html`` and ``snippet_html`` (escaped, matched words in <mark>; snippet may be '')."""
    headlines = {}
    if query.tree is not None and codes:
        with connection.cursor() as cursor:
            cursor.execute(
                HEADLINE_SQL,
                {
                    "config": SEARCH_CONFIG,
                    "codes": [c.code for c in codes],
                    "tsquery": tsquery(query.tree),
                    # Parsing the notes for a snippet is the costly part: only where a word matched in them.
                    "elsewhere": tsquery(any_of(query.tree), "BCD"),
                },
            )
            headlines = {code: (title, rest) for code, title, rest in cursor.fetchall()}
    for code in codes:
        title, rest = headlines.get(code.code, (code.title, ""))
        code.title_html = marked_html(title)
        # The notes' snippet is worth showing only where the match is in them.
        code.snippet_html = marked_html(tidy_snippet(rest)) if rest and MARK_START in rest else ""


def matching_sections(query: Query, *querysets: QuerySet, limit: int = 5) -> list:
    """Chapters and blocks (the given querysets) whose titles match the words, best first."""
    if query.tree is None:
        return []
    search = raw(query.tree)
    found = []
    for queryset in querysets:
        found += (
            queryset.filter(search_vector=search)
            .annotate(score=SearchRank(F("search_vector"), search))
            .order_by("-score", "sort_order")[:limit]
        )
    return sorted(found, key=lambda section: -section.score)[:limit]


# Autocomplete's passes, best first, in one statement: categories, subcategories and the codes the query names
# matching in the title, then deeper codes matching in the title, then each of those groups matching
# elsewhere. PostgreSQL runs the parts in order and stops when the list is full: most keystrokes are answered
# by the first part, over the small index of the upper levels. (A subquery with LIMIT is never run in parallel
# workers, so the parts of the UNION ALL come in order.)
SUGGEST_PART_SQL = """(
    SELECT {part} AS part, code, title, billable, chapter_id, depth, sort_order, {match} AS match, {bucket} AS bucket
    FROM {table} WHERE {where}
    ORDER BY match, bucket DESC, sort_order LIMIT %s
)"""


def suggestions(queryset: QuerySet, query: Query, limit: int = AUTOCOMPLETE_LIMIT) -> list:
    """Suggestions while typing: codes from their first character, or the ranked words search.

    Text suggestions come from categories and subcategories first (a small
    partial index keeps this fast), those matching in the title first;
    deeper codes fill the list when those are too few. The codes the query
    names (lay terms) come first whatever their level ("covi": COVID-19
    before a coagulopathy whose inclusion term mentions it).
    """
    if query.is_empty:
        return []
    codes = queryset.only("code", "title", "billable", "chapter_id", "depth", "sort_order")
    if query.code_prefix:
        return list(codes.filter(code__startswith=query.code_prefix).order_by("depth", "sort_order")[:limit])
    model = queryset.model
    table = model._meta.db_table
    title_only, anywhere = ranking(query, table, weights="A"), ranking(query, table)
    top = (f'("{table}"."depth" <= 2 OR "{table}"."code" = ANY(%s::text[]))', [list(query.pinned)])
    parts = [
        ((top[0], title_only.where[0]), [*top[1], *title_only.where[1]]),
        ((f"NOT {top[0]}", title_only.where[0]), [*top[1], *title_only.where[1]]),
        (
            (top[0], anywhere.where[0], f"NOT {title_only.where[0]}"),
            [*top[1], *anywhere.where[1], *title_only.where[1]],
        ),
        (
            (f"NOT {top[0]}", anywhere.where[0], f"NOT {title_only.where[0]}"),
            [*top[1], *anywhere.where[1], *title_only.where[1]],
        ),
    ]
    sql, params = [], []
    for number, (conditions, where_params) in enumerate(parts, start=1):
        sql.append(
            SUGGEST_PART_SQL.format(
                part=number,
                table=table,
                match=title_only.match[0],
                bucket=title_only.bucket[0],
                where=" AND ".join(conditions),
            )
        )
        params += [*title_only.match[1], *title_only.bucket[1], *where_params, limit]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({' UNION ALL '.join(sql)}) s LIMIT %s", [*params, limit])
        found = cursor.fetchall()
    return [
        model(code=code, title=title, billable=billable, chapter_id=chapter, depth=depth, sort_order=order)
        for _, code, title, billable, chapter, depth, order, _, _ in found
    ]
