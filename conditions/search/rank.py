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

import operator
import os
from functools import reduce

from django.contrib.postgres.search import SearchQuery, TrigramWordSimilarity
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.functions import (
    Collate,
    Concat,
    Greatest,
    Left,
    Length,
    Ln,
    Lower,
    Round,
    RowNumber,
    StrIndex,
    Upper,
)
from django.db.models.lookups import Exact, GreaterThan

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
    """Codes matching ``query``, best first, annotated with ``match`` and ``score``.

    ``weights`` ("A": code and title) keeps only the codes whose words match there.
    """
    if query.is_empty:
        return queryset.none()
    queryset = queryset.defer(*HEAVY_COLUMNS)
    if query.code_prefix:
        return (
            queryset.filter(code__startswith=query.code_prefix)
            .annotate(match=Value(Match.CODE), score=Value(1.0, output_field=FloatField()))
            .order_by("sort_order")
        )
    condition = Q(code__in=query.pinned) if query.pinned else Q(pk__in=[])
    score = Value(1.0, output_field=FloatField())
    if query.similar:
        text = query.phrases[0]
        queryset = queryset.alias(upper_title=Upper("title"), upper_terms=Upper("inclusion_text"))
        condition |= Q(upper_title__trigram_word_similar=text) | Q(upper_terms__trigram_word_similar=text)
        # A title alike ranks above an inclusion term as alike, as a title match ranks above a term match.
        score = Greatest(
            TrigramWordSimilarity(Value(text), "upper_title"),
            TrigramWordSimilarity(Value(text), "upper_terms") * Value(SIMILAR_TERM_WEIGHT),
        )
    elif query.tree is not None:
        condition |= Q(search_vector=raw(query.tree, weights))
        score = _text_score(query)
    match = Case(
        *(When(code=code, then=Value(Match.PINNED + i / 100)) for i, code in enumerate(query.pinned[:50])),
        default=Value(Match.TEXT),
        output_field=FloatField(),
    )
    # Django orders by the select-list positions of these annotations: read
    # the result as model instances (values_list() would drop the columns).
    return (
        queryset.filter(condition)
        .annotate(match=match, score=score, bucket=Round(Ln("score") * BUCKETS_PER_UNIT))
        .order_by("match", "-bucket", "sort_order")
    )


def _factor(condition: Q, value: float) -> Case:
    return Case(When(condition, then=Value(value)), default=Value(1.0), output_field=FloatField())


def _text_score(query: Query):
    # Cheap tests first: upper()/lower() over every row of a common word's matches would cost more than the rest.
    title_length = Length("title")
    exact_title = reduce(
        operator.or_,
        (Q(GreaterThan(Value(len(p) + 1), title_length)) & Q(title__iexact=p) for p in query.phrases),
    )
    title_start = reduce(
        operator.or_, (Q(Exact(Lower(Left("title", len(p))), Value(p))) for p in query.phrases)
    )
    # The inclusion text holds its terms between " | ": an exact term is "Hay fever" of J30.1, not "hay fever
    # with asthma"; words in parentheses are nonessential modifiers ("Hypertension (arterial) (benign)").
    terms = Concat(Value(" | "), "inclusion_text", Value(" | "), output_field=TextField())
    exact_term = reduce(
        operator.or_,
        (
            Q(GreaterThan(StrIndex(terms, Value(f" | {form}{end}")), 0))
            for p in query.phrases
            for form in {p, p.capitalize()}
            for end in (" | ", " (")
        ),
    )
    score = (
        Case(
            When(search_vector=raw(query.tree, "A"), then=Value(4.0)),
            When(search_vector=raw(query.tree, "AB"), then=Value(2.0)),
            default=Value(1.0),
        )
        * Case(
            When(exact_title, then=Value(3.0)),
            When(exact_term, then=Value(2.5)),
            When(title_start, then=Value(1.5)),
            default=Value(1.0),
        )
        * F("search_prior")
    )
    if query.related:
        score = score * _factor(Q(code__in=query.related), 3.0)
    if query.boost is not None:
        score = score * _factor(Q(search_vector=raw(query.boost, "AB")), 2.0)
    # The stored prior holds each variant's penalty; a query naming the variant lifts it.
    for number, factor in lifted(query.named).items():
        score = score * _factor(Q(search_variant=number), factor)
    if query.fallback == Fallback.SOME:
        # Rows matching more of the words first.
        matched = reduce(
            operator.add,
            (
                Case(
                    When(search_vector=raw(lexeme), then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
                for lexeme in lexemes(query.tree)
            ),
        )
        score = score * matched * matched
    return score


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


def collapsed(results: QuerySet, query: Query) -> QuerySet:
    """The ranked results with each large family as its best row, annotated ``family``, ``family_size``
    and the family's first and last matched codes (``family_first``, ``family_last``, in code order).

    Ten different conditions fit on a page instead of one family's 48 fracture codes.
    """
    if not collapsible(query):
        return results
    order = [F("match").asc(), F("bucket").desc(), F("sort_order").asc()]
    # Byte order, whatever the database's collation: the common beginning of the first and the last code
    # is then the common beginning of them all.
    code = Collate("code", "C")
    return (
        results.annotate(
            family=family_of(),
            family_rank=Window(RowNumber(), partition_by=family_of(), order_by=order),
            family_size=Window(Count("*"), partition_by=family_of()),
            family_first=Window(Min(code), partition_by=family_of()),
            family_last=Window(Max(code), partition_by=family_of()),
        )
        .filter(Q(family_rank=1) | Q(family_size__lte=FAMILY_ROWS))
        .order_by(*order)
    )


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
    """(rows ``collapsed`` gives, codes matched), counted by family without scoring a row."""
    if not collapsible(query):
        count = results.count()
        return count, count
    families = results.order_by().annotate(family=family_of()).values("family").annotate(size=Count("*"))
    totals = families.aggregate(
        rows=Sum(Case(When(size__lte=FAMILY_ROWS, then=F("size")), default=Value(1))),
        codes=Sum("size"),
    )
    return totals["rows"] or 0, totals["codes"] or 0
