"""The shipped lay-term vocabulary (conditions/data/lay_terms.txt): reading it, and loading it into the editors' synonyms.

The file is data we wrote, not official data: each line is ``kind | term |
code | meaning``. Loading adds the terms the database lacks; a term already
there is left as editors left it, and a term an editor deleted is not
brought back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from conditions.models import Synonym

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "lay_terms.txt"
KINDS = ("everyday", "abbreviation", "body part", "care", "symptom", "spelling")


class VocabularyError(ValueError):
    pass


@dataclass(frozen=True)
class LayTerm:
    kind: str
    term: str
    code: str | None
    meaning: str


@dataclass
class LoadSummary:
    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)  # left as they are: editors may have changed them
    deleted: list[str] = field(default_factory=list)  # an editor deleted them: not brought back


def read_lay_terms(path: Path = DEFAULT_PATH) -> list[LayTerm]:
    """Parse the vocabulary file; a malformed line or a repeated term raises VocabularyError naming the line."""
    entries, seen = [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 4 or parts[0] not in KINDS or not parts[1] or not (parts[2] or parts[3]):
            raise VocabularyError(
                f"{path.name}:{number}: expected 'kind | term | code | meaning', got {line!r}"
            )
        kind, term, code, meaning = parts
        key = term.lower()
        if key in seen:
            raise VocabularyError(f"{path.name}:{number}: {term!r} repeats line {seen[key]}")
        seen[key] = number
        entries.append(LayTerm(kind=kind, term=term, code=code or None, meaning=meaning))
    return entries


def load_lay_terms(entries: list[LayTerm]) -> LoadSummary:
    """Add the shipped terms the database lacks, in one transaction; existing and deleted terms stay as they are."""
    summary = LoadSummary()
    existing = {term.lower() for term in Synonym.objects.values_list("term", flat=True)}
    deleted = {
        term.lower() for term in Synonym.history.filter(history_type="-").values_list("term", flat=True)
    } - existing
    new = []
    for entry in entries:
        key = entry.term.lower()
        if key in existing:
            summary.present.append(entry.term)
        elif key in deleted:
            summary.deleted.append(entry.term)
        else:
            new.append(Synonym(term=entry.term, meaning=entry.meaning, code_id=entry.code))
            summary.created.append(entry.term)
    with transaction.atomic():
        Synonym.objects.bulk_create(new, batch_size=500)
    return summary
