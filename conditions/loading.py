"""Load parsed ICD-10-CM records into PostgreSQL in one transaction.

Rows are copied into temporary tables with COPY, then merged into the real
tables: new rows inserted, changed rows updated, rows the release no longer
has deleted. Unchanged rows are not written at all, so importing the same
file twice changes nothing. A release that would retire more than
``RETIRE_LIMIT`` of the codes is refused unless allowed; a dry run counts
and names what would change and writes nothing. Editor content refers to
codes by their official string and is never deleted here: articles of
retired codes are reported, and what code rows derive from editor content
is rebuilt at the end of each import.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from . import code_history, coding_sources, derived, icd10cm, indexing, references
from .indexing import official_text_update, refresh_article_text, refresh_search_words
from .models import (
    Article,
    Block,
    Chapter,
    Code,
    CodeFacts,
    Icd9Code,
    ImportState,
    NextYearCode,
    Note,
    PdxCollection,
    RetiredCode,
    SearchWord,
    Synonym,
)

Progress = Callable[[str, int, int], None]


# COPY takes text: arrays and JSON are written as their text here, since psycopg's
# adaptation of Python lists costs more per row than everything else in it.
def _array_text(values) -> str:
    """A PostgreSQL array literal of ints or strings (strings always quoted, so none reads as NULL)."""
    return (
        "{"
        + ",".join(
            str(v) if isinstance(v, int) else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        )
        + "}"
    )


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ("{}" if isinstance(value, dict) else "[]")


# (model, key columns, data columns) in the order rows must be merged.
# The searchable text a code row holds (conditions.indexing) is staged with it:
# a row is written once, with its text, and a release that changes only a
# code's inherited notes rewrites its text without counting it as changed.
DERIVED_COLUMNS = {Code: ["inclusion_text", "notes_text"]}
TABLES = (
    (Chapter, ["number"], ["title", "code_range", "sort_order"]),
    (Block, ["block_id"], ["chapter_id", "title", "code_range", "sort_order"]),
    (
        Code,
        ["code"],
        [
            "title",
            "chapter_id",
            "block_id",
            "parent_id",
            "ancestors",
            "depth",
            "sort_order",
            "billable",
            "placeholder",
            "seventh_characters",
        ],
    ),
    (Note, ["owner_type", "owner", "kind", "position"], ["text"]),
)


# A release that would retire more than this share of the codes present is
# refused unless the caller allows it: a partial but well-formed file (one
# chapter) would otherwise silently remove most of the code set.
RETIRE_LIMIT = 0.05
# How many added, changed and retired keys a summary names per table.
EXAMPLES = 5


@dataclass
class ImportSummary:
    counts: Counter = field(default_factory=Counter)
    inserted: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    deleted: Counter = field(default_factory=Counter)
    # table -> {"added" | "changed" | "retired": first keys, in key order}
    examples: dict = field(default_factory=dict)
    codes_before: int = 0
    # Editor content whose code the release retires: kept, and named here.
    retired_articles: list = field(default_factory=list)  # (code, title, status)
    retired_synonyms: list = field(default_factory=list)  # (term, code)
    # Code rows whose article text and flag the import rebuilt.
    rebuilt: int = 0
    dry_run: bool = False
    written: bool = False  # False for a dry run or a refused import: the counts are a plan
    # The release was already imported and the tables are intact: nothing was parsed or written.
    unchanged: bool = False
    refused: bool = False  # the release retires too much (a dry run tells, an import raises)
    seconds: float = 0.0
    phases: dict = field(default_factory=dict)  # phase -> seconds, in the order they ran

    @property
    def changed(self) -> bool:
        return any(self.inserted.values()) or any(self.updated.values()) or any(self.deleted.values())

    @property
    def retired_codes(self) -> int:
        return self.deleted[Code._meta.db_table]

    @property
    def retired_share(self) -> float:
        return self.retired_codes / self.codes_before if self.codes_before else 0.0


@contextmanager
def timed(phases: dict, name: str):
    """Add the seconds the block takes to ``phases[name]`` (the import's figures for bench/)."""
    started = time.monotonic()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.monotonic() - started


class RetireRefused(Exception):
    """The release would retire more than ``RETIRE_LIMIT`` of the codes; nothing was written."""

    def __init__(self, summary: ImportSummary):
        self.summary = summary
        super().__init__(
            f"This release would retire {summary.retired_codes} of {summary.codes_before} codes "
            f"({summary.retired_share:.1%}), more than the {RETIRE_LIMIT:.0%} limit. Check that the "
            "file is a complete release, or allow it with --allow-retire."
        )


def _rows(records):
    """Split parser records into rows per table, with each code's ancestor chain."""
    rows = {model: [] for model, _, _ in TABLES}
    ancestors: dict[str, list[str]] = {}
    codes = sorted((r for r in records if isinstance(r, icd10cm.Code)), key=lambda r: r.sort_order)
    for record in records:
        if isinstance(record, icd10cm.Chapter):
            rows[Chapter].append((record.number, record.title, record.code_range, record.sort_order))
            rows[Note].extend(("chapter", record.number, n.kind, n.position, n.text) for n in record.notes)
        elif isinstance(record, icd10cm.Block):
            rows[Block].append(
                (record.block_id, record.chapter, record.title, record.code_range, record.sort_order)
            )
            rows[Note].extend(("block", record.block_id, n.kind, n.position, n.text) for n in record.notes)
    for record in codes:  # official order: a parent always comes before its children
        chain = [*ancestors[record.parent], record.parent] if record.parent else []
        ancestors[record.code] = chain
        rows[Code].append(
            (
                record.code,
                record.title,
                record.chapter,
                record.block,
                record.parent,
                _array_text(chain),
                record.depth,
                record.sort_order,
                record.billable,
                record.placeholder,
                _json_text([list(pair) for pair in record.seventh_characters]),
            )
        )
        rows[Note].extend(("code", record.code, n.kind, n.position, n.text) for n in record.notes)
    return rows


def _staging_table(model) -> str:
    return f"staging_{model._meta.db_table}"


class _Sql:
    """The SQL that compares one table with its staged release rows, shared by the plan and the merge."""

    def __init__(self, model, keys, columns):
        derived = DERIVED_COLUMNS.get(model, [])
        self.table = model._meta.db_table
        self.staging = _staging_table(model)
        self.columns = [*keys, *columns, *derived]
        self.column_list = ", ".join(self.columns)
        self.official_list = ", ".join([*keys, *columns])  # what the release file gives (COPY)
        self.keys = ", ".join(keys)
        self.assignments = ", ".join(f"{c} = s.{c}" for c in [*columns, *derived])
        join = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in columns)
        # Rows the release no longer has (t), rows it changes (t with s), rows it adds (s).
        self.retired = f"{self.table} t WHERE NOT EXISTS (SELECT 1 FROM {self.staging} s WHERE {join})"
        self.changed_where = f"{join} AND ({differs})"
        self.added = f"{self.staging} s WHERE NOT EXISTS (SELECT 1 FROM {self.table} t WHERE {join})"
        # Rows whose official columns are the same but whose derived text differs.
        self.derived_where = (
            f"{join} AND ({' OR '.join(f't.{c} IS DISTINCT FROM s.{c}' for c in derived)})" if derived else ""
        )
        self.derived_assignments = ", ".join(f"{c} = s.{c}" for c in derived)


def _stage(cursor, model, keys, columns, rows) -> None:
    """Copy the release's rows of one table into a temporary table beside it."""
    sql = _Sql(model, keys, columns)
    # Dropped first: inside an outer transaction (tests) the previous import's table still exists.
    cursor.execute(f"DROP TABLE IF EXISTS {sql.staging}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {sql.staging} ON COMMIT DROP AS "
        f"SELECT {sql.column_list} FROM {sql.table} WITH NO DATA"
    )
    with cursor.copy(f"COPY {sql.staging} ({sql.official_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    # Temporary tables are never analysed by autovacuum: without statistics the joins below plan badly.
    cursor.execute(f"ANALYZE {sql.staging}")


def _plan(cursor, model, keys, columns, summary: ImportSummary) -> None:
    """Count (and name the first of) the rows the merge would add, change and retire; writes nothing."""
    sql = _Sql(model, keys, columns)
    changed = f"{sql.table} t JOIN {sql.staging} s ON {sql.changed_where}"
    keys_of = ", ".join(f"t.{k}" for k in keys)
    examples = summary.examples.setdefault(sql.table, {})
    for label, source, counter, select in (
        ("added", sql.added, summary.inserted, sql.keys),
        ("changed", changed, summary.updated, keys_of),
        ("retired", sql.retired, summary.deleted, sql.keys),
    ):
        # One scan gives both the first keys and the count of all.
        cursor.execute(f"SELECT {select}, count(*) OVER () FROM {source} ORDER BY {select} LIMIT {EXAMPLES}")
        found = cursor.fetchall()
        counter[sql.table] = found[0][-1] if found else 0
        examples[label] = [" ".join(str(part) for part in row[:-1]) for row in found]


def _retired_content(cursor, summary: ImportSummary) -> None:
    """Name the articles and synonyms whose code the release retires (they are kept, never deleted)."""
    codes = _Sql(Code, ["code"], []).retired
    cursor.execute(
        f"SELECT a.code_id, a.title, a.status FROM {Article._meta.db_table} a "
        f"WHERE a.code_id IN (SELECT t.code FROM {codes}) ORDER BY a.code_id"
    )
    summary.retired_articles = cursor.fetchall()
    cursor.execute(
        f"SELECT y.term, y.code_id FROM {Synonym._meta.db_table} y "
        f"WHERE y.code_id IN (SELECT t.code FROM {codes}) ORDER BY y.term"
    )
    summary.retired_synonyms = cursor.fetchall()


def _merge(cursor, model, keys, columns, summary: ImportSummary) -> None:
    """Apply the staged release to one table: retire, update, add."""
    sql = _Sql(model, keys, columns)
    cursor.execute(f"DELETE FROM {sql.retired}")
    summary.deleted[sql.table] = cursor.rowcount
    cursor.execute(
        f"UPDATE {sql.table} t SET {sql.assignments} FROM {sql.staging} s WHERE {sql.changed_where}"
    )
    summary.updated[sql.table] = cursor.rowcount
    if sql.derived_where:
        cursor.execute(
            f"UPDATE {sql.table} t SET {sql.derived_assignments} FROM {sql.staging} s WHERE {sql.derived_where}"
        )
    cursor.execute(
        f"INSERT INTO {sql.table} ({sql.column_list}) SELECT {sql.column_list} FROM {sql.added} ORDER BY {sql.keys}"
    )
    summary.inserted[sql.table] = cursor.rowcount
    cursor.execute(f"DROP TABLE {sql.staging}")


def rebuild_derived_state() -> int:
    """Recompute what the code rows hold from editor content: each published article's text and flag.

    A release that retires a code and a later one that brings it back
    re-create the row empty; this puts the article back into search and the
    "has article" filter. Editors' synonyms are applied at query time and
    need nothing here. Returns how many code rows changed (only those are
    written).
    """
    return refresh_article_text()


def import_tabular(
    source: Path | str | None = None,
    *,
    code_list: Path | str | None = None,
    progress: Progress | None = None,
    allow_retire: bool = False,
    dry_run: bool = False,
    meanwhile: Callable[[], object] | None = None,
) -> ImportSummary:
    """Import a CMS tabular XML file (default: the April 1 2026 release).

    Raises ``icd10cm.SourceError`` before touching the database when the file
    cannot be read, and ``RetireRefused`` (having written nothing) when the
    release would retire more than ``RETIRE_LIMIT`` of the codes and
    ``allow_retire`` is off; any other failure rolls the whole import back.
    With ``dry_run`` the summary tells what the import would do (and whether
    it would be refused) and nothing is written. ``meanwhile`` is called once
    the rows are staged, when the rest is PostgreSQL's work (the command starts
    reading the coding data's files in a thread there).
    """
    started = time.monotonic()
    report = progress or (lambda stage, done, total: None)
    if source is None:
        source = icd10cm.default_tabular_path()
        code_list = code_list or icd10cm.default_code_list_path()
    summary = ImportSummary(dry_run=dry_run)
    phases = summary.phases
    fingerprint = None
    if not dry_run and isinstance(source, (str, Path)) and Path(source).is_file():
        with timed(phases, "fingerprint"), connection.cursor() as cursor:
            fingerprint = code_set_fingerprint(source, code_list)
            state = ImportState.objects.filter(name=CODE_SET_STATE, sources=fingerprint).first()
            if state and json.loads(state.contents) == code_set_contents(cursor):
                return _unchanged(summary, started)
    valid = set(icd10cm.read_code_list(code_list)) if code_list else None
    with timed(phases, "read XML"):
        records = []
        for record in icd10cm.parse(source, valid_codes=valid):
            records.append(record)
            if len(records) % 5000 == 0:
                report("read", len(records), 0)
    if not any(isinstance(r, icd10cm.Chapter) for r in records):
        raise icd10cm.SourceError(f"{source}: holds no chapters")
    with timed(phases, "rows"):
        rows = _rows(records)
        for record in records:
            summary.counts[type(record).__name__.lower()] += 1
            if isinstance(record, icd10cm.Code):
                summary.counts["billable"] += record.billable
    with transaction.atomic(), connection.cursor() as cursor:
        # Rows reference each other (a code its parent, block and chapter):
        # check those constraints once, at the end of the transaction.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        summary.codes_before = Code.objects.count()
        with timed(phases, "stage (COPY)"):
            for model, keys, columns in TABLES:
                _stage(cursor, model, keys, columns, rows[model])
        if meanwhile is not None:
            meanwhile()
        with timed(phases, "searchable text"):
            # The codes' searchable text, from the staged notes (the tables are staged in merge order).
            cursor.execute(official_text_update(_staging_table(Code), _staging_table(Note)))
        with timed(phases, "plan"):
            for model, keys, columns in TABLES:
                _plan(cursor, model, keys, columns, summary)
            _retired_content(cursor, summary)
        summary.refused = summary.retired_share > RETIRE_LIMIT and not allow_retire
        if summary.refused and not dry_run:
            raise RetireRefused(summary)
        if dry_run:
            transaction.set_rollback(True)  # the staging tables go with it
        else:
            _apply(cursor, rows, summary, report)
            if fingerprint:
                _record_state(CODE_SET_STATE, fingerprint, code_set_contents(cursor))
    summary.seconds = time.monotonic() - started
    return summary


# The import state row of the code set (chapters, blocks, codes, notes and the search words).
CODE_SET_STATE = "code set"


def code_set_fingerprint(source, code_list) -> str:
    """A digest of the release files and of the code that turns them into rows (and the pages' data)."""
    digest = hashlib.sha256()
    code = [module.__file__ for module in (icd10cm, indexing, derived, references)]
    for path in (__file__, *code, source, code_list):
        digest.update(hashlib.sha256(Path(path).read_bytes() if path else b"").digest())
    return digest.hexdigest()


def code_set_contents(cursor) -> dict:
    """Rows and a digest of the official columns per table (not what articles add to code rows)."""
    columns = {
        model._meta.db_table: [*keys, *data, *DERIVED_COLUMNS.get(model, [])] for model, keys, data in TABLES
    }
    # What the import derives from them for the pages (conditions.derived) must be intact too.
    columns[Chapter._meta.db_table] += ["code_count", "billable_count"]
    columns[Block._meta.db_table] += ["code_count", "billable_count"]
    columns[Note._meta.db_table].append('"references"')
    columns[SearchWord._meta.db_table] = ["word", "stem", "documents"]
    return _contents(cursor, columns)


def _contents(cursor, columns: dict) -> dict:
    """Per table: rows, and the sum of a hash of each row's text (any row emptied or changed shows)."""
    contents = {}
    for table, names in columns.items():
        row = f"ROW({', '.join(names)})" if names else "t"
        cursor.execute(
            f"SELECT count(*), coalesce(sum(hashtext({row}::text)::bigint), 0)::bigint FROM {table} t"
        )
        contents[table] = list(cursor.fetchone())
    return contents


def _record_state(name: str, fingerprint: str, contents: dict) -> None:
    ImportState.objects.update_or_create(
        name=name,
        defaults={"sources": fingerprint, "contents": json.dumps(contents), "written_at": timezone.now()},
    )


def _unchanged(summary: ImportSummary, started: float) -> ImportSummary:
    """The summary of an import that found the release already imported and the tables intact."""
    summary.unchanged = True
    summary.counts.update(
        chapter=Chapter.objects.count(),
        block=Block.objects.count(),
        code=Code.objects.count(),
        billable=Code.objects.filter(billable=True).count(),
    )
    summary.codes_before = summary.counts["code"]
    with timed(summary.phases, "checks and articles"), transaction.atomic():
        summary.rebuilt = rebuild_derived_state()  # articles published since are the editors' business
    summary.seconds = time.monotonic() - started
    return summary


@contextmanager
def _built_once(cursor, model, phases: dict):
    """Drop a table's secondary indexes and foreign keys while it is filled, then build each once.

    One index build over all rows is several times faster than keeping the
    indexes up to date row by row, and one validating join faster than a
    deferred check per row. Definitions are read back from the catalog, so
    what is rebuilt is exactly what was there; on failure the transaction
    rolls the drops back. Used only to fill an empty table: the lock it takes
    would hold up the site's reads of a table it serves.
    """
    table = model._meta.db_table
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
        "ORDER BY c.relname",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' "
        "ORDER BY conname",
        [table],
    )
    foreign_keys = cursor.fetchall()
    # A table with deferred checks still pending cannot be altered: run them now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for name, _ in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    with timed(phases, "build indexes"):
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _apply(cursor, rows, summary: ImportSummary, report: Progress) -> None:
    phases = summary.phases
    for step, (model, keys, columns) in enumerate(TABLES, start=1):
        report("write", step, len(TABLES))
        # Filling an empty code table (a first import) builds its indexes once, after the rows.
        bulk = model is Code and not summary.codes_before
        with _built_once(cursor, model, phases) if bulk else nullcontext(), timed(phases, "merge"):
            _merge(cursor, model, keys, columns, summary)
    with timed(phases, "analyze"):
        # Fresh statistics: on a first import the tables were empty when last analysed.
        for model, _, _ in TABLES:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    with timed(phases, "search words"):
        # The word list follows the merged texts (only changed words are written).
        refresh_search_words(cursor)
    with timed(phases, "page data"):
        # What the pages would otherwise recount or re-resolve on every request (conditions.derived).
        derived.refresh_heading_counts(cursor)
        derived.refresh_note_references(cursor)
    with timed(phases, "checks and articles"):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        summary.rebuilt = rebuild_derived_state()
    summary.written = True


# --- What coders look up (issue 12): severity, code edits, HCC, GEMs, history -----------------------

CODING_TABLES = (CodeFacts, RetiredCode, Icd9Code, PdxCollection, NextYearCode)
# The columns queries filter on (the keys, and the search filters'): statistics of the
# large JSON columns cost most of an ANALYZE and no plan uses them.
ANALYZED_COLUMNS = {CodeFacts: ["code", "severity", "pdx_collection", "hcc_v28"]}


def _gem_entry(code, title, row):
    return {
        "code": code,
        "title": title,
        "approximate": row.approximate,
        "no_map": row.no_map,
        "combination": row.combination,
        "scenario": row.scenario,
        "choice_list": row.choice_list,
    }


def _levels_above(code: str) -> list[str]:
    """``M86.8X11`` -> ``M86.8X1``, ``M86.8X``, ``M86.8``, ``M86``: the codes it could sit under, nearest first."""
    category, _, rest = code.partition(".")
    return [f"{category}.{rest[:n]}" for n in range(len(rest) - 1, 0, -1)] + [category]


def coding_rows(sources: coding_sources.Sources | None = None) -> dict:
    """Rows for the coding tables, from the packages (and conditions/data/), keyed to the loaded codes."""
    sources = sources or coding_sources.read_all()
    titles = dict(Code.objects.values_list("code", "title"))
    facts = {
        code: {
            "severity": "",
            "pdx_collection": "",
            "pdx_exclusion_count": 0,
            "mce_edits": [],
            "mce_age_group": "",
        }
        for code in titles
    }
    for code, level in sources.severity:
        facts[code]["severity"] = level
    exclusions = sources.exclusions
    for code, collection in exclusions.collection_of.items():
        if code in facts and collection:
            facts[code]["pdx_collection"] = collection
            facts[code]["pdx_exclusion_count"] = len(exclusions.collections.get(collection, []))
    labels = sources.hcc_labels
    for code, version, number in sources.hcc_mappings:
        if code in facts:
            facts[code].setdefault(f"hcc_{version.lower()}", []).append(number)
            facts[code].setdefault("hcc_labels", {})[f"{version} {number}"] = labels.get(
                (version, number), ""
            )
    for code, indicator in sources.chronic:
        if code in facts:
            facts[code]["chronic"] = indicator
    for code, edits, age_group, _sex in sources.mce_edits:
        facts[code].update(mce_edits=edits, mce_age_group=age_group)

    icd9_titles = sources.icd9_titles
    icd9 = {code: {"title": title, "to_icd10": []} for code, title in icd9_titles.items()}
    for row in sources.gems_10_9:
        if row.icd10 in facts:
            entry = _gem_entry(row.icd9, icd9_titles.get(row.icd9, ""), row)
            facts[row.icd10].setdefault("to_icd9", []).append(entry)
    for row in sources.gems_9_10:
        if row.icd10 in facts:
            entry = _gem_entry(row.icd9, icd9_titles.get(row.icd9, ""), row)
            facts[row.icd10].setdefault("from_icd9", []).append(entry)
        icd9.setdefault(row.icd9, {"title": "", "to_icd10": []})["to_icd10"].append(
            _gem_entry(row.icd10, titles.get(row.icd10), row)
        )

    retired, next_year = [], []
    for code, years, billable_years, last_title, earlier, replaced_by in sources.history:
        if code in facts:
            facts[code].update(
                fiscal_years=years,
                billable_years=billable_years,
                earlier_titles=earlier,
                next_year_replaced_by=replaced_by,
            )
        elif min(years) > code_history.CURRENT_YEAR:
            # Added by the next release: shown on the nearest level the current release has.
            parent = next((level for level in _levels_above(code) if level in facts), "")
            if parent:
                facts[parent].setdefault("next_year_adds", []).append(code)
            next_year.append((code, min(years), parent))
        else:
            retired.append((code, last_title, years, billable_years, earlier, replaced_by))
    return {
        "facts": facts,
        "retired": retired,
        "icd9": icd9,
        "collections": exclusions.collections,
        "next_year": next_year,
    }


FACT_COLUMNS = (
    "severity",
    "pdx_collection",
    "pdx_exclusion_count",
    "mce_edits",
    "mce_age_group",
    "hcc_v28",
    "hcc_v24",
    "hcc_labels",
    "chronic",
    "fiscal_years",
    "billable_years",
    "earlier_titles",
    "next_year_replaced_by",
    "next_year_adds",
    "to_icd9",
    "from_icd9",
)
_FACT_DEFAULTS = {
    "hcc_v28": [],
    "hcc_v24": [],
    "hcc_labels": {},
    "chronic": "",
    "fiscal_years": [],
    "billable_years": [],
    "earlier_titles": {},
    "next_year_replaced_by": [],
    "next_year_adds": [],
    "to_icd9": [],
    "from_icd9": [],
}
_JSON_COLUMNS = {"earlier_titles", "to_icd9", "from_icd9", "hcc_labels"}
_ARRAY_COLUMNS = {
    "mce_edits",
    "hcc_v28",
    "hcc_v24",
    "fiscal_years",
    "billable_years",
    "next_year_replaced_by",
}


def _fact_row(code, values):
    row = [code]
    for column in FACT_COLUMNS:
        value = values.get(column, _FACT_DEFAULTS.get(column))
        if column in _JSON_COLUMNS:
            value = _json_text(value)
        elif column in _ARRAY_COLUMNS:
            value = _array_text(value)
        row.append(value)
    return row


# The import state row (``ImportState.name``) of the coding tables.
CODING_STATE = "coding"
# The keys the summary counts each coding table under.
CODING_COUNTS = {
    CodeFacts: "facts",
    RetiredCode: "retired",
    Icd9Code: "icd9",
    PdxCollection: "pdx_collections",
    NextYearCode: "next_year",
}


@dataclass
class CodingSummary:
    counts: Counter  # rows per table (CODING_COUNTS), as written or as found
    written: bool  # False: sources and code set unchanged and the tables intact, so nothing was written
    phases: dict = field(default_factory=dict)


def coding_fingerprint(cursor) -> str:
    """A digest of what the coding rows derive from: the package files, conditions/data/, the code that
    turns them into rows, and the code set (codes and titles) they are keyed to."""
    cursor.execute(
        "SELECT count(*), coalesce(sum(hashtext(code || ' ' || title)::bigint), 0)::bigint FROM conditions_code"
    )
    code_set = cursor.fetchone()
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"{coding_sources.fingerprint()} {code_set[0]} {code_set[1]}".encode())
    return digest.hexdigest()


def coding_contents(cursor) -> dict:
    """Rows and a digest of their text, per coding table: tells a table emptied or changed since it was written."""
    return _contents(cursor, {model._meta.db_table: [] for model in CODING_TABLES})


def import_coding_data(
    progress: Progress | None = None,
    phases: dict | None = None,
    sources: Callable[[], coding_sources.Sources] | None = None,
) -> CodingSummary:
    """Write the coding tables from what the packages hold now, in one transaction, unless nothing changed.

    These tables are derived from the official files alone (nothing in them is edited). They are
    rewritten whole when their sources or the code set changed since they were written, or when
    they no longer hold what was written (emptied or damaged); otherwise they are left untouched.
    ``sources`` gives the files read (default ``coding_sources.read_all``; the command passes the result
    of a thread that read them meanwhile); ``phases`` collects the seconds each step took.
    """
    report = progress or (lambda stage, done, total: None)
    phases = {} if phases is None else phases
    with timed(phases, "fingerprint"), connection.cursor() as cursor:
        fingerprint = coding_fingerprint(cursor)
        state = ImportState.objects.filter(name=CODING_STATE, sources=fingerprint).first()
        contents = coding_contents(cursor) if state else None
    if state and json.loads(state.contents) == contents:
        counts = Counter({CODING_COUNTS[model]: contents[model._meta.db_table][0] for model in CODING_TABLES})
        return CodingSummary(counts, written=False, phases=phases)
    with timed(phases, "read packages"):
        read = (sources or coding_sources.read_all)()
    with timed(phases, "rows"):
        data = coding_rows(read)
    with timed(phases, "write"), transaction.atomic(), connection.cursor() as cursor:
        _write_coding_tables(cursor, data, report)
        _record_state(CODING_STATE, fingerprint, coding_contents(cursor))
    counts = Counter(
        facts=len(data["facts"]),
        retired=len(data["retired"]),
        icd9=len(data["icd9"]),
        pdx_collections=len(data["collections"]),
        next_year=len(data["next_year"]),
    )
    return CodingSummary(counts, written=True, phases=phases)


def _write_coding_tables(cursor, data: dict, report: Progress) -> None:
    cursor.execute("TRUNCATE " + ", ".join(model._meta.db_table for model in CODING_TABLES))
    report("coding", 1, 4)
    _copy(cursor, CodeFacts, ["code", *FACT_COLUMNS], (_fact_row(c, v) for c, v in data["facts"].items()))
    report("coding", 2, 4)
    _copy(
        cursor,
        RetiredCode,
        ["code", "title", "fiscal_years", "billable_years", "earlier_titles", "replaced_by"],
        (
            (c, t, _array_text(y), _array_text(b), _json_text(e), _array_text(r))
            for c, t, y, b, e, r in data["retired"]
        ),
    )
    report("coding", 3, 4)
    _copy(
        cursor,
        Icd9Code,
        ["code", "title", "to_icd10"],
        ((c, v["title"], _json_text(v["to_icd10"])) for c, v in data["icd9"].items()),
    )
    _copy(
        cursor,
        PdxCollection,
        ["number", "codes"],
        ((n, _array_text(c)) for n, c in data["collections"].items()),
    )
    _copy(cursor, NextYearCode, ["code", "fiscal_year", "parent"], data["next_year"])
    report("coding", 4, 4)
    for model in CODING_TABLES:
        columns = ANALYZED_COLUMNS.get(model)
        cursor.execute(f"ANALYZE {model._meta.db_table}" + (f" ({', '.join(columns)})" if columns else ""))


def _copy(cursor, model, columns, rows):
    with cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
