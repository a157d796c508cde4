"""Query understanding: what a search box query means, and the ranked SQL for it.

A query is either a code (``m612``, ``S72.001A``, ``W21.89XA``) or code
prefix (``M61``, ``S72.0``): that code and everything under it, in official
order; or words, in websearch syntax ("quoted phrase", -word, or). Words are
checked against the corpus's word list in one query: a partial last word is
completed, a misspelt word corrected (used only when the words as typed match
nothing). Editor synonyms found in the query add an alternative query (their
meaning) or put their code first. The result is one tsquery over the stored,
weighted tsvector, built from sanitized words only, so no input can make it
invalid.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass, field
from functools import reduce

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Case, F, FloatField, IntegerField, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Concat, Left, Length, Lower, StrIndex
from django.db.models.lookups import Exact, GreaterThan

from conditions.icd10cm import canonical_code
from conditions.models import SEARCH_CONFIG, Code
from conditions.search.index import refresh_due_articles

MAX_QUERY_LENGTH = 200
HEAVY_COLUMNS = (
    "search_vector",
    "inclusion_text",
    "notes_text",
    "article_text",
    "seventh_characters",
    "ancestors",
)
MAX_TERMS = 12
COMPLETIONS = 5
# Below this trigram similarity a "correction" is more often another word (gerd -> german).
MIN_SIMILARITY = 0.4
# Highlight markers: the text is marked with these, then escaped, then they become <mark>.
MARK_START, MARK_STOP = "\u27e6", "\u27e7"

WORD = re.compile(r"[^\W_]+")
CHUNK = re.compile(r'(-?)"([^"]*)"?|(\S+)')
DOTTED_CODE = re.compile(r"^[a-z][0-9][0-9a-z]\.[0-9a-z]{1,4}$")
SHORT_CODE_PREFIX = re.compile(r"^[A-Za-z][0-9]?$")


class Match:
    """Why a row is in the results; lower sorts first."""

    CODE = 0
    SYNONYM = 1
    TEXT = 2


@dataclass
class Term:
    words: list[str]
    negated: bool = False
    phrase: bool = False


@dataclass
class ParsedQuery:
    text: str  # the cleaned query, as shown back to the user
    code_prefix: str | None = None  # set when the query is a code or code prefix
    exact_code: str | None = None  # set when that prefix is itself an existing code
    tsquery: str = ""  # to_tsquery() text; empty when there is nothing to search for
    synonym_codes: list[str] = field(default_factory=list)
    corrected: str | None = None  # the query as corrected, when corrections were used
    suggestion: str | None = None  # "did you mean", when even corrections match nothing
    phrases: list[str] = field(
        default_factory=list
    )  # the words as typed (or corrected) and with synonyms applied

    @property
    def is_empty(self) -> bool:
        return not self.code_prefix and not self.tsquery and not self.synonym_codes


def clean(text) -> str:
    """Printable, single-spaced, at most MAX_QUERY_LENGTH characters; anything else gives ''."""
    if not isinstance(text, str):
        return ""
    text = text[: MAX_QUERY_LENGTH * 4]
    text = "".join(ch if unicodedata.category(ch)[0] not in "CZ" else " " for ch in text)
    return " ".join(text.split())[:MAX_QUERY_LENGTH].strip()


def fold(text: str) -> str:
    """Lower case without accents, as the index holds words."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(chunk: str) -> list[str]:
    folded = fold(chunk).strip(",;:()[]{}")
    if DOTTED_CODE.match(folded):
        return [folded.replace(".", "")]  # the index holds codes without their dot
    words = WORD.findall(folded)
    # "COVID-19", "type-2": the parser indexes the "-19" as a signed number, never as "19".
    return [w for w in words if not w.isdigit()] if len(words) > 1 and "-" in folded else words


def parse_terms(text: str) -> list[list[Term]]:
    """websearch syntax -> clauses (OR-ed) of terms (AND-ed)."""
    clauses: list[list[Term]] = [[]]
    count = 0
    for negation, quoted, plain in CHUNK.findall(text):
        if count >= MAX_TERMS:
            break
        if quoted or negation:
            term = Term(_words(quoted), negated=bool(negation), phrase=True)
        elif plain.lower() == "or":
            if clauses[-1]:
                clauses.append([])
            continue
        elif plain.startswith("-") and len(plain) > 1:
            term = Term(_words(plain[1:]), negated=True)
        else:
            term = Term(_words(plain))
        if term.words:
            clauses[-1].append(term)
            count += len(term.words)
    # A clause of nothing but exclusions would match nearly every row.
    return [clause for clause in clauses if any(not t.negated for t in clause)]


WORD_LOOKUP_SQL = f"""
SELECT t.word,
       EXISTS (SELECT 1 FROM conditions_searchword w WHERE w.word = t.word)
           OR (ts_lexize('english_stem', t.word))[1] IS NULL AS known,
       (SELECT coalesce(sum(w.documents), 0) FROM conditions_searchword w
        WHERE w.stem = (ts_lexize('english_stem', t.word))[1]) AS stem_documents,
       CASE WHEN t.word = %(partial)s THEN ARRAY(
           SELECT w.word FROM conditions_searchword w
           WHERE w.word LIKE t.word || '%%' AND w.word <> t.word
           ORDER BY w.documents DESC, w.word LIMIT {COMPLETIONS}
       ) END AS completions,
       c.word AS correction, c.documents AS correction_documents
FROM unnest(%(words)s::text[]) AS t(word)
LEFT JOIN LATERAL (
    SELECT w.word, w.documents FROM conditions_searchword w
    WHERE length(t.word) >= 4 AND w.word %% t.word AND similarity(w.word, t.word) >= {MIN_SIMILARITY}
      AND NOT EXISTS (SELECT 1 FROM conditions_searchword k WHERE k.word = t.word)
    ORDER BY similarity(w.word, t.word) + 0.05 * ln(1 + w.documents) DESC, w.word LIMIT 1
) c ON true
"""

SYNONYM_SQL = """
SELECT ' ' || regexp_replace(lower(unaccent(term)), '[^[:alnum:]]+', ' ', 'g') || ' ' AS folded,
       meaning, code_id
FROM conditions_synonym
WHERE strpos(%(original)s, ' ' || regexp_replace(lower(unaccent(term)), '[^[:alnum:]]+', ' ', 'g') || ' ') > 0
   OR strpos(%(corrected)s, ' ' || regexp_replace(lower(unaccent(term)), '[^[:alnum:]]+', ' ', 'g') || ' ') > 0
ORDER BY length(term) DESC
"""


def _quote(word: str) -> str:
    return f"'{word}'"  # words are [^\W_]+ only: nothing to escape


def _operand(word: str, lookup: dict, *, partial: bool) -> str:
    completions = lookup.get(word, {}).get("completions") or []
    if partial and (completions or not lookup.get(word, {}).get("known", True)):
        alternatives = [f"{_quote(word)}:*", *map(_quote, completions)]
        return "(" + " | ".join(alternatives) + ")"
    return _quote(word)


def _term_sql(term: Term, lookup: dict, partial_word: str | None) -> str:
    if term.phrase:
        sql = "(" + " <-> ".join(map(_quote, term.words)) + ")"
    else:
        sql = " & ".join(_operand(w, lookup, partial=(w == partial_word)) for w in term.words)
        sql = f"({sql})" if len(term.words) > 1 else sql
    return f"!{sql}" if term.negated else sql


def _tsquery(clauses: list[list[Term]], lookup: dict, partial_word: str | None, synonyms) -> str:
    parts = []
    for clause in clauses:
        parts.append(" & ".join(_term_sql(t, lookup, partial_word) for t in clause))
        # A synonym in this clause: the same clause with the term's words replaced by its meaning.
        plain = " " + " ".join(w for t in clause if not t.negated and not t.phrase for w in t.words) + " "
        for folded, meaning in synonyms:
            if folded in plain:
                replaced = plain.replace(folded, " " + " ".join(_words(meaning)) + " ", 1).split()
                negated = [t for t in clause if t.negated]
                alternative = [Term(replaced)] if replaced else []
                if alternative:
                    parts.append(" & ".join(_term_sql(t, {}, None) for t in alternative + negated))
    return " | ".join(f"({p})" for p in parts if p)


def _corrected(clauses, lookup) -> list[list[Term]]:
    def fix(word):
        info = lookup.get(word, {})
        # A word that starts known words is being typed, not misspelt.
        misspelt = not info.get("known", True) and not info.get("completions")
        return info["correction"] if misspelt and info.get("correction") else word

    return [[Term([fix(w) for w in t.words], t.negated, t.phrase) for t in clause] for clause in clauses]


def _has_matches(tsquery: str, synonym_codes: list[str]) -> bool:
    condition = Q(code__in=synonym_codes) if synonym_codes else Q()
    if tsquery:
        text = Q(search_vector=SearchQuery(tsquery, search_type="raw", config=SEARCH_CONFIG))
        condition = text | condition if synonym_codes else text
    return bool(tsquery or synonym_codes) and Code.objects.filter(condition).exists()


def _code_query(text: str, *, autocomplete: bool) -> ParsedQuery | None:
    """The query as a code or code prefix, when a code starts with it."""
    compact = "".join(text.split())
    prefix = canonical_code(compact)
    if prefix is None and SHORT_CODE_PREFIX.match(compact) and (autocomplete or len(compact) == 2):
        prefix = compact.upper()
    if prefix is None:
        return None
    existing = list(
        Code.objects.filter(code__startswith=prefix).order_by("code").values_list("code", flat=True)[:1]
    )
    if not existing:
        return None
    exact = prefix if existing[0] == prefix else None
    return ParsedQuery(text=text, code_prefix=prefix, exact_code=exact)


def _nearest_code(text: str) -> str | None:
    """For a code-shaped query that names no code: the longest existing code it starts with."""
    code = canonical_code(text)
    while code and len(code) >= 3:
        if Code.objects.filter(code=code).exists():
            return code
        code = code[:-1].rstrip(".")
    return None


def parse_query(text, *, autocomplete: bool = False) -> ParsedQuery:
    """Understand a search box query (any input, bounded work). Runs a few small queries."""
    text = clean(text)
    if not text:
        return ParsedQuery(text="")
    code_query = _code_query(text, autocomplete=autocomplete)
    if code_query:
        return code_query

    clauses = parse_terms(text)
    if not clauses:
        return ParsedQuery(text=text)
    last = clauses[-1][-1]
    partial_word = None
    if not text.endswith((" ", '"')) and not last.negated and not last.phrase and last.words[-1].isalpha():
        partial_word = last.words[-1] if len(last.words[-1]) >= 2 else None
    words = sorted({w for clause in clauses for t in clause for w in t.words if not w.isdigit()})
    with connection.cursor() as cursor:
        cursor.execute(WORD_LOOKUP_SQL, {"words": words, "partial": partial_word or ""})
        lookup = {
            word: {
                "known": known,
                "completions": completions,
                "correction": correction,
                # A misspelling can share its stem with a rare word (migrane, migrans): a far more common correction wins.
                "override": bool(correction)
                and not completions
                and correction_documents > 3 * stem_documents,
            }
            for word, known, stem_documents, completions, correction, correction_documents in cursor.fetchall()
        }
        if not autocomplete and partial_word and lookup.get(partial_word, {}).get("known"):
            partial_word = None  # on the results page a whole known word is taken as typed
        fixed = _corrected(clauses, lookup)
        original_text = " " + " ".join(w for c in clauses for t in c for w in t.words) + " "
        fixed_text = " " + " ".join(w for c in fixed for t in c for w in t.words) + " "
        cursor.execute(SYNONYM_SQL, {"original": original_text, "corrected": fixed_text})
        synonyms = cursor.fetchall()

    def build(chosen, chosen_text):
        found = [(folded, meaning, code) for folded, meaning, code in synonyms if folded in chosen_text]
        tsquery = _tsquery(chosen, lookup, partial_word, [(f, m) for f, m, _ in found if m])
        phrases = [chosen_text.strip()] + [
            chosen_text.replace(f, " " + " ".join(_words(m)) + " ", 1).strip() for f, m, _ in found if m
        ]
        return {
            "tsquery": tsquery,
            "synonym_codes": [code for _, _, code in found if code],
            "phrases": phrases,
        }

    parsed = ParsedQuery(text=text, **build(clauses, original_text))
    covered = {w for folded, _, _ in synonyms if folded in original_text for w in folded.split()}
    overriding = any(info["override"] for word, info in lookup.items() if word not in covered)
    if fixed != clauses and (overriding or not _has_matches(parsed.tsquery, parsed.synonym_codes)):
        corrected_text = fixed_text.strip()
        candidate = build(fixed, fixed_text)
        if _has_matches(candidate["tsquery"], candidate["synonym_codes"]):
            parsed = ParsedQuery(text=text, corrected=corrected_text, **candidate)
        else:
            parsed.suggestion = corrected_text
    if not parsed.corrected and not parsed.suggestion and canonical_code("".join(text.split())):
        parsed.suggestion = _nearest_code(text)
    return parsed


OPERAND = re.compile(r"'([^'\s]+)'(:\*)?")


def restricted(tsquery: str, weights: str) -> str:
    """The same tsquery matching only lexemes of the given weights ('A': the code and title)."""
    return OPERAND.sub(lambda m: f"'{m[1]}':{'*' if m[2] else ''}{weights}", tsquery)


def any_word(tsquery: str, weights: str) -> str:
    """A tsquery matching rows where any word of ``tsquery`` occurs with the given weights."""
    operands = dict.fromkeys(m.group(0) for m in OPERAND.finditer(tsquery))
    return " | ".join(restricted(operand, weights) for operand in operands)


def search_codes(queryset: QuerySet[Code], query) -> QuerySet[Code]:
    """Codes matching ``query`` (text or a ParsedQuery), best first, annotated with ``match`` and ``score``.

    Exact code, then synonym codes, then text matches. Text matches are
    scored by where all the words are found (the title, else the title and
    inclusion terms, else anywhere), an exact title or inclusion term, then
    by generality (a short title, high in the tree); billable codes and codes
    with a published article are lifted. Ties stay in official order.
    Checking a stored tsvector against a tsquery is cheap; ts_rank over tens
    of thousands of matches is not, and sums repeated words, which favours
    codes with long inherited notes.
    """
    parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
    if parsed.is_empty:
        return queryset.none()
    refresh_due_articles()
    # PostgreSQL carries the selected columns of every match through the sort: leave the bulky ones out.
    queryset = queryset.defer(*HEAVY_COLUMNS)
    if parsed.code_prefix:
        return (
            queryset.filter(code__startswith=parsed.code_prefix)
            .annotate(match=Value(Match.CODE), score=Value(1.0, output_field=FloatField()))
            .order_by("sort_order")
        )
    condition = Q(code__in=parsed.synonym_codes) if parsed.synonym_codes else Q(pk__in=[])
    score = Value(0.0, output_field=FloatField())
    if parsed.tsquery:

        def raw(text):
            return SearchQuery(text, search_type="raw", config=SEARCH_CONFIG)

        # Cheap tests first: upper()/lower() over every row of a common word's matches would cost more than the rest.
        title_length = Length("title")
        exact_title = reduce(
            operator.or_,
            (Q(GreaterThan(Value(len(p) + 1), title_length)) & Q(title__iexact=p) for p in parsed.phrases),
        )
        title_start = reduce(
            operator.or_, (Q(Exact(Lower(Left("title", len(p))), Value(p))) for p in parsed.phrases)
        )
        # The inclusion text holds its terms between " | ": an exact term is "Hay fever" of J30.1, not "hay fever
        # with asthma"; words in parentheses are nonessential modifiers ("Hypertension (arterial) (benign)").
        terms = Concat(Value(" | "), "inclusion_text", Value(" | "), output_field=TextField())
        exact_term = reduce(
            operator.or_,
            (
                Q(GreaterThan(StrIndex(terms, Value(f" | {form}{end}")), 0))
                for p in parsed.phrases
                for form in {p, p.capitalize()}
                for end in (" | ", " (")
            ),
        )
        condition |= Q(search_vector=raw(parsed.tsquery))
        score = (
            Case(
                When(search_vector=raw(restricted(parsed.tsquery, "A")), then=Value(4.0)),
                When(search_vector=raw(restricted(parsed.tsquery, "AB")), then=Value(2.0)),
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
    match = Case(
        When(code__in=parsed.synonym_codes, then=Value(Match.SYNONYM)),
        default=Value(Match.TEXT),
        output_field=IntegerField(),
    )
    # Django orders by the select-list positions of these annotations: read
    # the result as model instances (values_list() would drop the columns).
    return (
        queryset.filter(condition)
        .annotate(match=match, score=score)
        .order_by("match", "-score", "sort_order")
    )
