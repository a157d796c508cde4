"""What the public pages show, fetched in a small, fixed number of queries; data only, no HTML.

``code_page()`` gathers a code with its ancestors, every official note that
applies to it (its own and those of its ancestors, block and chapter), the
codes under it, its published article and its neighbours in official order.
The HTML page, the JSON API and the admin preview all serialize what it returns.
The number of queries does not depend on how many children or notes there are.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from functools import cached_property

from django.db import connections, router
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce

from . import caching, coding, plain_words
from .addresses import code_url
from .icd10cm import canonical_code
from .images import PHONE_WIDTH
from .models import Article, Block, Chapter, Code, CodeFacts, NextYearCode, Note, RetiredCode
from .models.codes import SEARCH_ONLY_FIELDS

# Above this many codes under it, a code page lists its direct children with
# counts instead of the whole tree (S82 has 3,345 codes under it).
TREE_LIMIT = 300

# Note kinds in the order a coder reads them; the 7th-character note is shown
# with the 7th-character table instead.
NOTE_KIND_ORDER = [kind for kind in Note.Kind if kind != Note.Kind.SEVENTH_CHARACTER_NOTE]


@dataclass
class NoteSource:
    """The notes of one kind written at one level: ``level`` is "self", "category", "code", "block" or "chapter"."""

    level: str
    owner: str
    url: str | None
    notes: list[str] = field(default_factory=list)


@dataclass
class NoteGroup:
    kind: str
    label: str
    sources: list[NoteSource] = field(default_factory=list)


@dataclass
class CodeLink:
    """A code named on a page (its neighbours in official order), linked to its own page."""

    code: str
    title: str

    def get_absolute_url(self):
        return code_url(self.code)


@dataclass
class TreeNode(CodeLink):
    """A code under the page's code, with the codes under it (or, in a large tree, only their ``count``)."""

    billable: bool
    count: int | None = None
    children: list[TreeNode] = field(default_factory=list)


@dataclass(frozen=True)
class NoteRow:
    """An official note as a page reads it (``Note``'s columns without the model around them)."""

    owner_type: str
    owner: str
    kind: str
    position: int
    text: str
    references: dict


@dataclass
class Illustration:
    """The article's image, checked once per page to be really there (never a broken image)."""

    url: str
    srcset: str = ""


@dataclass
class CodePage:
    code: Code
    ancestors: list[Code]
    note_groups: list[NoteGroup]
    references: dict[str, str]
    tree: list[TreeNode]
    tree_is_complete: bool
    descendant_count: int
    billable_descendant_count: int
    seventh_characters: list[tuple[str, str]]
    seventh_source: Code | None
    seventh_notes: list[str]
    seventh_current: str | None
    article: Article | None
    previous: CodeLink | None
    next: CodeLink | None
    illustration: Illustration | None = None
    plain_words: plain_words.PlainWords | None = None
    # The nearest ancestor's article, shown on a code that has none of its own ("About M77.1 ...").
    family_article: Article | None = None
    related_codes: list[Code] | None = None
    # What coders look up (conditions.coding): None before the coding data is imported.
    facts: CodeFacts | None = None

    def __post_init__(self):
        if self.illustration is None:
            self.illustration = article_illustration(self.shown_article)
        if self.related_codes is None:
            self.related_codes = article_related_codes(self.shown_article)

    @property
    def shown_article(self):
        return self.article or self.family_article

    @property
    def chapter(self):
        return self.code.chapter

    @property
    def block(self):
        return self.code.block

    @cached_property
    def coding(self):
        """What coders look up beside the code (see ``conditions.coding``), or None before it is imported."""
        return coding.describe(self.facts, billable=self.code.billable)

    def with_article(self, article):
        """The same page showing ``article`` (the admin preview of a draft)."""
        self.article = article
        self.illustration = article_illustration(article)
        self.related_codes = article_related_codes(article)
        return self


def article_related_codes(article):
    """The codes the article names as related, in official order (a query only when there are some)."""
    wanted = article.related_code_list if article else []
    return list(Code.objects.filter(code__in=wanted).order_by("sort_order")) if wanted else []


def article_illustration(article):
    """The article's illustration and its phone-size copy, when their files exist (at most two checks)."""
    image = article.illustration if article else None
    if not image or not image.storage.exists(image.name):
        return None
    small = article.illustration_small
    srcset = ""
    if small and article.illustration_width and small.storage.exists(small.name):
        srcset = f"{small.url} {PHONE_WIDTH}w, {image.url} {article.illustration_width}w"
    return Illustration(url=image.url, srcset=srcset)


def code_page(code_string):
    """Everything the page of ``code_string`` (canonical form) shows; raises Code.DoesNotExist."""
    found = _page_rows(code_string)
    if found is None:
        raise Code.DoesNotExist(code_string)
    code, ancestors, notes, facts, neighbours, tree_rows = found
    chapters, blocks = caching.per_version("headings", _all_headings, otherwise=lambda: _headings_of(code))
    code.chapter, code.block = chapters[code.chapter_id], blocks[code.block_id]
    tree, complete, total, billable = _code_tree(code, tree_rows)
    seventh_source = next((c for c in [code, *reversed(ancestors)] if c.seventh_characters), None)
    seventh_current = _seventh_character(code, seventh_source)
    article, family_article = _articles(code, ancestors)
    return CodePage(
        code=code,
        ancestors=ancestors,
        note_groups=_note_groups(_code_note_sources(code, ancestors), notes),
        references=note_references(notes),
        tree=tree,
        tree_is_complete=complete,
        descendant_count=total,
        billable_descendant_count=billable,
        seventh_characters=[tuple(pair) for pair in seventh_source.seventh_characters]
        if seventh_source
        else [],
        seventh_source=seventh_source,
        seventh_notes=[note.text for note in notes if note.kind == Note.Kind.SEVENTH_CHARACTER_NOTE],
        seventh_current=seventh_current,
        article=article,
        family_article=family_article,
        plain_words=_plain_words(code, ancestors, notes, seventh_source, seventh_current, billable),
        facts=facts,
        **neighbours,
    )


@dataclass
class RetiredPage:
    """A code an earlier release had and FY2026 does not: when it was valid and where to go instead."""

    retired: RetiredCode
    replacements: list[Code]
    nearest: list[Code]


def code_exists(code_string):
    """Whether ``code_string`` has a page: a FY2026 code, or a retired one."""
    return (
        Code.objects.filter(code=code_string).exists()
        or RetiredCode.objects.filter(code=code_string).exists()
    )


def retired_page(code_string):
    """The page of a deleted code; raises RetiredCode.DoesNotExist."""
    retired = RetiredCode.objects.get(code=code_string)
    replacements = list(Code.objects.filter(code__in=retired.replaced_by).order_by("sort_order"))
    return RetiredPage(
        retired=retired,
        replacements=replacements,
        nearest=[] if replacements else nearest_codes(code_string),
    )


def pdx_collection(collection, code_text=""):
    """A PDX collection's codes in official order, and the CC or MCC the visitor came from when it uses it."""
    codes = (
        Code.objects.filter(code__in=collection.codes)
        .order_by("sort_order")
        .only("code", "title", "billable")
    )
    canonical = canonical_code(code_text)
    source = (
        Code.objects.filter(code=canonical, facts__pdx_collection=collection.number)
        .select_related("facts")
        .first()
        if canonical
        else None
    )
    return {"collection": collection, "codes": codes, "source": source}


def next_release_changes():
    """What the next release (FY2027) adds and deletes, as far as the packages tell it.

    Additions are grouped under the current code they will sit below (their titles are not published in
    a package yet); deletions are the billable codes it no longer accepts, with their replacements.
    """
    added = list(NextYearCode.objects.all())
    under = {}
    for entry in added:
        under.setdefault(entry.parent, []).append(entry.code)
    parents = Code.objects.filter(code__in=[parent for parent in under if parent]).order_by("sort_order")
    deleted = (
        Code.objects.filter(billable=True)
        .exclude(facts__billable_years__contains=[coding.NEXT_YEAR])
        .select_related("facts")
        .order_by("sort_order")
    )
    return {
        "fiscal_year": coding.NEXT_YEAR,
        "added_count": len(added),
        "added": [(parent, under[parent.code]) for parent in parents],
        "new_categories": under.get("", []),
        "deleted": deleted,
        "source": coding.SOURCES["next_year"],
    }


def _articles(code, ancestors):
    """The code's own published article, else the nearest ancestor's, in one query: (own, family).

    No query at all for a code whose lineage has no article (most codes).
    """
    lineage = {c.code: c.depth for c in [*ancestors, code]}
    if lineage.keys().isdisjoint(caching.per_version("article-codes", _codes_with_articles)):
        return None, None
    found = sorted(
        Article.objects.published()
        .filter(code_id__in=lineage)
        .select_related("code")
        .prefetch_related("sources"),
        key=lambda a: lineage[a.code_id],
    )
    if found and found[-1].code_id == code.code:
        return found[-1], None
    return None, (found[-1] if found else None)


def _codes_with_articles():
    """Codes with a published article, including one scheduled for later (a superset of what is visible)."""
    return frozenset(
        Article.objects.filter(status=Article.Status.PUBLISHED, revision_of=None).values_list(
            "code_id", flat=True
        )
    )


def _plain_words(code, ancestors, notes, seventh_source, seventh_current, billable_below):
    """Everyday words for the code from its official text (conditions.plain_words)."""
    terms_by_owner = {}
    for note in notes:
        if note.kind == Note.Kind.INCLUSION_TERM and note.owner_type == Note.Owner.CODE:
            terms_by_owner.setdefault(note.owner, []).append(note.text)
    owner = next((c.code for c in [code, *reversed(ancestors)] if c.code in terms_by_owner), "")
    seventh = None
    if seventh_current:
        seventh = (
            seventh_current,
            dict(map(tuple, seventh_source.seventh_characters)).get(seventh_current, ""),
        )
    return plain_words.explain(
        levels=[*ancestors, code],
        billable=code.billable,
        seventh=seventh,
        needs_seventh=seventh_source is not None and seventh_current is None,
        inclusion_terms=terms_by_owner.get(owner, []),
        inclusion_from="" if owner == code.code else owner,
        chapter_number=code.chapter_id,
        billable_below=billable_below,
    )


def page_context(request, page):
    """The template context of a code page, for the public view and the admin preview alike."""
    return {
        "page": page,
        "code": page.code,
        "canonical_url": request.build_absolute_uri(page.code.get_absolute_url()),
    }


def _seventh_character(code, source):
    """The 7th character of a code formed with one (S72.001A -> A), else None."""
    if source is None or source is code or len(code.code.replace(".", "")) != 7:
        return None
    return code.code[-1]


def _code_tree(code, rows):
    """The codes under ``code`` as nested nodes, or its direct children with counts when there are many.

    ``rows`` are the first ``TREE_LIMIT + 1`` codes under it (code, title, billable, depth) in official order.
    Returns (nodes, whether the whole tree is shown, codes under it, billable codes under it).
    """
    if len(rows) <= TREE_LIMIT:
        return _nest(rows, code.depth), True, len(rows), sum(1 for row in rows if row[2])
    # Group every code below by the child it sits under: ancestors[depth] is that child.
    counts = {
        row["child"]: row
        for row in Code.objects.descendants_of(code)
        .filter(depth__gt=code.depth + 1)
        .order_by()
        .values(child=F(f"ancestors__{code.depth}"))
        .annotate(total=Count("code"), billable=Count("code", filter=Q(billable=True)))
    }
    children = list(code.children.order_by("sort_order").values_list("code", "title", "billable"))
    nodes = [
        TreeNode(child, title, is_billable, count=counts.get(child, {"total": 0})["total"])
        for child, title, is_billable in children
    ]
    total = len(children) + sum(row["total"] for row in counts.values())
    billable = sum(1 for row in children if row[2]) + sum(row["billable"] for row in counts.values())
    return nodes, False, total, billable


def _nest(rows, top_depth):
    """Rows in official (depth-first) order -> the nodes directly under the code, each holding its own."""
    roots, path = [], []
    for code, title, billable, depth in rows:
        node = TreeNode(code, title, billable)
        level = depth - top_depth
        del path[level - 1 :]
        (path[-1].children if path else roots).append(node)
        path.append(node)
    return roots


# A code page's rows are read in one query written in SQL, each part as JSON: building these queries with the ORM
# cost more CPU than running them, and each query more again (a round trip, a cursor, model rows). The parts:
# the code and its ancestors (category first; the columns a page reads), the notes that apply (its
# chapter's, its block's, its own and its ancestors'), its coding data, its neighbours in official order and,
# unless it is billable (no codes under it), the first TREE_LIMIT + 1 codes under it.
_LINEAGE_FIELDS = [f for f in Code._meta.concrete_fields if f.name not in SEARCH_ONLY_FIELDS]
_LINEAGE_ATTNAMES = [f.attname for f in _LINEAGE_FIELDS]
_FACTS_FIELDS = CodeFacts._meta.concrete_fields
_FACTS_ATTNAMES = [f.attname for f in _FACTS_FIELDS]
_NOTE_COLUMNS = [f.name for f in NoteRow.__dataclass_fields__.values()]
PAGE_SQL = f"""
WITH own AS (
    SELECT code, ancestors || code AS lineage, chapter_id, block_id, sort_order, billable
    FROM {Code._meta.db_table} WHERE code = %s
)
SELECT
    (SELECT json_agg(json_build_array({", ".join(f"c.{f.column}" for f in _LINEAGE_FIELDS)}) ORDER BY c.depth)
     FROM {Code._meta.db_table} c WHERE c.code = ANY(own.lineage::varchar[])),
    (SELECT json_agg(json_build_array({", ".join(f"n.{column}" for column in _NOTE_COLUMNS)})
                     ORDER BY n.kind, n.position)
     FROM {Note._meta.db_table} n
     WHERE (n.owner_type = '{Note.Owner.CHAPTER}' AND n.owner = own.chapter_id::text)
        OR (n.owner_type = '{Note.Owner.BLOCK}' AND n.owner = own.block_id)
        OR (n.owner_type = '{Note.Owner.CODE}' AND n.owner = ANY(own.lineage::varchar[]))),
    (SELECT row_to_json(f) FROM {CodeFacts._meta.db_table} f WHERE f.{CodeFacts._meta.pk.column} = own.code),
    (SELECT json_build_array(p.code, p.title) FROM {Code._meta.db_table} p
     WHERE p.sort_order < own.sort_order ORDER BY p.sort_order DESC LIMIT 1),
    (SELECT json_build_array(x.code, x.title) FROM {Code._meta.db_table} x
     WHERE x.sort_order > own.sort_order ORDER BY x.sort_order LIMIT 1),
    CASE WHEN NOT own.billable THEN
        (SELECT json_agg(json_build_array(t.code, t.title, t.billable, t.depth) ORDER BY t.sort_order)
         FROM (SELECT code, title, billable, depth, sort_order FROM {Code._meta.db_table}
               WHERE ancestors @> ARRAY[own.code]::varchar[] ORDER BY sort_order LIMIT {TREE_LIMIT + 1}) t)
    END
FROM own
"""


# Planning that statement costs PostgreSQL more than running it: each connection prepares it once (a prepared
# statement lasts as long as its connection, whatever the transactions do), then only executes it.
PREPARE_PAGE_SQL = "PREPARE icdsite_code_page(varchar) AS " + PAGE_SQL.replace("%s", "$1")
_prepared = weakref.WeakSet()  # the psycopg connections that hold it


def _page_rows(code_string):
    """(code, ancestors, notes, coding data, neighbours, rows under it) of one code in one query, or None."""
    alias = router.db_for_read(Code)
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.connection not in _prepared:
            cursor.execute(PREPARE_PAGE_SQL)
            _prepared.add(connection.connection)
        cursor.execute("EXECUTE icdsite_code_page(%s)", [code_string])
        row = cursor.fetchone()
    if row is None:
        return None
    lineage, notes, facts, previous, following, tree_rows = row
    codes = [Code.from_db(alias, _LINEAGE_ATTNAMES, values) for values in lineage]
    return (
        codes[-1],
        codes[:-1],
        [NoteRow(*values) for values in notes or []],
        _facts(alias, facts) if facts else None,
        {
            "previous": CodeLink(*previous) if previous else None,
            "next": CodeLink(*following) if following else None,
        },
        [tuple(values) for values in tree_rows or []],
    )


def _facts(alias, columns):
    """A CodeFacts row from its columns as JSON (every field is a JSON type: text, numbers, arrays, JSON)."""
    return CodeFacts.from_db(alias, _FACTS_ATTNAMES, [columns[f.column] for f in _FACTS_FIELDS])


def headings():
    """(chapters, blocks) by key, in official order, read once per content version in this process while a
    public page or a kept search answer is computed."""
    return caching.per_version("headings", _all_headings)


def _all_headings():
    """Every chapter and block by key: the page of any code finds its own here (they change only on import)."""
    return (
        {chapter.pk: chapter for chapter in Chapter.objects.defer("search_vector")},
        {block.pk: block for block in Block.objects.defer("search_vector")},
    )


def _headings_of(code):
    """The chapter and block of one code, read for the one request (outside a public page)."""
    return (
        {code.chapter_id: Chapter.objects.defer("search_vector").get(pk=code.chapter_id)},
        {code.block_id: Block.objects.defer("search_vector").get(pk=code.block_id)},
    )


def note_references(notes):
    """The codes, blocks and chapter ranges the notes name that exist, so no link leads to a 404.

    Returns {reference: target}: a code or block maps to itself, a chapter's range to the chapter number.
    The import stores each note's own (``conditions.derived``), so this costs no query.
    """
    known = {}
    for note in notes:
        known.update(note.references)
    return known


def _code_note_sources(code, ancestors):
    """Where a code's notes can come from, nearest first: (owner type, owner, level, url)."""
    sources = [("code", code.code, "self", None)]
    for ancestor in reversed(ancestors):
        level = "category" if ancestor.is_category else "code"
        sources.append(("code", ancestor.code, level, ancestor.get_absolute_url()))
    sources.append(("block", code.block_id, "block", code.block.get_absolute_url()))
    sources.append(("chapter", code.chapter_id, "chapter", code.chapter.get_absolute_url()))
    return sources


def _note_groups(sources, notes):
    """Notes grouped by kind; within a kind, in the order of ``sources`` (this code's own first, ... the chapter's)."""
    rank = {(owner_type, owner): i for i, (owner_type, owner, _, _) in enumerate(sources)}
    by_kind = {}
    for note in notes:
        by_kind.setdefault(note.kind, []).append(note)
    groups = []
    for kind in NOTE_KIND_ORDER:
        kind_notes = sorted(by_kind.get(kind, []), key=lambda n: (rank[(n.owner_type, n.owner)], n.position))
        if not kind_notes:
            continue
        group = NoteGroup(kind=kind.value, label=kind.label)
        for note in kind_notes:
            _, owner, level, url = sources[rank[(note.owner_type, note.owner)]]
            if not group.sources or group.sources[-1].owner != owner or group.sources[-1].level != level:
                group.sources.append(NoteSource(level=level, owner=owner, url=url))
            group.sources[-1].notes.append(note.text)
        groups.append(group)
    return groups


@dataclass
class HeadingNotes:
    """A chapter's or block's own notes, with the references they name (one query)."""

    note_groups: list[NoteGroup]
    references: dict[str, str]


def heading_notes(owner_type, owner):
    notes = list(Note.objects.filter(owner_type=owner_type, owner=owner).order_by("kind", "position"))
    groups = _note_groups([(owner_type, owner, "self", None)], notes)
    return HeadingNotes(note_groups=groups, references=note_references(notes))


@dataclass
class BlockNode:
    """A block of a chapter with the blocks it groups (M00-M25 Arthropathies holds M00-M02, ...)."""

    block: Block
    children: list[BlockNode] = field(default_factory=list)


def block_tree(blocks):
    """Blocks in official order nested under the heading blocks whose range holds them."""
    roots, path = [], []
    for block in blocks:
        start, end = _range_ends(block.code_range)
        while path and not (
            _range_ends(path[-1].block.code_range)[0] <= start
            and end <= _range_ends(path[-1].block.code_range)[1]
        ):
            path.pop()
        node = BlockNode(block)
        (path[-1].children if path else roots).append(node)
        path.append(node)
    return roots


def chapter_blocks(chapter):
    """The chapter's blocks in official order, each with how many codes and billable codes it holds."""
    return chapter.blocks.order_by("sort_order")


def _range_ends(code_range):
    start, _, end = code_range.partition("-")
    return start, end or start


def sub_blocks(block):
    """The blocks a heading block such as M00-M25 (Arthropathies) groups; none for an ordinary block."""
    start, end = _range_ends(block.code_range)
    inside = []
    for other in chapter_blocks(block.chapter):
        other_start, other_end = _range_ends(other.code_range)
        if other.pk != block.pk and start <= other_start and other_end <= end:
            inside.append(other)
    return inside


def block_categories(block):
    """The block's categories in official order, each with how many codes and billable codes lie under it."""
    counts = {
        row["category"]: row
        for row in Code.objects.filter(block=block, depth__gt=1)
        .values(category=F("ancestors__0"))
        .annotate(total=Count("code"), billable=Count("code", filter=Q(billable=True)))
    }
    categories = list(block.codes.filter(depth=1).order_by("sort_order"))
    for category in categories:
        row = counts.get(category.code, {"total": 0, "billable": 0})
        category.code_count = row["total"]
        category.billable_count = row["billable"] + (1 if category.billable else 0)
    return categories


def home_chapters():
    return Chapter.objects.order_by("sort_order")


def recent_articles(limit=6):
    return (
        Article.objects.published()
        .select_related("code")
        .order_by(Coalesce("publish_at", "updated_at").desc())[:limit]
    )


def nearest_codes(text, limit=8):
    """Existing codes closest to whatever a visitor typed, in official order.

    The longest prefix of the normalised text that more than one code starts
    with: for M61.299 that is M61.2 and the codes under it, not M61.29 alone.
    """
    compact = re.sub(r"[^0-9A-Z]", "", str(text).upper())[:7]
    single = []
    for length in range(len(compact), 0, -1):
        prefix = compact[:length]
        dotted = prefix if length <= 3 else f"{prefix[:3]}.{prefix[3:]}"
        found = list(Code.objects.filter(code__startswith=dotted).order_by("sort_order")[:limit])
        if len(found) > 1:
            return found
        single = single or found
    return single


def saved_codes(raw, limit=100):
    """Codes named in a comma-separated list, looked up for the saved-codes page; unknown ones listed apart."""
    wanted = []
    for item in str(raw).split(",")[:limit]:
        canonical = canonical_code(item)
        if canonical and canonical not in wanted:
            wanted.append(canonical)
    found = {c.code: c for c in Code.objects.filter(code__in=wanted)}
    return [found[c] for c in wanted if c in found], [c for c in wanted if c not in found]
