"""Load parsed ICD-10-CM records into PostgreSQL in one transaction.

Rows are copied into temporary tables with COPY, then merged into the real
tables: new rows inserted, changed rows updated, rows the release no longer
has deleted. Unchanged rows are not written at all, so importing the same
file twice changes nothing. Editor content refers to codes by their official
string and is never touched here.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction

from . import coding_sources, icd10cm
from .indexing import refresh_official_text
from .models import Block, Chapter, Code, CodeFacts, Icd9Code, Note, PdxCollection, RetiredCode

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


@dataclass
class ImportSummary:
    counts: Counter = field(default_factory=Counter)
    inserted: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    deleted: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(self.inserted.values()) or any(self.updated.values()) or any(self.deleted.values())


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


def _merge(cursor, model, keys, columns, rows, summary: ImportSummary) -> None:
    table = model._meta.db_table
    staging = f"staging_{table}"
    all_columns = [*keys, *columns]
    column_list = ", ".join(all_columns)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS SELECT {column_list} FROM {table} WITH NO DATA"
    )
    with cursor.copy(f"COPY {staging} ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    key_list = ", ".join(keys)
    join = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    cursor.execute(f"DELETE FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM {staging} s WHERE {join})")
    summary.deleted[table] = cursor.rowcount
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in columns)
    assignments = ", ".join(f"{c} = s.{c}" for c in columns)
    cursor.execute(f"UPDATE {table} t SET {assignments} FROM {staging} s WHERE {join} AND ({changed})")
    summary.updated[table] = cursor.rowcount
    cursor.execute(
        f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staging} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {join}) ORDER BY {key_list}"
    )
    summary.inserted[table] = cursor.rowcount


def import_tabular(
    source: Path | str | None = None,
    *,
    code_list: Path | str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a CMS tabular XML file (default: the April 1 2026 release).

    Raises ``icd10cm.SourceError`` before touching the database when the file
    cannot be read; any other failure rolls the whole import back.
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

    summary = ImportSummary()
    for record in records:
        summary.counts[type(record).__name__.lower()] += 1
        if isinstance(record, icd10cm.Code):
            summary.counts["billable"] += record.billable
    with transaction.atomic(), connection.cursor() as cursor:
        # Rows reference each other (a code its parent, block and chapter):
        # check those constraints once, at the end of the transaction.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for step, (model, keys, columns) in enumerate(TABLES, start=1):
            report("write", step, len(TABLES))
            _merge(cursor, model, keys, columns, rows[model], summary)
        # Fresh statistics first: on a first import the tables were empty when last analysed,
        # and the planner's guesses make the text refresh below take minutes instead of a second.
        for model, _, _ in TABLES:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
        # Searchable note text and the word list follow the merged notes (only changed rows are written).
        refresh_official_text(cursor)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    summary.seconds = time.monotonic() - started
    return summary


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
