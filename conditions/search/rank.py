"""Ranking a resolved query over a Code QuerySet: the one ranking behind the results page, the API and autocomplete.

Exact code prefix, then codes the query names (lay terms, crosswalks), then
text matches scored by where the words are found (the title, else the title
and inclusion terms, else anywhere), an exact title or inclusion term, a
synonym's meaning, the main condition over its variants (neonatal,
pregnancy, poisoning, history, screening, "in diseases classified
elsewhere", later encounters) unless the query names them, and the stored
generality prior. Ties stay in official order. Nothing here imports the models.
"""

from __future__ import annotations

import os

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Left,
    RowNumber,
    Upper,
)

from .compile import SEARCH_CONFIG, Node, lexemes, tsquery
from .resolve import Fallback, Query
from .variants import lifted

# PostgreSQL carries the selected columns of every match through the sort: leave the bulky ones out.
HEAVY_COLUMNS = (
    "search_vector",
    "inclusion_text",
    "notes_text",
    "article_text",
    "seventh_characters",
    "ancestors",
)

# Scores within about 5% of each other are equal: official order decides (A before B, left before right),
# not a few characters of title length.
BUCKETS_PER_UNIT = 20
# In the trigram fallback, how much an inclusion term as alike as a title counts.
SIMILAR_TERM_WEIGHT = 0.9


class Match:
    """Why a row is in the results; lower sorts first."""

    CODE = 0
    PINNED = 1
    TEXT = 2


def raw(node: Node | None, weights: str = "") -> SearchQuery:
    return SearchQuery(tsquery(node, weights), search_type="raw", config=SEARCH_CONFIG)


def ranked(queryset: QuerySet, query: Query, *, weights: str = "") -> QuerySet:
    """Codes matching ``query``, best first, annotated with ``match`` and ``bucket`` (the score, in steps).

    ``weights`` ("A": code and title) keeps only the codes whose words match there.
    """
    if query.is_empty:
        return queryset.none()
    queryset = queryset.defer(*HEAVY_COLUMNS)
    if query.code_prefix:
        return (
            queryset.filter(code__startswith=query.code_prefix)
            .annotate(match=Value(Match.CODE), bucket=Value(0.0, output_field=FloatField()))
            .order_by("sort_order")
        )
    table = queryset.model._meta.db_table
    condition = Q(code__in=query.pinned) if query.pinned else Q(pk__in=[])
    score = ("1.0", [])
    if query.similar:
        # Titles that look like the query, and codes under an inclusion term that does (terms apply to the
        # codes below the level they are written at, as in the inclusion text the index holds).
        text = query.phrases[0]
        code, ancestors, title = (f'"{table}"."{name}"' for name in ("code", "ancestors", "title"))
        terms = "conditions_note n WHERE n.owner_type = 'code' AND n.kind IN ('inclusion_term', 'includes')"
        alike = f"ARRAY(SELECT n.owner FROM {terms} AND %s <%% upper(n.text))::varchar[]"
        queryset = queryset.alias(upper_title=Upper("title"))
        condition |= Q(upper_title__trigram_word_similar=text) | Q(
            RawSQL(  # noqa: S611 (bound parameters)
                f"{code} = ANY({alike}) OR {ancestors} && {alike}", [text, text], output_field=BooleanField()
            )
        )
        # A title alike ranks above an inclusion term as alike, as a title match ranks above a term match.
        score = (
            f"greatest(word_similarity(%s, upper({title})), {SIMILAR_TERM_WEIGHT} * coalesce(("
            f"SELECT max(word_similarity(%s, upper(n.text))) FROM {terms} AND n.owner = ANY({ancestors} || {code})"
            "), 0))",
            [text, text],
        )
    elif query.tree is not None:
        condition |= Q(search_vector=raw(query.tree, weights))
        score = _text_score(query, table)
    # The codes the query names, in their order (the first 50), before the text matches.
    match = RawSQL(  # noqa: S611 (bound parameters)
        f'COALESCE({Match.PINNED} + (array_position(%s::text[], "{table}"."code") - 1) / 100.0, {Match.TEXT})',
        (list(query.pinned[:50]),),
        output_field=FloatField(),
    )
    # Scores within about 5% of each other fall in one bucket (a row matching no word of a SOME fallback
    # scores 0: the floor keeps the logarithm defined).
    bucket = RawSQL(  # noqa: S611 (bound parameters)
        f"round(ln(greatest({score[0]}, 1e-9)) * {BUCKETS_PER_UNIT})", score[1], output_field=FloatField()
    )
    # Django orders by the select-list positions of these annotations (PostgreSQL computes each once): read
    # the result as model instances (values_list() would drop the columns).
    return (
        queryset.filter(condition)
        .annotate(match=match, bucket=bucket)
        .order_by("match", "-bucket", "sort_order")
    )


def _text_score(query: Query, table: str) -> tuple[str, list]:
    """The text match score as one SQL expression: a product of factors, each a CASE over the row's own columns.

    Written as SQL text with bound parameters rather than nested ORM expressions: Django compiled the
    expression tree anew for every place it appears (select list, bucket, window order), which cost more
    than running the query.
    """
    vector, title, terms, code, variant, prior = (
        f'"{table}"."{name}"'
        for name in ("search_vector", "title", "inclusion_text", "code", "search_variant", "search_prior")
    )
    factors, params = [], []

    def factor(sql, *values):
        factors.append(sql)
        params.extend(values)

    def matches(node, weights=""):
        params.extend([SEARCH_CONFIG, tsquery(node, weights)])
        return f"{vector} @@ to_tsquery(%s::regconfig, %s)"

    # Where the words are: the title (A), else the title and inclusion terms (AB), else anywhere.
    factor(
        f"CASE WHEN {matches(query.tree, 'A')} THEN 4.0 WHEN {matches(query.tree, 'AB')} THEN 2.0 ELSE 1.0 END"
    )
    # An exact title, else an exact inclusion term, else a title starting with the words. The inclusion text
    # holds its terms between " | ": an exact term is "Hay fever" of J30.1, not "hay fever with asthma"; words
    # in parentheses are nonessential modifiers ("Hypertension (arterial) (benign)"). Phrases hold only
    # letters, digits and spaces, so they are safe in LIKE patterns. The length test first: upper() over
    # every row of a common word's matches would cost more than the rest.
    phrases = list(query.phrases)
    exact_terms = [
        f"% | {form}{end}%"
        for p in phrases
        for form in dict.fromkeys([p, p.capitalize()])
        for end in (" | ", " (")
    ]
    starts = " OR ".join(f"lower(left({title}, {len(p)})) = %s" for p in phrases)
    factor(
        f"CASE WHEN length({title}) <= %s AND upper({title}) = ANY(%s::text[]) THEN 3.0"
        f" WHEN {terms} <> '' AND (' | ' || {terms} || ' | ') LIKE ANY(%s::text[]) THEN 2.5"
        f" WHEN {starts} THEN 1.5 ELSE 1.0 END",
        max(map(len, phrases)),
        [p.upper() for p in phrases],
        exact_terms,
        *phrases,
    )
    factor(prior)
    if query.related:
        factor(f"CASE WHEN {code} = ANY(%s::text[]) THEN 3.0 ELSE 1.0 END", list(query.related))
    if query.boost is not None:
        factor(f"CASE WHEN {matches(query.boost, 'AB')} THEN 2.0 ELSE 1.0 END")
    # The stored prior holds each variant's penalty; a query naming the variant lifts it.
    for number, lift in lifted(query.named).items():
        factor(f"CASE WHEN {variant} = %s THEN %s ELSE 1.0 END", number, lift)
    if query.fallback == Fallback.SOME:
        # Rows matching more of the words first.
        counted = " + ".join(
            f"CASE WHEN {matches(lexeme)} THEN 1 ELSE 0 END" for lexeme in lexemes(query.tree)
        )
        factor(f"power({counted}, 2)")
    return " * ".join(f"({f})" for f in factors), params


# A family is first a subcategory (4 characters, "S42.4") with everything under it, categories and
# subcategories heading their own; a family with more matches than this shows as one row, headed by
# the most specific code above all its matches (S42.43- when they all share it, else S42.4-).
FAMILY_ROWS = 5
# The lengths of a code at each level, with its dot: S42, S42.4, S42.43, S42.431, S42.431A.
CODE_LENGTHS = (3, 5, 6, 7, 8)


def family_of():
    return Case(When(depth__lte=2, then=F("code")), default=Left("code", 5), output_field=TextField())


def collapsible(query: Query) -> bool:
    """Word searches collapse families; a code prefix lists everything under it in official order."""
    return not query.is_empty and not query.code_prefix


# Each family's best row (and every row of a small family), best first, with the family's size, first and
# last matched code in byte order (whatever the collation: their common beginning is then that of all) and
# the totals; the score is computed once per row, in the ranked query inside.
COLLAPSE_SQL = """
SELECT code, family, family_size, family_first, family_last,
       count(*) OVER () AS total_rows, sum(family_size) FILTER (WHERE family_rank = 1) OVER () AS total_codes
FROM (
    SELECT r.code, r.match, r.bucket, r.sort_order, r.family,
           row_number() OVER (PARTITION BY r.family ORDER BY r.match, r.bucket DESC, r.sort_order) AS family_rank,
           count(*) OVER (PARTITION BY r.family) AS family_size,
           min(r.code COLLATE "C") OVER (PARTITION BY r.family) AS family_first,
           max(r.code COLLATE "C") OVER (PARTITION BY r.family) AS family_last
    FROM ({ranked}) r
) f
WHERE family_rank = 1 OR family_size <= %s
ORDER BY match, bucket DESC, sort_order
LIMIT %s OFFSET %s
"""


def collapsed_page(results: QuerySet, query: Query, *, offset: int, limit: int) -> tuple[list, int, int]:
    """(rows, how many rows in all, how many codes matched) of the ranked results with each large family
    as its best row, annotated ``family``, ``family_size``, ``family_first`` and ``family_last``.

    Ten different conditions fit on a page instead of one family's 48 fracture codes. Two queries: the
    collapsed ranking of narrow rows, then the page's codes as ``results`` reads them.
    """
    if not collapsible(query):
        count = results.count()
        return list(results[offset : offset + limit]), count, count
    narrow = (
        results.order_by()
        .annotate(family=family_of())
        .values("code", "match", "bucket", "sort_order", "family")
    )
    sql, params = narrow.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(COLLAPSE_SQL.format(ranked=sql), (*params, FAMILY_ROWS, limit, offset))
        found = cursor.fetchall()
    if not found:
        rows, codes = collapsed_counts(results, query) if offset else (0, 0)
        return [], rows, codes
    codes = results.model._default_manager.filter(pk__in=[row[0] for row in found]).defer(*HEAVY_COLUMNS)
    codes.query.select_related = results.query.select_related
    by_code = {code.code: code for code in codes}
    page = []
    for code, family, size, first, last, _, _ in found:
        row = by_code[code]
        row.family, row.family_size, row.family_first, row.family_last = family, size, first, last
        page.append(row)
    return page, found[0][5], int(found[0][6])


def family_heads(first: str, last: str) -> list[str]:
    """The codes that may head a family whose matches run from ``first`` to ``last`` in code order, most
    specific first: the beginnings they share, cut at a level ("S42.431A", "S42.436S" -> S42.43, S42.4, S42)."""
    common = os.path.commonprefix([first, last])
    return [common[:n] for n in reversed(CODE_LENGTHS) if n <= len(common) and common[n - 1] != "."]


def family_members(results: QuerySet, families, per_family: int = 10) -> dict[str, list]:
    """The best ``per_family`` matches of each given family, best first (for a collapsed row's list)."""
    order = [F("match").asc(), F("bucket").desc(), F("sort_order").asc()]
    members = {}
    ranked_members = (
        results.annotate(
            family=family_of(), family_rank=Window(RowNumber(), partition_by=family_of(), order_by=order)
        )
        .filter(family__in=list(families), family_rank__lte=per_family + 1)
        .order_by(*order)
    )
    for code in ranked_members:
        members.setdefault(code.family, []).append(code)
    return members


def collapsed_counts(results: QuerySet, query: Query) -> tuple[int, int]:
    """(rows ``collapsed_page`` gives in all, codes matched), counted by family without scoring a row."""
    if not collapsible(query):
        count = results.count()
        return count, count
    families = results.order_by().annotate(family=family_of()).values("family").annotate(size=Count("*"))
    totals = families.aggregate(
        rows=Sum(Case(When(size__lte=FAMILY_ROWS, then=F("size")), default=Value(1))),
        codes=Sum("size"),
    )
    return totals["rows"] or 0, totals["codes"] or 0
