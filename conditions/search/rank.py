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
from functools import reduce

from django.contrib.postgres.search import SearchQuery, TrigramWordSimilarity
from django.db.models import Case, F, FloatField, IntegerField, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Concat, Left, Length, Lower, StrIndex, Upper
from django.db.models.lookups import Exact, GreaterThan

from .compile import SEARCH_CONFIG, Node, lexemes, tsquery
from .resolve import Fallback, Query

# PostgreSQL carries the selected columns of every match through the sort: leave the bulky ones out.
HEAVY_COLUMNS = (
    "search_vector",
    "inclusion_text",
    "notes_text",
    "article_text",
    "seventh_characters",
    "ancestors",
)

# Variants of a condition that rank below the main condition unless the query names them.
VARIANTS = {
    "neonatal": Q(code__regex=r"^P"),
    "pregnancy": Q(code__regex=r"^(O|Z3[3-9]|Z3A)"),
    "poisoning": Q(code__regex=r"^T(3[6-9]|[45][0-9]|6[0-5])"),
    "history": Q(code__regex=r"^(Z8[0-9]|Z9[0-2])"),
    "screening": Q(code__regex=r"^Z1[1-3]"),
    "elsewhere": Q(title__icontains="classified elsewhere"),
    # 7th characters D, G, H, J, K, M, N, P, Q, R (subsequent encounter) and S (sequela): initial first.
    "later encounter": Q(code__regex=r"^.{7}[DGHJKMNPQRS]$"),
}
VARIANT_FACTOR = 0.3


class Match:
    """Why a row is in the results; lower sorts first."""

    CODE = 0
    PINNED = 1
    TEXT = 2


def raw(node: Node | None, weights: str = "") -> SearchQuery:
    return SearchQuery(tsquery(node, weights), search_type="raw", config=SEARCH_CONFIG)


def ranked(queryset: QuerySet, query: Query) -> QuerySet:
    """Codes matching ``query``, best first, annotated with ``match`` and ``score``."""
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
        queryset = queryset.alias(upper_title=Upper("title"))
        condition |= Q(upper_title__trigram_word_similar=text)
        score = TrigramWordSimilarity(Value(text), "upper_title")
    elif query.tree is not None:
        condition |= Q(search_vector=raw(query.tree))
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
        .annotate(match=match, score=score)
        .order_by("match", "-score", "sort_order")
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
    if query.boost is not None:
        score = score * _factor(Q(search_vector=raw(query.boost, "AB")), 2.0)
    unnamed = [condition for variant, condition in VARIANTS.items() if variant not in query.named]
    if unnamed:
        score = score * _factor(reduce(operator.or_, unnamed), VARIANT_FACTOR)
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
