"""The XML parser on small tabular files (no database)."""

import io

import pytest

from conditions import icd10cm

TABULAR = b"""<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2026</version>
  <chapter>
    <name>19</name>
    <desc>Injury, poisoning (S00-T88)</desc>
    <excludes2><note>birth trauma (P10-P15)</note></excludes2>
    <section id="S00-S09">
      <desc>Injuries to the head (S00-S09)</desc>
      <diag>
        <name>S06</name>
        <desc>Intracranial injury</desc>
        <sevenChrNote><note>The appropriate 7th character is to be added</note></sevenChrNote>
        <sevenChrDef>
          <extension char="A">initial encounter</extension>
          <extension char="S">sequela</extension>
        </sevenChrDef>
        <diag placeholder="true">
          <name>S06.0X</name>
          <desc>Concussion</desc>
          <diag><name>S06.0X0</name><desc>Concussion without loss of consciousness</desc></diag>
          <diag><name>S06.0X7</name><desc>Concussion with death</desc></diag>
        </diag>
        <diag>
          <name>S06.9</name>
          <desc>Unspecified intracranial injury</desc>
          <inclusionTerm><note>Brain injury NOS</note><note>Head injury NOS with loss of consciousness</note></inclusionTerm>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""


def records(data=TABULAR, valid=None):
    return {
        getattr(r, "code", None) or getattr(r, "block_id", None) or r.number: r
        for r in icd10cm.parse(io.BytesIO(data), valid_codes=valid)
    }


def test_seventh_characters_form_codes_with_placeholders():
    parsed = records()
    assert parsed["S06.0X0A"].title == "Concussion without loss of consciousness, initial encounter"
    assert parsed["S06.0X0A"].parent == "S06.0X0"
    assert parsed["S06.9XXS"].billable
    assert not parsed["S06.9"].billable
    assert not parsed["S06"].billable
    assert parsed["S06.0X"].placeholder


def test_code_list_decides_which_seventh_characters_exist():
    valid = {
        "19",
        "S00-S09",
        "S06",
        "S060X",
        "S060X0",
        "S060X0A",
        "S060X0S",
        "S060X7",
        "S060X7A",
        "S069",
        "S069XXA",
        "S069XXS",
    }
    parsed = records(valid=valid)
    assert "S06.0X7A" in parsed
    assert "S06.0X7S" not in parsed


def test_records_carry_official_order_and_notes():
    parsed = records()
    ordered = [key for key, _ in sorted(parsed.items(), key=lambda item: item[1].sort_order)]
    assert ordered[:6] == ["19", "S00-S09", "S06", "S06.0X", "S06.0X0", "S06.0X0A"]
    assert parsed["19"].title == "Injury, poisoning" and parsed["19"].code_range == "S00-T88"
    assert [n.text for n in parsed["S06.9"].notes] == [
        "Brain injury NOS",
        "Head injury NOS with loss of consciousness",
    ]
    assert [(n.kind, n.position) for n in parsed["S06.9"].notes] == [
        ("inclusion_term", 0),
        ("inclusion_term", 1),
    ]
    assert parsed["S06"].seventh_characters == [("A", "initial encounter"), ("S", "sequela")]
    assert parsed["S06.0X0A"].depth == 4


@pytest.mark.parametrize(
    "data, message",
    [
        (TABULAR[: len(TABULAR) // 2], "not well-formed XML"),
        (b"<html><body>hello</body></html>", "not a CMS ICD-10-CM tabular file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not well-formed XML"),
        (b"", "not well-formed XML"),
    ],
)
def test_malformed_input_raises_source_error(data, message):
    with pytest.raises(icd10cm.SourceError, match=message):
        list(icd10cm.parse(io.BytesIO(data)))


def test_missing_file(tmp_path):
    with pytest.raises(icd10cm.SourceError, match="no such file"):
        list(icd10cm.parse(tmp_path / "missing.xml"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("M61.2", "M61.2"),
        ("m612", "M61.2"),
        (" M61.2 ", "M61.2"),
        ("w2189xa", "W21.89XA"),
        ("E11", "E11"),
        ("S72.001A", "S72.001A"),
        ("M 61 2", "M61.2"),
        ("61.2", None),
        ("hello", None),
        ("\x00", None),
        ("M61.2" * 10, None),
        ("M61..2", None),
        ("qa00101", "QA0.0101"),  # chapter 17's QA0 (April 2026): a letter second
        ("CD4", None),  # a letter second is QA0's alone, not any word such as a lab test
        ("k6a", "K6A"),
        ("../etc", None),
        ("", None),
    ],
)
def test_canonical_code(text, expected):
    assert icd10cm.canonical_code(text) == expected
