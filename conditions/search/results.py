"""What search pages show besides the ranked codes: highlighted snippets, suggestions while typing, chapters and blocks."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import QuerySet
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .compile import SEARCH_CONFIG, any_of, tsquery
from .parse import parse
from .rank import like_prefix, loaded, ranking, text_condition
from .resolve import Query, resolve

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
# Words a fragment cut short can end on ("Fracture of distal end of", "diabetes (mellitus) due to").
DANGLING = re.compile(
    r"(?:\s+(?:a|an|and|as|at|by|due|for|from|in|into|of|on|or|than|that|the|to|when|with|without))+$",
    re.IGNORECASE,
)


def marked_html(text: str) -> str:
    return mark_safe(escape(text).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))


def tidy_snippet(text: str) -> str:
    """Distinct fragments, none starting or ending inside a parenthesis or on a word left dangling, none
    repeating a term; a last fragment cut short ends with an ellipsis (the others are followed by one)."""
    fragments, cut = [], False
    for fragment in text.split(FRAGMENTS):
        fragment = CLOSE_PARENTHESIS.sub("", OPEN_PARENTHESIS.sub("", fragment)).strip(" |·,;")
        terms = [t.strip() for t in re.split(r" [|·] ", fragment)]
        fragment = " · ".join(dict.fromkeys(t for t in terms if t))
        trimmed = DANGLING.sub("", fragment).rstrip(" |·,;")
        if trimmed and MARK_START in trimmed and trimmed not in fragments:
            fragments.append(trimmed)
            cut = trimmed != fragment
    return FRAGMENTS.join(fragments) + (" …" if cut else "")


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


# The best few headings of each kind whose titles match, in one statement (the headings themselves are held per
# content version by the caller).
SECTION_PART_SQL = """(
    SELECT {part} AS part, {key}::text AS key, ts_rank(search_vector, to_tsquery(%s::regconfig, %s)) AS score
    FROM {table} WHERE search_vector @@ to_tsquery(%s::regconfig, %s)
    ORDER BY score DESC, sort_order LIMIT %s
)"""


def matching_sections(query: Query, *sections: tuple[type, dict], limit: int = 5) -> list:
    """Chapters and blocks whose titles match the words, best first; ``sections`` are (model, {key: heading})
    pairs, and the headings returned are those of the dicts."""
    if query.tree is None or not sections:
        return []
    words = [SEARCH_CONFIG, tsquery(query.tree)]
    parts = [
        SECTION_PART_SQL.format(part=number, key=model._meta.pk.column, table=model._meta.db_table)
        for number, (model, _) in enumerate(sections)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM ({' UNION ALL '.join(parts)}) s", [*words, *words, limit] * len(sections)
        )
        found = cursor.fetchall()
    # Best score first; on a tie, the earlier kind (chapters before blocks), then official order.
    found.sort(key=lambda row: (-row[2], row[0]))
    return [sections[part][1][key] for part, key, _ in found[:limit] if key in sections[part][1]]


# What a suggestion shows of a code, in the order its statements select it.
SUGGESTED = ("code", "title", "billable", "chapter_id", "depth", "sort_order")
SUGGESTED_SQL = ", ".join(SUGGESTED)
# Autocomplete's passes, best first, in one statement: categories, subcategories and the codes the query names
# matching in the title, then deeper codes matching in the title, then codes matching elsewhere (upper levels
# first). PostgreSQL runs the parts in order and stops when the list is full: most keystrokes are answered
# by the first part, over the small index of the upper levels. (A subquery with LIMIT is never run in parallel
# workers, so the parts of the UNION ALL come in order.) The ranking is written once, in a CTE that PostgreSQL
# writes into each part (NOT MATERIALIZED): each part's conditions reach the table's indexes as if written
# there, and the statement stays short enough for psycopg to keep its parsed form.
SUGGEST_SQL = """
WITH s AS NOT MATERIALIZED (
    SELECT {columns}, depth <= 2 AS upper, {pinned} AS pinned,
           {in_title} AS in_title, {elsewhere} AS elsewhere, {match} AS match, {bucket} AS bucket
    FROM {table}
)
SELECT * FROM ({parts}) p LIMIT %s
"""
SUGGEST_PART_SQL = """(
    SELECT {part} AS part, {columns} FROM s WHERE {where}
    ORDER BY {order}match, bucket DESC, sort_order LIMIT %s
)"""
# (rows, sort keys before the ranking's) of each part.
SUGGEST_PARTS = (
    ("pinned OR (upper AND in_title)", ""),
    ("NOT upper AND NOT pinned AND in_title", ""),
    # Matching elsewhere, the upper levels first. The trigram fallback's condition has no weights: the
    # title-only parts found every row. (One part, not two: it is run only when the titles gave too few, and
    # then its deeper codes mostly are too; each part costs PostgreSQL about 0.25 ms to plan.)
    ("NOT pinned AND elsewhere AND NOT in_title", "NOT upper, "),
)

# A code prefix suggests the codes under it level by level ("S72" -> S72, S72.0, S72.1, ...; "S" -> S00, S01, ...),
# one part per level over the index of (depth, code), run in order until the list is full. (One statement
# ordered by depth and official order was planned as a walk through every level in official order, filtering:
# 23,000 rows before the first code under "S72.0".) The order is written "sort_order + 0" so that no index
# gives it: the official-order index looked cheaper for a short prefix ("T": 71,000 rows filtered, 17-48 ms).
# ICD-10-CM codes have a category and at most four characters below it.
CODE_DEPTHS = range(1, 6)
PREFIX_PART_SQL = """(
    SELECT {columns} FROM {table} WHERE depth = %s AND code LIKE %s ORDER BY sort_order + 0 LIMIT %s
)"""


def suggestions(queryset: QuerySet, query: Query, limit: int = AUTOCOMPLETE_LIMIT) -> list:
    """Suggestions while typing: codes from their first character, or the ranked words search.

    Text suggestions come from categories and subcategories first (a small
    partial index keeps this fast), those matching in the title first;
    deeper codes fill the list when those are too few. The codes the query
    names (lay terms) come first whatever their level ("covi": COVID-19
    before a coagulopathy whose inclusion term mentions it). They come from the whole code set: ``queryset``
    gives the model and the database, and one narrowed by filters is refused rather than ignored.
    """
    if queryset.query.where:
        raise ValueError("Suggestions come from the whole code set: the queryset must not be filtered.")
    if query.is_empty:
        return []
    model = queryset.model
    table = model._meta.db_table
    if query.code_prefix:
        return _under_prefix(queryset, table, query, limit) or _unless_unchecked(queryset, query, limit)
    anywhere = ranking(query, table)
    in_title = anywhere.condition if query.similar else text_condition(query, table, "A")
    computed = (anywhere.pinned, in_title, anywhere.condition, anywhere.match, anywhere.bucket)
    parts = SUGGEST_PARTS[:2] if query.similar else SUGGEST_PARTS
    sql = SUGGEST_SQL.format(
        columns=SUGGESTED_SQL,
        table=table,
        pinned=anywhere.pinned[0],
        in_title=in_title[0],
        elsewhere=anywhere.condition[0],
        match=anywhere.match[0],
        bucket=anywhere.bucket[0],
        parts=" UNION ALL ".join(
            SUGGEST_PART_SQL.format(part=number, columns=SUGGESTED_SQL, where=where, order=order)
            for number, (where, order) in enumerate(parts, start=1)
        ),
    )
    params = [value for _, values in computed for value in values] + [limit] * (len(parts) + 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if not found:
        return _unless_unchecked(queryset, query, limit)
    return _loaded_rows(queryset, [row[1:] for row in found])


def _loaded_rows(queryset: QuerySet, rows) -> list:
    return [loaded(queryset.model, queryset.db, dict(zip(SUGGESTED, row, strict=True))) for row in rows]


def _under_prefix(queryset: QuerySet, table: str, query: Query, limit: int) -> list:
    """The codes starting with the query's code prefix, level by level, each level in official order."""
    prefix = like_prefix(query.code_prefix)
    parts = " UNION ALL ".join(
        PREFIX_PART_SQL.format(columns=SUGGESTED_SQL, table=table) for _ in CODE_DEPTHS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM ({parts}) p LIMIT %s",
            [value for depth in CODE_DEPTHS for value in (depth, prefix, limit)] + [limit],
        )
        return _loaded_rows(queryset, cursor.fetchall())


def _unless_unchecked(queryset: QuerySet, query: Query, limit: int) -> list:
    """No suggestion for the query as typed: those of the query resolved in full (a code-shaped text naming no
    code read as words; words matching nothing through the fallbacks: most of the words, words run together,
    titles alike), unless it was."""
    if query.checked:
        return []
    return suggestions(queryset, resolve(parse(query.text, autocomplete=True), check=True), limit)
