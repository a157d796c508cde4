"""Parsing a search box query: plain Python, no database.

The text is cleaned and classified: an ICD-10-CM code or code prefix
(``m612``, ``S72.0``), an ICD-9-CM code (``401.9``, ``250.00``), or words in
websearch syntax ("quoted phrase", -word, or). Whether a code exists, which
words the corpus knows and what lay terms mean is the resolve step's work.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from conditions.icd10cm import canonical_code

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12

WORD = re.compile(r"[^\W_]+")
CHUNK = re.compile(r'(-?)"([^"]*)"?|(\S+)')
DOTTED_CODE = re.compile(r"^[a-z][0-9][0-9a-z]\.[0-9a-z]{1,4}$")
SHORT_CODE_PREFIX = re.compile(r"^[A-Za-z][0-9]?$")
# ICD-9-CM diagnosis codes with their dot: 401.9, 250.00, E849.0. V codes are left to ICD-10-CM,
# whose V00-V99 have the same shape.
ICD9_CODE = re.compile(r"^(?:[0-9]{3}|[Ee][0-9]{3})\.[0-9]{1,2}$")


class Kind(enum.Enum):
    EMPTY = "empty"
    CODE = "code"  # shaped like an ICD-10-CM code or code prefix (whether it exists is resolved)
    ICD9 = "icd9"  # shaped like an ICD-9-CM code
    WORDS = "words"


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    negated: bool = False
    phrase: bool = False


@dataclass(frozen=True)
class Parsed:
    text: str  # the cleaned query, as shown back to the user
    kind: Kind
    code: str | None = None  # the canonical code or prefix (CODE) or the ICD-9-CM code (ICD9)
    clauses: tuple[tuple[Term, ...], ...] = ()  # OR-ed clauses of AND-ed terms
    partial: str | None = None  # the last word, when it may still be being typed
    autocomplete: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        """The plain words (not negated, not in a phrase), in order."""
        return tuple(
            w for clause in self.clauses for t in clause if not t.negated and not t.phrase for w in t.words
        )

    @property
    def all_words(self) -> tuple[str, ...]:
        """Every word of the clauses, for the word look-up."""
        return tuple(w for clause in self.clauses for t in clause for w in t.words)


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


def words_of(chunk: str) -> tuple[str, ...]:
    """The index's words in a piece of text ("E11.9" stays one word, written as the index holds codes)."""
    folded = fold(chunk).strip(",;:()[]{}")
    if DOTTED_CODE.match(folded):
        return (folded.replace(".", ""),)  # the index holds codes without their dot
    words = WORD.findall(folded)
    # "COVID-19", "type-2": the parser indexes the "-19" as a signed number, never as "19".
    return tuple(w for w in words if not w.isdigit()) if len(words) > 1 and "-" in folded else tuple(words)


def parse_terms(text: str) -> tuple[tuple[Term, ...], ...]:
    """websearch syntax -> clauses (OR-ed) of terms (AND-ed), at most MAX_TERMS words."""
    clauses: list[list[Term]] = [[]]
    count = 0
    for negation, quoted, plain in CHUNK.findall(text):
        if count >= MAX_TERMS:
            break
        if quoted or negation:
            term = Term(words_of(quoted), negated=bool(negation), phrase=True)
        elif plain.lower() == "or":
            if clauses[-1]:
                clauses.append([])
            continue
        elif plain.startswith("-") and len(plain) > 1:
            term = Term(words_of(plain[1:]), negated=True)
        else:
            term = Term(words_of(plain))
        if term.words:
            clauses[-1].append(term)
            count += len(term.words)
    # A clause of nothing but exclusions would match nearly every row.
    return tuple(tuple(clause) for clause in clauses if any(not t.negated for t in clause))


def code_shape(text: str, *, autocomplete: bool = False) -> str | None:
    """The code or code prefix the text is shaped like ("m612" -> "M61.2"); single letters only while typing."""
    compact = "".join(text.split())
    code = canonical_code(compact)
    if code is None and SHORT_CODE_PREFIX.match(compact) and (autocomplete or len(compact) == 2):
        code = compact.upper()
    return code


def parse(text, *, autocomplete: bool = False) -> Parsed:
    """Classify and split a search box query (any input, bounded work, no database)."""
    text = clean(text)
    if not text:
        return Parsed(text="", kind=Kind.EMPTY)
    clauses = parse_terms(text)
    partial = None
    if clauses:
        last = clauses[-1][-1]
        if not text.endswith((" ", '"')) and not last.negated and not last.phrase:
            word = last.words[-1]
            partial = word if word.isalpha() and len(word) >= 2 else None
    if ICD9_CODE.match(text):
        kind, code = Kind.ICD9, text.upper()
    elif code := code_shape(text, autocomplete=autocomplete):
        kind = Kind.CODE
    else:
        kind = Kind.WORDS if clauses else Kind.EMPTY
    return Parsed(
        text=text, kind=kind, code=code, clauses=clauses, partial=partial, autocomplete=autocomplete
    )
