"""Resolving a parsed query against the database: the read-only middle step of search.

Checks whether a code-shaped query names existing codes; looks the words up
in the corpus's word list (a partial last word is completed, a misspelt word
corrected); applies the editors' synonyms (lay terms: other words, or a
code); and, when all the words together match nothing, falls back to the
rows matching most of them, then to titles that look alike. It runs a few
small SELECTs and never writes.
"""

from __future__ import annotations

import bisect
import heapq
import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import combinations

from django.db import connection

from .compile import SEARCH_CONFIG, And, Lexeme, Node, Not, Phrase, all_of, any_of, one_of, tsquery
from .parse import Kind, Parsed, Term, code_shape, parse, words_of
from .variants import named_variants

COMPLETIONS = 6
TYPED_TERMS = 3
# A completion used by fewer than this share of the most common one is left out (asth: asthma, not asthenia).
COMPLETION_SHARE = 0.1
# Below this trigram similarity a "correction" is more often another word (gerd -> german).
MIN_SIMILARITY = 0.4
# Words run together are read as two or three words of at least this many letters ("kidneystone").
SPLIT_AT_LEAST = 3
SPLIT_WORDS = 3
# While typing, the last of them may be the start of a word this long ("kidneyst": kidney st...).
SPLIT_TYPED_AT_LEAST = 2
# Longer is not words run together but noise (the splits tried grow with the square of the length).
SPLIT_LONGEST = 60


class Fallback:
    ALL = None  # every word matched
    SOME = "some"  # rows matching most of the words
    SIMILAR = "similar"  # titles or inclusion terms that look alike


@dataclass(frozen=True)
class Query:
    """What a query means, ready to rank: the parse, plus what the database said about its words."""

    text: str
    kind: Kind = Kind.EMPTY
    code_prefix: str | None = None  # the query names this code and everything under it
    exact_code: str | None = None  # ... and that prefix is itself a code
    tree: Node | None = None  # the words (with completions, corrections and synonyms) as a tsquery tree
    boost: Node | None = None  # rows matching this (a synonym's meaning) rank first among text matches
    pinned: tuple[str, ...] = ()  # codes put first: synonyms naming a code, ICD-9-CM crosswalk targets
    related: tuple[str, ...] = ()  # codes of lay terms that cover part of the query: lifted when they match
    phrases: tuple[str, ...] = ()  # the words as typed and as synonyms put them, for exact-title boosts
    exact: tuple[str, ...] = ()  # codes holding an inclusion term equal to a phrase (lifted with those below)
    words: tuple[str, ...] = ()  # the plain words, for "search for each word alone"
    named: frozenset[str] = frozenset()  # variants the query names (see variants.py)
    corrected: str | None = None  # the query as corrected, when corrections were used
    suggestion: str | None = None  # "did you mean", when even corrections match nothing
    fallback: str | None = Fallback.ALL
    # False while typing when whether anything matches was not asked (autocomplete asks only if its
    # suggestions come back empty: see ``results.suggestions``).
    checked: bool = True

    @property
    def is_empty(self) -> bool:
        return not self.code_prefix and self.tree is None and not self.pinned and not self.similar

    @property
    def similar(self) -> bool:
        return self.fallback == Fallback.SIMILAR


WORD_LOOKUP_SQL = f"""
SELECT t.word,
       EXISTS (SELECT 1 FROM conditions_searchword w WHERE w.word = t.word)
           OR (ts_lexize('english_stem', t.word))[1] IS NULL AS known,
       (SELECT coalesce(sum(w.documents), 0) FROM conditions_searchword w
        WHERE w.stem = (ts_lexize('english_stem', t.word))[1]) AS stem_documents,
       CASE WHEN t.word = %(partial)s THEN ARRAY(
           SELECT s.word FROM (
               SELECT w.word, w.documents, max(w.documents) OVER () AS most
               FROM conditions_searchword w
               WHERE w.word LIKE t.word || '%%' AND w.word <> t.word
               ORDER BY w.documents DESC, w.word LIMIT {COMPLETIONS}
           ) s WHERE s.documents >= {COMPLETION_SHARE} * s.most ORDER BY s.documents DESC, s.word
       ) END AS completions,
       c.word AS correction, c.documents AS correction_documents,
       (SELECT ARRAY[number::text, changed_at::text] FROM conditions_contentversion WHERE id = 1) AS version
FROM unnest(%(words)s::text[]) AS t(word)
LEFT JOIN LATERAL (
    SELECT w.word, w.documents FROM conditions_searchword w
    WHERE length(t.word) >= 4 AND w.word %% t.word AND similarity(w.word, t.word) >= {MIN_SIMILARITY}
      AND NOT EXISTS (SELECT 1 FROM conditions_searchword k WHERE k.word = t.word)
    ORDER BY similarity(w.word, t.word) + 0.05 * ln(1 + w.documents) DESC, w.word LIMIT 1
) c ON true
"""

# Every synonym term folded as query words are (' broken wrist '), longest first. Read once per content
# version in each process (editing a synonym bumps the version, migration 0018): folding all the terms
# with regexp_replace on every search cost more than the rest of resolving its words.
SYNONYMS_SQL = """
SELECT folded, meaning, code_id FROM (
    SELECT ' ' || trim(regexp_replace(lower(unaccent(term)), '[^[:alnum:]]+', ' ', 'g')) || ' ' AS folded,
           meaning, code_id, length(term) AS length
    FROM conditions_synonym
) s
ORDER BY length DESC, folded
"""
# The version the synonyms are held for, when neither the caller nor the word look-up read it.
VERSION_SQL = "SELECT ARRAY[number::text, changed_at::text] FROM conditions_contentversion WHERE id = 1"


def starting_with(ordered: list[str], start: str):
    """The strings of the sorted list ``ordered`` that start with ``start``, in order."""
    for index in range(bisect.bisect_left(ordered, start), len(ordered)):
        if not ordered[index].startswith(start):
            return
        yield ordered[index]


def other_number(word: str) -> str | None:
    """The plural of a singular English noun, or the singular of a plural one, by the regular rules ("attack",
    "attacks"; "injury", "injuries"; "flash", "flashes"); None for a word too short to tell."""
    if len(word) < 3 or not word.isalpha():
        return None
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def with_other_numbers(rows) -> list:
    """The synonym rows, and for each term of two words or more the term with its last word in the other
    number ("heart attacks" for "heart attack", "swollen leg" for "swollen legs"), meaning the same, unless a
    term of its own says so (editors wrote "broken rib" and "broken ribs" with different codes); longest first,
    as a shorter term inside a longer one gives way to it."""
    rows = list(rows)
    terms = {folded for folded, _, _ in rows}
    for folded, meaning, code in list(rows):
        *start, last = folded.split() or [""]
        other = other_number(last) if start else None
        if other and (varied := f" {' '.join([*start, other])} ") not in terms:
            terms.add(varied)
            rows.append((varied, meaning, code))
    return sorted(rows, key=lambda row: -len(row[0]))


class Synonyms:
    """The folded synonym terms (' broken wrist '), longest first, found by their first word: a query looks at
    the few terms that start with one of its words instead of testing all of them. A term is found in either
    number (``with_other_numbers``)."""

    def __init__(self, rows):
        self.rows = tuple(with_other_numbers(rows))
        self.by_first: dict[str, list[int]] = {}
        for index, (folded, _, _) in enumerate(self.rows):
            self.by_first.setdefault(folded.split()[0] if folded.strip() else "", []).append(index)
        self.firsts = sorted(self.by_first)
        # Every word of the terms, for the words of a query that only the lay terms know ("tennis", "morning").
        self.words = sorted({word for folded, _, _ in self.rows for word in folded.split()})
        self.word_set = frozenset(self.words)

    def has_word(self, word: str, *, typing: bool = False) -> bool:
        """Whether ``word`` is a word of a term (or, being typed, starts one)."""
        return word in self.word_set or (typing and next(starting_with(self.words, word), None) is not None)

    def within(self, texts, typing: str = "") -> list:
        """The terms inside any of ``texts`` (spaced words), or starting with ``typing``, longest first."""
        found = {i for text in texts for word in set(text.split()) for i in self.by_first.get(word, ())}
        if typing:
            first = typing.split()[0]
            if len(typing.split()) > 1:
                found.update(self.by_first.get(first, ()))
            else:
                for word in starting_with(self.firsts, first):
                    found.update(self.by_first[word])
        rows = (self.rows[i] for i in sorted(found))
        return [
            row
            for row in rows
            if any(row[0] in text for text in texts) or (typing and row[0].startswith(typing))
        ]


WORDS_SQL = "SELECT word, stem, documents FROM conditions_searchword"


class Words:
    """The corpus's word list (``SearchWord``, about 20,000 words) in memory: most look-ups need no query.

    A word of the list is known (and needs no correction), and completes (while typed) to the most
    common words it starts, as ``WORD_LOOKUP_SQL`` does. A word not in the list is a stop word (known) or
    unknown, and an unknown one may be corrected: that is PostgreSQL's to say (its dictionary and trigrams),
    so a query with such a word is looked up there; the stop words found so are remembered.
    """

    # How many PostgreSQL look-ups of words outside the list are remembered (each a few dozen bytes).
    LEARNED = 50_000

    def __init__(self, rows):
        self.documents = {word: documents for word, _, documents in rows}
        self.ordered = sorted(self.documents)
        self.stop_words: set[str] = set()
        # word -> what PostgreSQL said of it (known, its stem's documents, its correction and that one's).
        self.learned: dict[str, tuple] = {}

    def completions(self, start: str) -> list[str]:
        words = starting_with(self.ordered, start)
        best = heapq.nsmallest(
            COMPLETIONS, (w for w in words if w != start), key=lambda w: (-self.documents[w], w)
        )
        return [w for w in best if self.documents[w] >= COMPLETION_SHARE * self.documents[best[0]]]

    def split(self, word: str, *, typing: bool = False) -> tuple[str, ...] | None:
        """The likeliest way ``word`` is words of the list run together: two ("kidneystone"), else three
        ("highbloodpressure"), each at least 3 letters long; the split whose rarest word is the most common
        (the shorter first words on a tie). A word being typed (``typing``) may end with the start of a word
        of the list, of at least 2 letters ("kidneyst": kidney st..., counted as its most common word)."""
        if len(word) > SPLIT_LONGEST:
            return None
        last_least = SPLIT_TYPED_AT_LEAST if typing else SPLIT_AT_LEAST
        for count in range(2, SPLIT_WORDS + 1):
            best = None
            for cuts in combinations(range(SPLIT_AT_LEAST, len(word) - last_least + 1), count - 1):
                *parts, last = (
                    word[start:end] for start, end in zip((0, *cuts), (*cuts, len(word)), strict=True)
                )
                if not all(len(part) >= SPLIT_AT_LEAST and part in self.documents for part in parts):
                    continue
                last_documents = self.documents.get(last)
                if last_documents is None and typing:
                    last_documents = max(
                        (self.documents[w] for w in starting_with(self.ordered, last)), default=None
                    )
                if last_documents is None:
                    continue
                rarest = min(last_documents, *(self.documents[part] for part in parts))
                if best is None or rarest > best[0]:
                    best = (rarest, (*parts, last))
            if best:
                return best[1]
        return None

    def lookup(
        self, words, partial: str | None, *, typing: bool, lay: Synonyms | None = None
    ) -> dict[str, Lookup] | None:
        """The look-up of each word, or None when a word needs PostgreSQL's. A word outside the list that is
        a word of a lay term (``lay``: "tennis" of tennis elbow; while typing, one starting such a word) is
        taken as typed: the term, not a correction, is what it means."""
        found = {}
        for word in words:
            completions = self.completions(word) if word == partial else []
            if word in self.documents or word in self.stop_words:
                found[word] = Lookup(known=True, completions=completions)
            elif typing and word == partial and completions:
                # A word being typed that starts words of the list needs no correction; were it a stop word,
                # its lexeme would drop out of the tsquery, so "known" changes nothing here.
                found[word] = Lookup(known=False, completions=completions)
            elif _lay_only(lay, word, completions, typing=typing and word == partial):
                found[word] = Lookup(known=False)
            elif word in self.learned:
                found[word] = _looked_up(*self.learned[word], completions)
            else:
                return None
        return found

    def learn(self, rows) -> None:
        """Remember PostgreSQL's answers (``WORD_LOOKUP_SQL`` rows) for the words outside the list."""
        for word, known, stem_documents, _, correction, correction_documents, _ in rows:
            if word in self.documents:
                continue
            if known:
                self.stop_words.add(word)
            elif len(self.learned) < self.LEARNED:
                self.learned[word] = (known, stem_documents, correction, correction_documents)


# The content version the caller has just read (``conditions.search_cache`` sets it while it computes an
# answer): the word list and the synonyms are held for it without asking again.
CONTENT_VERSION: ContextVar = ContextVar("search_content_version", default=None)
# (what, kind of version) -> (content version, what was read under it). The version comes from the search memo
# (its key) or from the word look-up (number and time): each kind holds its own copy, so that requests of both
# kinds (the public search and the admin's code picker) do not reload in turn.
_held: dict[tuple[str, str], tuple] = {}


def _per_version(name: str, version, read):
    kind = (name, type(version).__name__)
    held = _held.get(kind)
    if version is None or held is None or held[0] != version:
        held = (version, read())
        _held[kind] = held
    return held[1]


# Whether any code matches, answered by the search index (migration 0021: an EXISTS here was often planned as
# a read of the table in order).
MATCHES_SQL = (
    f"SELECT %(tsquery)s <> '' AND conditions_code_matches(to_tsquery('{SEARCH_CONFIG}', %(tsquery)s))"
)
# The inclusion terms and includes notes of codes (about 13,500), held per content version.
TERMS_SQL = (
    "SELECT text, array_agg(DISTINCT owner ORDER BY owner) FROM conditions_note"
    " WHERE owner_type = 'code' AND kind IN ('inclusion_term', 'includes') GROUP BY text"
)


class Terms:
    """The codes' inclusion terms (and includes notes) by their text, in memory: which codes hold a term
    equal to a phrase ("Hay fever" of J30.1), or to one followed by nonessential modifiers in parentheses
    ("Hypertension (arterial) (benign)"). Ranking lifts those codes and the codes under them."""

    def __init__(self, rows):
        self.owners = {text: tuple(owners) for text, owners in rows}
        self.ordered = sorted(self.owners)

    def holding(self, phrases) -> tuple[str, ...]:
        """The codes holding a term equal to a phrase, as typed or capitalized ("hay fever", "Hay fever")."""
        found = set()
        for form in {form for p in phrases if p for form in (p, p.capitalize())}:
            found.update(self.owners.get(form, ()))
            for text in starting_with(self.ordered, form + " ("):
                found.update(self.owners[text])
        return tuple(sorted(found))


# pg_trgm's <% (word similarity above pg_trgm.word_similarity_threshold, 0.6) over the trigram indexes of
# the titles and of the inclusion terms ("orallthrush": B37.0's "Oral thrush").
# The terms are counted rather than tested with EXISTS: for EXISTS the planner guesses that a scan of every
# note stops early, and rechecking each costs 100 ms where the index answers in 1.
SIMILAR_SQL = """
SELECT EXISTS (SELECT 1 FROM conditions_code WHERE %(text)s <%% upper(title))
    OR (
        SELECT count(*) > 0 FROM conditions_note
        WHERE owner_type = 'code' AND kind IN ('inclusion_term', 'includes') AND %(text)s <%% upper(text)
    )
"""


@dataclass
class Lookup:
    known: bool = True
    completions: list[str] = field(default_factory=list)
    correction: str | None = None
    override: bool = False  # the correction is far more common than the word's stem (migrane -> migraine)


def icd9_targets(code: str) -> list[str]:
    """The ICD-10-CM codes an ICD-9-CM code maps to in the GEMs, best first (exact before approximate).

    Reads the crosswalk the import keeps on ``conditions_icd9code`` (issue 12); a code the GEMs do not
    map, or one that maps to "no code", gives [] and is searched as text.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_icd10 FROM conditions_icd9code WHERE code = %s", [code])
        row = cursor.fetchone()
    if not row:
        return []
    entries = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    targets = [entry for entry in entries if entry["code"] and entry["title"] is not None]
    targets.sort(key=lambda entry: entry["approximate"])  # stable: GEM order within each kind
    return list(dict.fromkeys(entry["code"] for entry in targets))


def understand(text, *, autocomplete: bool = False) -> Query:
    """Parse and resolve a search box query: the one way into search (see ``CodeQuerySet.search``)."""
    return resolve(parse(text, autocomplete=autocomplete))


def resolve(parsed: Parsed, *, check: bool = False) -> Query:
    """What ``parsed`` means. Text being typed (``parsed.autocomplete``) is not checked for matches unless
    ``check``: its suggestions tell (``Query.checked``)."""
    if parsed.kind is Kind.EMPTY:
        return Query(text=parsed.text)
    with connection.cursor() as cursor:
        if parsed.kind is Kind.CODE:
            if parsed.autocomplete and not check:
                # The suggestions under the prefix say whether codes start with it.
                return Query(text=parsed.text, kind=Kind.CODE, code_prefix=parsed.code, checked=False)
            found = _existing_code(cursor, parsed.code)
            if found:
                exact = parsed.code if found == parsed.code else None
                return Query(text=parsed.text, kind=Kind.CODE, code_prefix=parsed.code, exact_code=exact)
        if parsed.kind is Kind.ICD9 and (targets := icd9_targets(parsed.code)):
            return Query(text=parsed.text, kind=Kind.ICD9, pinned=tuple(targets))
        if not parsed.clauses:
            return Query(text=parsed.text)
        query = _resolve_words(cursor, parsed, not parsed.autocomplete or check)
        # A code-shaped query naming no code: the longest existing code it starts with.
        if (
            query.fallback is Fallback.ALL
            and not query.corrected
            and not query.suggestion
            and code_shape(parsed.text)
            and (nearest := _nearest_code(cursor, parsed.text))
        ):
            query = _replace(query, suggestion=nearest)
    return query


def _replace(query: Query, **changes) -> Query:
    return Query(**{**query.__dict__, **changes})


def _existing_code(cursor, prefix: str) -> str | None:
    cursor.execute(
        # In byte order (the codes' own): ordered as the primary key, PostgreSQL walked it from A00 and filtered.
        'SELECT code FROM conditions_code WHERE code LIKE %s ORDER BY code COLLATE "C" LIMIT 1',
        [prefix.replace("%", "").replace("_", "") + "%"],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _nearest_code(cursor, text: str) -> str | None:
    """For a code-shaped query that names no code: the longest existing code it starts with."""
    code = code_shape(text)
    while code and len(code) >= 3:
        cursor.execute("SELECT 1 FROM conditions_code WHERE code = %s", [code])
        if cursor.fetchone():
            return code
        code = code[:-1].rstrip(".")
    return None


def _word_list(cursor, version) -> Words:
    """The word list under ``version``."""

    def read():
        cursor.execute(WORDS_SQL)
        return Words(cursor.fetchall())

    return _per_version("words", version, read)


def _all_synonyms(cursor, version) -> Synonyms:
    """The folded synonyms under ``version``."""

    def read():
        cursor.execute(SYNONYMS_SQL)
        return Synonyms(cursor.fetchall())

    return _per_version("synonyms", version, read)


def _inclusion_terms(cursor, version) -> Terms:
    """The inclusion terms under ``version``."""

    def read():
        cursor.execute(TERMS_SQL)
        return Terms(cursor.fetchall())

    return _per_version("terms", version, read)


def _check(cursor, fields: dict, version) -> bool:
    """Whether the query ``fields`` (as ``_resolve_words`` builds them) matches any code; sets their ``exact``."""
    _set_exact(cursor, fields, version)
    return _has_matches(cursor, fields["tree"], fields["pinned"])


def _set_exact(cursor, fields: dict, version) -> None:
    """Sets the ``exact`` of the query ``fields``: the codes holding an inclusion term equal to a phrase."""
    fields["exact"] = _inclusion_terms(cursor, version).holding(fields["phrases"])


def _has_matches(cursor, tree: Node | None, pinned) -> bool:
    if pinned:
        return True  # synonyms' codes exist (the vocabulary test checks them; the admin picks real codes)
    if tree is None:
        return False
    cursor.execute(MATCHES_SQL, {"tsquery": tsquery(tree)})
    return cursor.fetchone()[0]


def _lay_only(lay: Synonyms | None, word: str, completions, *, typing: bool) -> bool:
    """Whether ``word``, outside the word list and starting none of its words, is one only the lay terms know
    (or, being typed, start): taken as typed, not corrected, whichever way it was looked up."""
    return not completions and lay is not None and lay.has_word(word, typing=typing)


def _looked_up(known, stem_documents, correction, correction_documents, completions) -> Lookup:
    return Lookup(
        known=known,
        completions=completions or [],
        correction=correction,
        # A misspelling can share its stem with a rare word (migrane, migrans): a far more common correction wins.
        override=bool(correction) and not completions and correction_documents > 3 * stem_documents,
    )


def _lookup(cursor, words, partial: str | None) -> tuple[dict[str, Lookup], list, list | None]:
    """The look-up of each word, the rows it came from, and the content version read with it (None when there
    was no word)."""
    cursor.execute(WORD_LOOKUP_SQL, {"words": list(words), "partial": partial or ""})
    rows = cursor.fetchall()
    lookup = {
        word: _looked_up(known, stem_documents, correction, correction_documents, completions)
        for word, known, stem_documents, completions, correction, correction_documents, _ in rows
    }
    return lookup, rows, (rows[0][-1] if rows else None)


def _spaced(words) -> str:
    return " " + " ".join(words) + " "


def _resolve_words(cursor, parsed: Parsed, check: bool) -> Query:
    words = sorted({w for w in parsed.all_words if not w.isdigit()})
    partial = parsed.partial
    # Under the version the search memo has just read, the word list held for it answers most look-ups; else
    # (a word it cannot answer for, or no memo: the admin, the shell) the look-up reads the version too.
    version = CONTENT_VERSION.get()
    word_list = _word_list(cursor, version) if version is not None else None
    lay = _all_synonyms(cursor, version) if word_list else None
    lookup = word_list.lookup(words, partial, typing=parsed.autocomplete, lay=lay) if word_list else None
    if lookup is None:
        lookup, rows, read = _lookup(cursor, words, partial)
        if word_list:
            word_list.learn(rows)
        else:
            version = read
    if version is None:  # no word was looked up (digits only) and no memo read it
        cursor.execute(VERSION_SQL)
        version = (cursor.fetchone() or (None,))[0]
    if lay is None:
        lay = _all_synonyms(cursor, version)
    # Looked up in PostgreSQL too, a word only the lay terms know is taken as typed (as the word list does).
    lookup = {
        word: Lookup(known=False)
        if not info.known
        and _lay_only(lay, word, info.completions, typing=parsed.autocomplete and word == partial)
        else info
        for word, info in lookup.items()
    }
    if partial and not parsed.autocomplete and (lookup.get(partial, Lookup()).known or len(partial) < 4):
        partial = None  # on the results page a known or short word is taken as typed
    fixed = _corrected(parsed.clauses, lookup)
    original_text, fixed_text = _spaced(parsed.all_words), _spaced(_all_words(fixed))
    # While typing, lay terms the query starts ("heart att" -> heart attack, "pink e" -> pink eye).
    typing = (
        _spaced(parsed.all_words).rstrip() if parsed.autocomplete and not parsed.text.endswith(" ") else ""
    )
    typing = typing if len(typing.strip()) >= 3 else ""
    # One word being typed completes to one-word terms only (diab: diabetes; asth: not "asthma attack"), unless
    # no code's words hold it or start with it: then its terms are all it can mean (canker: canker sore).
    first = lookup.get(parsed.all_words[0], Lookup()) if parsed.all_words else Lookup()
    one_word = len(parsed.all_words) == 1 and (
        first.known or bool(first.completions) or bool(first.correction)
    )
    # The terms the query holds (as typed or corrected) and, while typing, the terms it starts.
    synonyms = lay.within((original_text, fixed_text), typing)
    # A whole lay term is not "completed" into other words (UTI is not utilities).
    if partial and any(f" {partial} " in folded and folded in original_text for folded, _, _ in synonyms):
        partial = None

    def build(
        clauses, text, synonyms=synonyms, *, lookup=lookup, partial=partial, typing=typing, one_word=one_word
    ):
        found = []  # longest first; a term inside a longer one found ("cold" in "cold sore") is left out
        for folded, meaning, code in synonyms:
            if folded in text and not any(folded in longer for longer, _, _ in found):
                found.append((folded, meaning, code))
        typed = sorted(
            (
                (f, m, c)
                for f, m, c in synonyms
                if typing and f.startswith(typing) and f not in text and not (one_word and f.count(" ") > 2)
            ),
            key=lambda synonym: len(synonym[0]),
        )[:TYPED_TERMS]
        # A term's code goes first when the terms cover the whole query; otherwise it only lifts the code.
        whole = set(text.split()) <= {w for folded, _, _ in found for w in folded.split()}
        codes = tuple(dict.fromkeys(c for _, _, c in found if c))
        tree = one_of(_clause_tree(c, lookup, partial) for c in clauses)
        alternatives = []
        for clause in clauses:
            plain = _spaced(w for t in clause if not t.negated and not t.phrase for w in t.words)
            negated = [_term_tree(t, lookup, None) for t in clause if t.negated]
            for folded, meaning, _ in found:
                if meaning and folded in plain:
                    replaced = plain.replace(folded, _spaced(words_of(meaning)), 1).split()
                    alternatives.append(all_of([*(Lexeme(w) for w in replaced), *negated]))
        for _, meaning, _ in typed:
            if meaning:
                alternatives.append(all_of(Lexeme(w) for w in words_of(meaning)))
        phrases = (
            [text.strip()]
            + [text.replace(f, _spaced(words_of(m)), 1).strip() for f, m, _ in found if m]
            + [" ".join(words_of(m)) for _, m, _ in typed if m]
        )
        meanings = " ".join(m for _, m, _ in found + typed if m)
        return {
            "tree": one_of([tree, *alternatives]),
            "boost": one_of(alternatives),
            "pinned": tuple(dict.fromkeys((codes if whole else ()) + tuple(c for _, _, c in typed if c))),
            "related": () if whole else codes,
            "phrases": tuple(dict.fromkeys(p for p in phrases if p)),
            "named": named_variants(text + " " + meanings),
        }

    base = {"text": parsed.text, "kind": Kind.WORDS, "words": parsed.words}
    built = build(parsed.clauses, original_text)
    covered = {w for folded, _, _ in synonyms if folded in original_text for w in folded.split()}
    overriding = any(info.override for word, info in lookup.items() if word not in covered)

    def split_reading() -> Query | None:
        """The query with its words run together read as the known words they are, if that matches: "hayfever"
        (no word near enough to correct it), "kidneystone" (before the nearest word, "kidney")."""
        words = _word_list(cursor, version)
        typed = partial if parsed.autocomplete else None
        split, split_partial = _split(words, parsed.clauses, lookup, typed)
        if split == parsed.clauses:
            return None
        split_text = _spaced(_all_words(split))
        split_lookup, split_typing = lookup, ""
        if split_partial != typed:
            # The word being typed was split: its last part is being typed ("kidneyst": kidney st..., and the
            # lay terms starting so, kidney stone).
            completions = words.completions(split_partial)
            split_lookup = {**lookup, split_partial: Lookup(split_partial in words.documents, completions)}
            split_typing = split_text.rstrip() if typing else ""
        # With the lay terms of the words ("heartattack": heart attack, I21).
        candidate = build(
            split,
            split_text,
            lay.within((split_text,), split_typing),
            lookup=split_lookup,
            partial=split_partial,
            typing=split_typing,
            one_word=False,
        )
        return (
            Query(**base, corrected=split_text.strip(), **candidate)
            if _check(cursor, candidate, version)
            else None
        )

    matches = None
    if fixed != parsed.clauses and (overriding or not (matches := _check(cursor, built, version))):
        if split := split_reading():
            return split
        candidate = build(fixed, fixed_text)
        if _check(cursor, candidate, version):
            return Query(**base, corrected=fixed_text.strip(), **candidate)
        built["suggestion"] = fixed_text.strip()
        matches = False
    if matches is None and not check:
        # While typing, the suggestions say whether anything matches: asked only when they are none.
        _set_exact(cursor, built, version)
        return Query(**base, **built, checked=False)
    if matches is None:
        matches = _check(cursor, built, version)
    query = Query(**base, **built)
    if matches:
        return query
    # Never a dead end: rows matching most of the words, then titles or inclusion terms that look alike.
    some = any_of(query.tree)
    if (isinstance(query.tree, And | Phrase) or (some is not None and some != query.tree)) and _has_matches(
        cursor, some, ()
    ):
        return _replace(query, tree=some, boost=None, fallback=Fallback.SOME)
    # Words run together, before titles that merely look alike.
    if split := split_reading():
        return split
    text = " ".join(parsed.words).upper()
    if len(text) >= 3:
        cursor.execute(SIMILAR_SQL, {"text": text})
        if cursor.fetchone()[0]:
            return _replace(query, tree=None, boost=None, phrases=(text,), fallback=Fallback.SIMILAR)
    return query


def _split(words: Words, clauses, lookup: dict[str, Lookup], partial: str | None = None):
    """(the clauses with each unknown plain word that is known words run together written as those, the word
    then being typed): while typing, the word being typed (``partial``) may end with the start of a word."""
    parts = {
        w: split
        for clause in clauses
        for t in clause
        if not t.negated and not t.phrase
        for w in t.words
        if not lookup.get(w, Lookup()).known and (split := words.split(w, typing=w == partial))
    }
    if not parts:
        return clauses, partial
    return (
        tuple(
            tuple(
                Term(tuple(p for w in t.words for p in parts.get(w, (w,))), t.negated, t.phrase)
                if not (t.negated or t.phrase)
                else t
                for t in clause
            )
            for clause in clauses
        ),
        parts[partial][-1] if partial in parts else partial,
    )


def _all_words(clauses) -> tuple[str, ...]:
    return tuple(w for clause in clauses for t in clause for w in t.words)


def _operand(word: str, lookup: dict[str, Lookup], partial: str | None) -> Node:
    info = lookup.get(word, Lookup())
    if word != partial:
        return Lexeme(word)
    if not info.completions:
        return Lexeme(word, prefix=True)
    return one_of([*([Lexeme(word)] if info.known else []), *(Lexeme(c) for c in info.completions)])


def _term_tree(term: Term, lookup, partial) -> Node:
    if term.phrase:
        node = Phrase(term.words) if len(term.words) > 1 else Lexeme(term.words[0])
    else:
        node = all_of(_operand(w, lookup, partial) for w in term.words)
    return Not(node) if term.negated else node


def _clause_tree(clause, lookup, partial) -> Node | None:
    return all_of(_term_tree(t, lookup, partial) for t in clause)


def _corrected(clauses, lookup: dict[str, Lookup]):
    def fix(word):
        info = lookup.get(word, Lookup())
        # A word that starts known words is being typed, not misspelt.
        misspelt = not info.known and not info.completions
        return info.correction if misspelt and info.correction else word

    return tuple(
        tuple(Term(tuple(fix(w) for w in t.words), t.negated, t.phrase) for t in clause) for clause in clauses
    )
