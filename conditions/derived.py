"""What the pages read from the official tables, computed once per import instead of on every request.

- ``refresh_heading_counts``: how many codes, and billable codes, each chapter and block holds (the home,
  chapter and block pages list them; counting 98,000 codes per request took 40 ms).
- ``refresh_note_references``: for each note, the codes, blocks and chapter ranges it names that exist,
  mapped to their target (``conditions.references``), so a page links them without a query.

The import calls both in its transaction, after the merge; each writes only rows whose value changed, so
repeating them changes nothing. Migration 0013 runs them once on an existing database.
"""

from __future__ import annotations

import json

from .references import mentioned_references

HEADING_COUNTS_SQL = """
WITH counted AS (
    SELECT h.{key} AS id,
           count(c.code) AS total,
           count(c.code) FILTER (WHERE c.billable) AS billable
    FROM {table} h
    LEFT JOIN conditions_code c ON c.{column} = h.{key}
    GROUP BY h.{key}
)
UPDATE {table} h
SET code_count = counted.total, billable_count = counted.billable
FROM counted
WHERE h.{key} = counted.id
  AND (h.code_count, h.billable_count) IS DISTINCT FROM (counted.total, counted.billable)
"""


def refresh_heading_counts(cursor) -> None:
    for table, key, column in (
        ("conditions_chapter", "number", "chapter_id"),
        ("conditions_block", "block_id", "block_id"),
    ):
        cursor.execute(HEADING_COUNTS_SQL.format(table=table, key=key, column=column))


def refresh_note_references(cursor) -> int:
    """Store on each note the references it names that exist; returns how many notes changed."""
    cursor.execute("SELECT code, code FROM conditions_code")
    targets = dict(cursor.fetchall())
    cursor.execute("SELECT block_id, block_id FROM conditions_block")
    targets.update(cursor.fetchall())
    # A range such as (A00-B99) may be a whole chapter: its key is the range, its value the chapter number.
    cursor.execute("SELECT code_range, number FROM conditions_chapter")
    targets.update(cursor.fetchall())
    cursor.execute('SELECT id, text, "references" FROM conditions_note')
    changed = []
    for note_id, text, stored in cursor.fetchall():
        stored = json.loads(stored) if isinstance(stored, str) else stored  # Django reads jsonb as text
        known = {ref: targets[ref] for ref in sorted(mentioned_references([text])) if ref in targets}
        if known != stored:
            changed.append((json.dumps(known), note_id))
    if changed:  # one statement for them all (a first import changes about 10,000 notes)
        refs, ids = zip(*changed, strict=True)
        cursor.execute(
            'UPDATE conditions_note n SET "references" = v.refs::jsonb '
            "FROM unnest(%s::text[], %s::bigint[]) AS v(refs, id) WHERE n.id = v.id",
            [list(refs), list(ids)],
        )
    return len(changed)
