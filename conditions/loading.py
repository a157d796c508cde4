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

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction

from . import coding_sources, derived, icd10cm
from .indexing import refresh_article_text, refresh_official_text
from .models import (
    Article,
    Block,
    Chapter,
    Code,
    CodeFacts,
    Icd9Code,
    Note,
    PdxCollection,
    RetiredCode,
    Synonym,
)

Progress = Callable[[str, int, int], None]

# (model, key columns, data columns) in the order rows must be merged.
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
    refused: bool = False  # the release retires too much (a dry run tells, an import raises)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(self.inserted.values()) or any(self.updated.values()) or any(self.deleted.values())

    @property
    def retired_codes(self) -> int:
        return self.deleted[Code._meta.db_table]

    @property
    def retired_share(self) -> float:
        return self.retired_codes / self.codes_before if self.codes_before else 0.0


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
                chain,
                record.depth,
                record.sort_order,
                record.billable,
                record.placeholder,
                json.dumps([list(pair) for pair in record.seventh_characters]),
            )
        )
        rows[Note].extend(("code", record.code, n.kind, n.position, n.text) for n in record.notes)
    return rows


class _Sql:
    """The SQL that compares one table with its staged release rows, shared by the plan and the merge."""

    def __init__(self, model, keys, columns):
        self.table = model._meta.db_table
        self.staging = f"staging_{self.table}"
        self.columns = [*keys, *columns]
        self.column_list = ", ".join(self.columns)
        self.keys = ", ".join(keys)
        self.assignments = ", ".join(f"{c} = s.{c}" for c in columns)
        join = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in columns)
        # Rows the release no longer has (t), rows it changes (t with s), rows it adds (s).
        self.retired = f"{self.table} t WHERE NOT EXISTS (SELECT 1 FROM {self.staging} s WHERE {join})"
        self.changed_where = f"{join} AND ({differs})"
        self.added = f"{self.staging} s WHERE NOT EXISTS (SELECT 1 FROM {self.table} t WHERE {join})"


def _stage(cursor, model, keys, columns, rows) -> None:
    """Copy the release's rows of one table into a temporary table beside it."""
    sql = _Sql(model, keys, columns)
    # Dropped first: inside an outer transaction (tests) the previous import's table still exists.
    cursor.execute(f"DROP TABLE IF EXISTS {sql.staging}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {sql.staging} ON COMMIT DROP AS "
        f"SELECT {sql.column_list} FROM {sql.table} WITH NO DATA"
    )
    with cursor.copy(f"COPY {sql.staging} ({sql.column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


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
) -> ImportSummary:
    """Import a CMS tabular XML file (default: the April 1 2026 release).

    Raises ``icd10cm.SourceError`` before touching the database when the file
    cannot be read, and ``RetireRefused`` (having written nothing) when the
    release would retire more than ``RETIRE_LIMIT`` of the codes and
    ``allow_retire`` is off; any other failure rolls the whole import back.
    With ``dry_run`` the summary tells what the import would do (and whether
    it would be refused) and nothing is written.
    """
    started = time.monotonic()
    report = progress or (lambda stage, done, total: None)
    if source is None:
        source = icd10cm.default_tabular_path()
        code_list = code_list or icd10cm.default_code_list_path()
    valid = set(icd10cm.read_code_list(code_list)) if code_list else None

    records = []
    for record in icd10cm.parse(source, valid_codes=valid):
        records.append(record)
        if len(records) % 5000 == 0:
            report("read", len(records), 0)
    if not any(isinstance(r, icd10cm.Chapter) for r in records):
        raise icd10cm.SourceError(f"{source}: holds no chapters")
    rows = _rows(records)

    summary = ImportSummary(dry_run=dry_run)
    for record in records:
        summary.counts[type(record).__name__.lower()] += 1
        if isinstance(record, icd10cm.Code):
            summary.counts["billable"] += record.billable
    with transaction.atomic(), connection.cursor() as cursor:
        # Rows reference each other (a code its parent, block and chapter):
        # check those constraints once, at the end of the transaction.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        summary.codes_before = Code.objects.count()
        for model, keys, columns in TABLES:
            _stage(cursor, model, keys, columns, rows[model])
            _plan(cursor, model, keys, columns, summary)
        _retired_content(cursor, summary)
        summary.refused = summary.retired_share > RETIRE_LIMIT and not allow_retire
        if summary.refused and not dry_run:
            raise RetireRefused(summary)
        if dry_run:
            transaction.set_rollback(True)  # the staging tables go with it
        else:
            _apply(cursor, rows, summary, report)
    summary.seconds = time.monotonic() - started
    return summary


def _apply(cursor, rows, summary: ImportSummary, report: Progress) -> None:
    for step, (model, keys, columns) in enumerate(TABLES, start=1):
        report("write", step, len(TABLES))
        _merge(cursor, model, keys, columns, summary)
    # Fresh statistics first: on a first import the tables were empty when last analysed,
    # and the planner's guesses make the text refresh below take minutes instead of a second.
    for model, _, _ in TABLES:
        cursor.execute(f"ANALYZE {model._meta.db_table}")
    # Searchable note text and the word list follow the merged notes (only changed rows are written).
    refresh_official_text(cursor)
    # What the pages would otherwise recount or re-resolve on every request (conditions.derived).
    derived.refresh_heading_counts(cursor)
    derived.refresh_note_references(cursor)
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    summary.rebuilt = rebuild_derived_state()
    summary.written = True


# --- What coders look up (issue 12): severity, code edits, HCC, GEMs, history -----------------------

CODING_TABLES = (CodeFacts, RetiredCode, Icd9Code, PdxCollection)


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


def coding_rows() -> dict:
    """Rows for the coding tables, read from the packages (and conditions/data/) and keyed to the loaded codes."""
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
    for code, level in coding_sources.severity_lists():
        facts[code]["severity"] = level
    exclusions = coding_sources.cc_exclusions()
    for code, collection in exclusions.collection_of.items():
        if code in facts and collection:
            facts[code]["pdx_collection"] = collection
            facts[code]["pdx_exclusion_count"] = len(exclusions.collections.get(collection, []))
    labels = coding_sources.hcc_labels()
    for code, version, number in coding_sources.hcc_mappings():
        if code in facts:
            facts[code].setdefault(f"hcc_{version.lower()}", []).append(number)
            facts[code].setdefault("hcc_labels", {})[f"{version} {number}"] = labels.get(
                (version, number), ""
            )
    for code, indicator in coding_sources.chronic_indicators():
        if code in facts:
            facts[code]["chronic"] = indicator
    for code, edits, age_group, _sex in coding_sources.mce_edits():
        facts[code].update(mce_edits=edits, mce_age_group=age_group)

    icd9_titles = coding_sources.icd9_titles()
    icd9 = {code: {"title": title, "to_icd10": []} for code, title in icd9_titles.items()}
    for row in coding_sources.gems("10-9"):
        if row.icd10 in facts:
            entry = _gem_entry(row.icd9, icd9_titles.get(row.icd9, ""), row)
            facts[row.icd10].setdefault("to_icd9", []).append(entry)
    for row in coding_sources.gems("9-10"):
        if row.icd10 in facts:
            entry = _gem_entry(row.icd9, icd9_titles.get(row.icd9, ""), row)
            facts[row.icd10].setdefault("from_icd9", []).append(entry)
        icd9.setdefault(row.icd9, {"title": "", "to_icd10": []})["to_icd10"].append(
            _gem_entry(row.icd10, titles.get(row.icd10), row)
        )

    retired = []
    for code, years, billable_years, last_title, earlier, replaced_by in coding_sources.code_history():
        if code in facts:
            facts[code].update(
                fiscal_years=years,
                billable_years=billable_years,
                earlier_titles=earlier,
                next_year_replaced_by=replaced_by,
            )
        else:
            retired.append((code, last_title, years, billable_years, earlier, replaced_by))
    return {"facts": facts, "retired": retired, "icd9": icd9, "collections": exclusions.collections}


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
    "to_icd9": [],
    "from_icd9": [],
}
_JSON_COLUMNS = {"earlier_titles", "to_icd9", "from_icd9", "hcc_labels"}


def _fact_row(code, values):
    row = [code]
    for column in FACT_COLUMNS:
        value = values.get(column, _FACT_DEFAULTS.get(column))
        row.append(json.dumps(value, ensure_ascii=False) if column in _JSON_COLUMNS else value)
    return row


def import_coding_data(progress: Progress | None = None) -> Counter:
    """Replace the coding tables with what the packages hold now, in one transaction; returns row counts.

    These tables are derived from the official files alone (nothing in them is edited), so they are
    rewritten whole after each code-set import.
    """
    report = progress or (lambda stage, done, total: None)
    data = coding_rows()
    counts = Counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(model._meta.db_table for model in CODING_TABLES))
        report("coding", 1, 4)
        _copy(cursor, CodeFacts, ["code", *FACT_COLUMNS], (_fact_row(c, v) for c, v in data["facts"].items()))
        report("coding", 2, 4)
        _copy(
            cursor,
            RetiredCode,
            ["code", "title", "fiscal_years", "billable_years", "earlier_titles", "replaced_by"],
            ((c, t, y, b, json.dumps(e, ensure_ascii=False), r) for c, t, y, b, e, r in data["retired"]),
        )
        report("coding", 3, 4)
        _copy(
            cursor,
            Icd9Code,
            ["code", "title", "to_icd10"],
            ((c, v["title"], json.dumps(v["to_icd10"], ensure_ascii=False)) for c, v in data["icd9"].items()),
        )
        _copy(cursor, PdxCollection, ["number", "codes"], data["collections"].items())
        report("coding", 4, 4)
        for model in CODING_TABLES:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    counts.update(
        facts=len(data["facts"]),
        retired=len(data["retired"]),
        icd9=len(data["icd9"]),
        pdx_collections=len(data["collections"]),
    )
    return counts


def _copy(cursor, model, columns, rows):
    with cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
