"""Ranking a resolved query over a Code QuerySet: the one ranking behind the results page, the API and autocomplete.

Exact code prefix, then codes the query names (lay terms, crosswalks), then
text matches scored by where the words are found (the title, else the title
and inclusion terms, else anywhere), an exact title or inclusion term, a
synonym's meaning, the main condition over its variants (neonatal,
pregnancy, poisoning, history, screening, "in diseases classified
elsewhere", later encounters) unless the query names them, and the stored
generality prior. Ties stay in official order. Nothing here imports the models.

The ranking is SQL text with bound parameters (``ranking``), written once and used three ways: as
annotations of a QuerySet (``ranked``: the API, the results page and its filters, the admin), inside the
collapsed page's one statement (``collapsed_page``), and inside autocomplete's one statement
(``results.suggestions``). Building it with nested ORM expressions cost more than running it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.apps import apps
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Case, F, FloatField, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Ord, Substr

from conditions.addresses import code_url

from .compile import SEARCH_CONFIG, Lexeme, Node, lexemes, tsquery
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


@dataclass(frozen=True)
class Ranking:
    """A query's ranking as SQL over one table, each part with its parameters: the rows it keeps (the codes
    ``pinned``, and those meeting ``condition``) and the sort keys ``match`` (ascending) and ``bucket``
    (descending); official order breaks ties."""

    pinned: tuple[str, list]
    condition: tuple[str, list]
    match: tuple[str, list]
    bucket: tuple[str, list]

    @property
    def where(self) -> tuple[str, list]:
        return f"({self.pinned[0]} OR {self.condition[0]})", [*self.pinned[1], *self.condition[1]]


def ranking(query: Query, table: str, *, weights: str = "", posted: bool = False) -> Ranking | None:
    """The ranking of ``query`` over ``table`` (None for an empty query).

    ``weights`` ("A": code and title) keeps only the codes whose words match there (autocomplete's first
    pass); the scores are the same. ``posted``: ``table`` holds search postings (``SearchPosting``, for a
    ``posted_word`` query), one row per code for the word, its weight in place of the code's search vector
    (``weights`` does not apply there: only the collapsed page reads postings).
    """
    if query.is_empty:
        return None
    code = f'"{table}"."code"'
    if query.code_prefix:
        # Official order, written as the bucket so that the prefix index finds the codes and they are sorted:
        # ordered by sort_order alone, PostgreSQL walked the official-order index from A00 and filtered (57,000
        # rows before S72.0's first code, 14 ms).
        return Ranking(
            ("false", []),
            (f"{code} LIKE %s", [like_prefix(query.code_prefix)]),
            (f"{Match.CODE}::float8", []),
            (f'-"{table}"."sort_order"::float8', []),
        )
    if query.pinned:
        pinned = (f"{code} = ANY(%s::text[])", [list(query.pinned)])
        # The codes the query names, in their order (the first 50), before the text matches.
        match = (
            f"COALESCE({Match.PINNED} + (array_position(%s::text[], {code}) - 1) / 100.0, {Match.TEXT})::float8",
            [list(query.pinned[:50])],
        )
    else:
        pinned, match = ("false", []), (f"{Match.TEXT}::float8", [])
    if query.similar:
        condition, score = _similar(query, table)
    elif query.tree is not None:
        condition = _posted_condition(query, table) if posted else text_condition(query, table, weights)
        score = _text_score(query, table, posted=posted)
    else:
        condition, score = ("false", []), ("1::float8", [])
    # Scores within about 5% of each other fall in one bucket (a row matching no word of a SOME fallback
    # scores 0: the floor keeps the logarithm defined).
    bucket = (f"round(ln(greatest({score[0]}, 1e-9)) * {BUCKETS_PER_UNIT})", score[1])
    return Ranking(pinned, condition, match, bucket)


def like_prefix(prefix: str) -> str:
    """A LIKE pattern for the strings starting with ``prefix``."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def text_condition(query: Query, table: str, weights: str = "") -> tuple[str, list]:
    """The rows whose words match the query's (where ``weights`` says, when given)."""
    return f'"{table}"."search_vector" @@ to_tsquery(%s::regconfig, %s)', [
        SEARCH_CONFIG,
        tsquery(query.tree, weights),
    ]


# A word as PostgreSQL's parser reads it as one word, whatever the dictionary: its stem is one lexeme.
PLAIN_WORD = re.compile(r"[a-z]+")


def posted_word(query: Query) -> str | None:
    """The word of a query of one whole word, ranked by the word alone (no code, synonym or fallback): such a
    query can be ranked from that word's search postings."""
    tree = query.tree
    if (
        isinstance(tree, Lexeme)
        and not tree.prefix
        and PLAIN_WORD.fullmatch(tree.word)
        and not (query.code_prefix or query.pinned or query.similar)
        and query.boost is None
        and query.fallback == Fallback.ALL
    ):
        return tree.word
    return None


def _posted_condition(query: Query, table: str) -> tuple[str, list]:
    """``text_condition`` over search postings: the rows of the query's word."""
    return f'"{table}"."lexeme" = ANY(tsvector_to_array(to_tsvector(%s::regconfig, %s)))', [
        SEARCH_CONFIG,
        posted_word(query),
    ]


def ranked(queryset: QuerySet, query: Query, *, weights: str = "") -> QuerySet:
    """Codes matching ``query``, best first, annotated with ``match`` and ``bucket`` (the score, in steps)."""
    found = ranking(query, queryset.model._meta.db_table, weights=weights)
    if found is None:
        return queryset.none()
    # Django orders by the select-list positions of these annotations (PostgreSQL computes each once): read
    # the result as model instances (values_list() would drop the columns).
    return _scored(queryset.defer(*HEAVY_COLUMNS), found).order_by("match", "-bucket", "sort_order")


def _scored(queryset: QuerySet, found: Ranking) -> QuerySet:
    """The rows ``found`` keeps, annotated with its ``match`` and ``bucket``."""
    return queryset.filter(RawSQL(*found.where, output_field=BooleanField())).annotate(  # noqa: S611 (bound parameters)
        match=RawSQL(*found.match, output_field=FloatField()),  # noqa: S611 (bound parameters)
        bucket=RawSQL(*found.bucket, output_field=FloatField()),  # noqa: S611 (bound parameters)
    )


def _posted(results: QuerySet, query: Query) -> QuerySet | None:
    """The search postings of ``posted_word(query)``, scored as ``results`` are, when ``results`` are the whole
    code set's (nothing filters them but the query); else None."""
    if posted_word(query) is None or len(results.query.where.children) != 1:
        return None
    postings = apps.get_model("conditions", "SearchPosting").objects.all()
    return _scored(postings, ranking(query, postings.model._meta.db_table, posted=True))


def _similar(query: Query, table: str) -> tuple[tuple[str, list], tuple[str, list]]:
    """(condition, score) of the trigram fallback: titles that look like the query, and codes under an
    inclusion term that does (terms apply to the codes below the level they are written at, as in the
    inclusion text the index holds)."""
    text = query.phrases[0]
    code, ancestors, title = (f'"{table}"."{name}"' for name in ("code", "ancestors", "title"))
    terms = "conditions_note n WHERE n.owner_type = 'code' AND n.kind IN ('inclusion_term', 'includes')"
    alike = f"ARRAY(SELECT n.owner FROM {terms} AND %s <%% upper(n.text))::varchar[]"
    condition = (
        f"(%s <%% upper({title}) OR {code} = ANY({alike}) OR {ancestors} && {alike})",
        [text, text, text],
    )
    # A title alike ranks above an inclusion term as alike, as a title match ranks above a term match.
    score = (
        f"greatest(word_similarity(%s, upper({title})), {SIMILAR_TERM_WEIGHT} * coalesce(("
        f"SELECT max(word_similarity(%s, upper(n.text))) FROM {terms} AND n.owner = ANY({ancestors} || {code})"
        "), 0))",
        [text, text],
    )
    return condition, score


def _text_score(query: Query, table: str, *, posted: bool = False) -> tuple[str, list]:
    """The text match score as one SQL expression: a product of factors, each a CASE over the row's own columns.

    It is computed for every matching row (20,000 for "fracture"), so each factor tests the cheap things
    first and works in float8. Over search postings (``posted``), a row is the query's one word in one code,
    and where the word is found is that row's weight.
    """
    vector, weight, title, code, ancestors, variant, prior = (
        f'"{table}"."{name}"'
        for name in (
            "search_vector",
            "weight",
            "title",
            "code",
            "ancestors",
            "search_variant",
            "search_prior",
        )
    )
    factors, params = [], []

    def factor(sql, *values):
        factors.append(sql)
        params.extend(values)

    def matches(node, weights=""):
        if posted:
            params.append(list(weights))
            return f"{weight} = ANY(%s::varchar[])"
        params.extend([SEARCH_CONFIG, tsquery(node, weights)])
        return f"{vector} @@ to_tsquery(%s::regconfig, %s)"

    # Where the words are: the title (A), else the title and inclusion terms (AB), else anywhere.
    factor(
        f"CASE WHEN {matches(query.tree, 'A')} THEN 4.0::float8"
        f" WHEN {matches(query.tree, 'AB')} THEN 2.0::float8 ELSE 1.0::float8 END"
    )
    # An exact title, else an exact inclusion term, else a title starting with the words. Each test looks at
    # something cheap first: upper() over every row of a common word's matches would cost more than the rest.
    phrases = list(query.phrases)
    # An exact term is "Hay fever" of J30.1, not "hay fever with asthma"; words in parentheses are nonessential
    # modifiers ("Hypertension (arterial) (benign)"). A code's terms are the inclusion term and includes notes
    # of the code and the levels above it (as its inclusion text holds them): resolving found the codes that
    # hold one (``Query.exact``), so a row only looks for its code or an ancestor among them.
    exact = (
        f" WHEN {code} = ANY(%s::varchar[]) OR {ancestors} && %s::varchar[] THEN 2.5::float8"
        if query.exact
        else ""
    )
    starts = " OR ".join(f"lower(left({title}, {len(p)})) = %s" for p in phrases) or "false"
    factor(
        f"CASE WHEN octet_length({title}) = ANY(%s::int[]) AND upper({title}) = ANY(%s::text[]) THEN 3.0::float8"
        f"{exact} WHEN ascii({title}) = ANY(%s::int[]) AND ({starts}) THEN 1.5::float8 ELSE 1.0::float8 END",
        sorted({len(p.encode()) for p in phrases}),
        [p.upper() for p in phrases],
        *([list(query.exact)] * 2 if query.exact else []),
        # The first letter in either case (a letter whose capital is two, as "ß", in its own).
        sorted({ord(c) for p in phrases if p for c in (p[0], p[0].upper()) if len(c) == 1}),
        *phrases,
    )
    factor(prior)
    if query.related:
        factor(
            f"CASE WHEN {code} = ANY(%s::text[]) THEN 3.0::float8 ELSE 1.0::float8 END", list(query.related)
        )
    if query.boost is not None:
        factor(f"CASE WHEN {matches(query.boost, 'AB')} THEN 2.0::float8 ELSE 1.0::float8 END")
    # The stored prior holds each variant's penalty; a query naming the variant lifts it.
    for number, lift in lifted(query.named).items():
        factor(f"CASE WHEN {variant} = %s THEN %s::float8 ELSE 1.0::float8 END", number, lift)
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
# How many of a collapsed family's other matches the results page lists under its row.
FAMILY_LIST = 10
# Codes are at most 8 ASCII characters: one byte each, big-endian, in a bigint (zero bytes after the end).
CODE_BYTES = 8
# The characters of a code that name its family below the subcategories ("S42.4" of "S42.431A").
FAMILY_CHARACTERS = 5


def packed_code(characters: int = CODE_BYTES, *, depth_at_most: int | None = None):
    """A stored column's expression: the code's first ``characters`` as a bigint, one byte each, so that bigints
    sort as the codes do byte by byte and a family is grouped by one number instead of hashing text; with
    ``depth_at_most``, the whole code at that depth or above (categories and subcategories head their own
    family)."""

    def byte(position):
        character = Cast(Ord(Substr("code", position + 1, 1)), BigIntegerField())
        shift = 8 * (CODE_BYTES - 1 - position)
        return character.bitleftshift(shift) if shift else character

    def joined(positions):
        key = None
        for position in positions:
            key = byte(position) if key is None else key.bitor(byte(position))
        return key

    key = joined(range(characters))
    if depth_at_most is None:
        return key
    rest = Case(
        When(depth__lte=depth_at_most, then=joined(range(characters, CODE_BYTES))),
        default=Value(0),
        output_field=BigIntegerField(),
    )
    return key.bitor(rest)


def decoded_key(sql: str) -> str:
    """SQL giving back the code a ``code_key`` bigint holds."""
    return f"encode(rtrim(int8send({sql}), '\\x00'::bytea), 'escape')"


def collapsible(query: Query) -> bool:
    """Word searches collapse families; a code prefix lists everything under it in official order."""
    return not query.is_empty and not query.code_prefix


# One statement gives the page of the collapsed ranking: each large family as its best row, with its size,
# its head (the most specific code above all its matches: the longest existing code both its first and last
# match start with) and its next best matches; every row of a small family; and the totals. The ranking order
# (match, then bucket descending, then official order) is written as one number, ``position``, so that families
# are grouped by hashing rather than sorted: "fracture" matches 20,000 codes, and only the page's rows are
# sorted. Buckets lie within +-1,000 (scores from 1e-9 to e^50) and official order below 1,000,000 (98,505
# entries). Families are grouped by their stored number (``family_key``) and their first and last match taken as
# stored numbers (``code_key``, in byte order: their common beginning is that of all); a row is its ``code_key``
# until the page's rows and their families' listed matches are read back as codes.
# Each family's best row is one of the collapsed list's rows, so the page's rows all rank at or above the
# ``offset + limit``-th best family's best: only the families whose best ranks there (``shown``) have rows on
# the page.
#
# The statement begins in one of two ways, giving ``families``, ``shown`` and ``ranked`` (the rows of at least
# the shown families). Over the code rows, each row is ranked once and kept. Over a word's search postings
# (``posted_word``), the families are grouped as the rows are ranked, and only the shown families' rows (2,500 of
# "fracture"'s 20,000) are ranked again and kept, found by the postings' (word, family) index: keeping 20,000 rows
# to read them again cost more. Over the code rows, ranking twice cost more than keeping the rows.
POSITION = "(round(n.match * 100)::bigint * 10000 + (1000 - n.bucket)::bigint) * 1000000 + n.sort_order"
SHOWN_SQL = """
shown AS MATERIALIZED (
    SELECT * FROM families
    WHERE best <= coalesce((SELECT best FROM families ORDER BY best OFFSET %s LIMIT 1), 9223372036854775807)
),
"""
RANKED_ONCE_SQL = """
WITH ranked AS MATERIALIZED (
    SELECT n.family, n.key, {position} AS position FROM ({ranked}) n
),
families AS (
    SELECT family, count(*) AS size, min(key) AS first, max(key) AS last, min(position) AS best
    FROM ranked GROUP BY family
),
{shown}""".format(position=POSITION, shown=SHOWN_SQL, ranked="{ranked}")
SHOWN_RANKED_AGAIN_SQL = """
WITH families AS MATERIALIZED (
    SELECT n.family, count(*) AS size, min(n.key) AS first, max(n.key) AS last, min({position}) AS best
    FROM ({ranked}) n GROUP BY n.family
),
{shown}ranked AS MATERIALIZED (
    SELECT n.family, n.key, {position} AS position
    FROM ({ranked}) n WHERE n.family = ANY(ARRAY(SELECT family FROM shown))
),
""".format(position=POSITION, shown=SHOWN_SQL, ranked="{ranked}")
COLLAPSE_SQL = """
page AS (
    SELECT {code} AS code, r.family, r.position, f.size, {first} AS first, {last} AS last
    FROM ranked r JOIN shown f USING (family)
    WHERE f.size <= %s OR r.position = f.best
    ORDER BY r.position
    LIMIT %s OFFSET %s
),
members AS MATERIALIZED (
    SELECT m.family, array_agg(m.code ORDER BY m.n) AS codes, array_agg(c.title ORDER BY m.n) AS titles
    FROM (
        SELECT family, {member} AS code, row_number() OVER (PARTITION BY family ORDER BY position) AS n
        FROM ranked WHERE %s AND family IN (SELECT family FROM page WHERE size > %s)
    ) m
    JOIN conditions_code c ON c.code = m.code
    WHERE m.n <= %s
    GROUP BY m.family
),
totals AS (
    SELECT coalesce(sum(CASE WHEN size <= %s THEN size ELSE 1 END), 0) AS rows, coalesce(sum(size), 0) AS codes
    FROM families
)
SELECT p.code, c.title, c.billable, c.chapter_id, ch.title, p.size, head.code, head.title, m.codes, m.titles,
       t.rows, t.codes
FROM totals t
LEFT JOIN (page p JOIN conditions_code c ON c.code = p.code JOIN conditions_chapter ch ON ch.number = c.chapter_id)
    ON true
LEFT JOIN members m ON m.family = p.family
LEFT JOIN LATERAL (
    SELECT h.code, h.title FROM conditions_code h
    WHERE p.size > %s
      AND h.code = ANY(
          ARRAY[left(p.first, 8), left(p.first, 7), left(p.first, 6), left(p.first, 5), left(p.first, 3)]::varchar[]
      )
      AND starts_with(p.last, h.code)
    ORDER BY length(h.code) DESC LIMIT 1
) head ON true
ORDER BY p.position
""".format(
    code=decoded_key("r.key"),
    first=decoded_key("f.first"),
    last=decoded_key("f.last"),
    member=decoded_key("key"),
)


@dataclass(frozen=True, slots=True)
class Listed:
    """One of a collapsed family's other matches as the results page lists it: a link, made for 200 of them per
    page without building a model instance each."""

    code: str
    title: str

    def get_absolute_url(self):
        return code_url(self.code)


def loaded(model, db: str, values: dict):
    """An instance holding only ``values`` (by attribute name), made as a query's rows are (``from_db``, which
    takes them in the model's field order): defaults are not computed for the fields left out."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(db, names, [values[name] for name in names])


def collapsed_page(
    results: QuerySet, query: Query, *, offset: int, limit: int, members: int = 0
) -> tuple[list, int, int]:
    """(rows, how many rows in all, how many codes matched) of the ranked results with each large family
    as its best row, in one statement.

    Ten different conditions fit on a page instead of one family's 48 fracture codes. A row of a large
    family carries ``family_size``, ``family_code`` and ``family_title`` (its head) and, when ``members`` is
    given, ``family_list``: that many of its other matches (``Listed``), best first. Rows are Code instances holding
    what the results show (code, title, billable, chapter number and title).
    """
    if not collapsible(query):
        count = results.count()
        return list(results[offset : offset + limit]), count, count
    model = results.model
    # A query of one word reads that word's postings (the same rows, scored alike).
    scored = _posted(results, query)
    narrow = (results.order_by() if scored is None else scored).values(
        "match", "bucket", "sort_order", family=F("family_key"), key=F("code_key")
    )
    sql, params = narrow.query.sql_with_params()
    # No row of the page ranks below the (offset + limit)-th family's best.
    shown = offset + limit - 1
    if scored is None:
        begin, begin_params = RANKED_ONCE_SQL, (*params, shown)
    else:
        begin, begin_params = SHOWN_RANKED_AGAIN_SQL, (*params, shown, *params)
    size_limit = FAMILY_ROWS
    with connection.cursor() as cursor:
        cursor.execute(
            begin.format(ranked=sql) + COLLAPSE_SQL,
            (
                *begin_params,
                size_limit,
                limit,
                offset,
                members > 0,
                size_limit,
                members + 1,
                size_limit,
                size_limit,
            ),
        )
        found = cursor.fetchall()
    chapter_model, db = model._meta.get_field("chapter").related_model, results.db
    page = []
    for code, title, billable, chapter, chapter_title, size, head, head_title, codes, titles, _, _ in found:
        if code is None:
            continue
        row = loaded(model, db, {"code": code, "title": title, "billable": billable, "chapter_id": chapter})
        row.chapter = loaded(chapter_model, db, {"number": chapter, "title": chapter_title})
        row.family_size = size
        row.family_code, row.family_title = (head, head_title) if size > FAMILY_ROWS else (None, "")
        row.family_list = [
            Listed(member, member_title)
            for member, member_title in zip(codes or (), titles or (), strict=True)
            if member != code
        ][:members]
        page.append(row)
    return page, int(found[0][10]), int(found[0][11])
