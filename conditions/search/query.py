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

import re
import unicodedata
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Case, F, FloatField, IntegerField, Q, Value, When
from django.db.models.functions import Length

from conditions.icd10cm import canonical_code
from conditions.models import SEARCH_CONFIG, Block, Chapter, Code

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
COMPLETIONS = 5
# Below this trigram similarity a "correction" is more often another word (gerd -> german).
MIN_SIMILARITY = 0.4
# ts_rank weights for D (other notes), C (article), B (inclusion terms), A (code and title).
WEIGHTS = [0.05, 0.2, 0.5, 1.0]
TITLE_LENGTH_SCALE = 40.0
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
    return WORD.findall(folded)


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
       EXISTS (SELECT 1 FROM conditions_searchword w WHERE w.stem = (ts_lexize('english_stem', t.word))[1])
           OR (ts_lexize('english_stem', t.word))[1] IS NULL AS known,
       CASE WHEN t.word = %(partial)s THEN ARRAY(
           SELECT w.word FROM conditions_searchword w
           WHERE w.word LIKE t.word || '%%' AND w.word <> t.word
           ORDER BY w.documents DESC, w.word LIMIT {COMPLETIONS}
       ) END AS completions,
       (SELECT w.word FROM conditions_searchword w
        WHERE length(t.word) >= 4 AND w.word %% t.word AND similarity(w.word, t.word) >= {MIN_SIMILARITY}
        ORDER BY similarity(w.word, t.word) DESC, w.documents DESC, w.word LIMIT 1) AS correction
FROM unnest(%(words)s::text[]) AS t(word)
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
        return info["correction"] if not info.get("known", True) and info.get("correction") else word

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
    existing = list(Code.objects.filter(code__startswith=prefix).values_list("code", flat=True)[:1])
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
            word: {"known": known, "completions": completions, "correction": correction}
            for word, known, completions, correction in cursor.fetchall()
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
        return tsquery, [code for _, _, code in found if code]

    tsquery, synonym_codes = build(clauses, original_text)
    parsed = ParsedQuery(text=text, tsquery=tsquery, synonym_codes=synonym_codes)
    if fixed != clauses and not _has_matches(tsquery, synonym_codes):
        corrected_text = fixed_text.strip()
        tsquery, synonym_codes = build(fixed, fixed_text)
        if _has_matches(tsquery, synonym_codes):
            parsed = ParsedQuery(text=text, tsquery=tsquery, synonym_codes=synonym_codes, corrected=corrected_text)
        else:
            parsed.suggestion = corrected_text
    if not parsed.corrected and not parsed.suggestion and canonical_code("".join(text.split())):
        parsed.suggestion = _nearest_code(text)
    return parsed


def search_codes(queryset, query) -> "QuerySet[Code]":
    """Codes matching ``query`` (text or a ParsedQuery), best first, annotated with ``match`` and ``score``.

    Exact code, then synonym codes, then text matches by weighted rank
    (billable codes and codes with a published article lifted a little, an
    exact title match a lot), ties in official order.
    """
    parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
    if parsed.is_empty:
        return queryset.none()
    if parsed.code_prefix:
        return (
            queryset.filter(code__startswith=parsed.code_prefix)
            .annotate(match=Value(Match.CODE), score=Value(1.0))
            .order_by("sort_order")
        )
    condition = Q(code__in=parsed.synonym_codes) if parsed.synonym_codes else Q(pk__in=[])
    score = Value(0.0)
    if parsed.tsquery:
        tsquery = SearchQuery(parsed.tsquery, search_type="raw", config=SEARCH_CONFIG)
        condition |= Q(search_vector=tsquery)
        score = (
            SearchRank(F("search_vector"), tsquery, weights=WEIGHTS)
            # Shorter titles are the more general codes: "Asthma" before "Mild intermittent asthma with ...".
            * TITLE_LENGTH_SCALE / (TITLE_LENGTH_SCALE + Length("title"))
            * Case(When(billable=True, then=Value(1.2)), default=Value(1.0))
            * Case(When(has_article=True, then=Value(1.5)), default=Value(1.0))
            * Case(When(title__iexact=parsed.corrected or parsed.text, then=Value(3.0)), default=Value(1.0))
        )
    return (
        queryset.filter(condition)
        .annotate(
            match=Case(
                When(code__in=parsed.synonym_codes, then=Value(Match.SYNONYM)),
                default=Value(Match.TEXT),
                output_field=IntegerField(),
            ),
            score=score if parsed.tsquery else Value(0.0, output_field=FloatField()),
        )
        .order_by("match", "-score", "sort_order")
    )
