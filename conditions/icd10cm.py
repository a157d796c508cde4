"""Read the CMS ICD-10-CM tabular XML into plain records (no Django here).

The tabular file nests chapter -> section -> diag -> diag ...; codes formed
with 7th characters are not written out in it, so they are built here from
the nearest ``sevenChrDef`` above a leaf code, filtered by the official code
list when one is given (the list is the authority: e.g. some S06 codes do
not take every 7th character).
"""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

DATA_PACKAGE = "simple_icd_10_cm"
DEFAULT_TABULAR = "icd10c-tabular-April-1-2026.xml"
DEFAULT_CODE_LIST = "code-list-April-2026.txt"
# The release those files hold, as pages name it.
RELEASE = "FY2026 (April 1, 2026 update)"

# XML container tag -> note kind stored in the database.
NOTE_KINDS = {
    "includes": "includes",
    "inclusionTerm": "inclusion_term",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional_code",
    "codeAlso": "code_also",
    "sevenChrNote": "seventh_character_note",
    "notes": "note",
}

RANGE_SUFFIX = re.compile(r"\s*\(([A-Z0-9.]+(?:-[A-Z0-9.]+)?)\)\s*$")


class SourceError(Exception):
    """The source file is missing, not XML, or not a CMS tabular file."""


@dataclass(frozen=True)
class Note:
    kind: str
    position: int
    text: str


@dataclass
class Chapter:
    number: str
    title: str
    code_range: str
    sort_order: int
    notes: list[Note] = field(default_factory=list)


@dataclass
class Block:
    block_id: str
    chapter: str
    title: str
    code_range: str
    sort_order: int
    notes: list[Note] = field(default_factory=list)


@dataclass
class Code:
    code: str
    title: str
    chapter: str
    block: str
    parent: str | None
    depth: int
    sort_order: int
    billable: bool = False
    placeholder: bool = False
    seventh_characters: list[tuple[str, str]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


# A category is a letter, a digit and a digit or letter (M61, E11, K6A), except chapter 17's QA0 (April 2026,
# "Neurodevelopmental disorders related to specific genetic pathogenic variants"), whose second is a letter.
CATEGORY = r"(?:[A-Z][0-9][0-9A-Z]|Q[A-Z][0-9])"
CODE_SHAPE = re.compile(rf"^({CATEGORY})\.?([0-9A-Z]{{1,4}})?$")


def dotless(code: str) -> str:
    return code.replace(".", "")


def canonical_code(text: str) -> str | None:
    """``m612`` / `` M61.2 `` -> ``M61.2``; None when the text cannot be a code."""
    if not isinstance(text, str) or len(text) > 16:
        return None
    match = CODE_SHAPE.match("".join(text.split()).upper())
    if not match:
        return None
    category, rest = match.groups()
    return f"{category}.{rest}" if rest else category


def seventh_character_code(code: str, character: str) -> str:
    """``W21.89`` + ``A`` -> ``W21.89XA``: pad with the placeholder X to six characters."""
    name = code if "." in code else code + "."
    return name.ljust(7, "X") + character


def _data_dir() -> Path:
    # find_spec locates the package without importing it (importing it parses the whole XML).
    spec = importlib.util.find_spec(DATA_PACKAGE)
    if spec is None or spec.origin is None:
        raise SourceError(f"the {DATA_PACKAGE} package is not installed")
    return Path(spec.origin).parent / "data"


def default_tabular_path() -> Path:
    return _data_dir() / DEFAULT_TABULAR


def default_code_list_path() -> Path:
    return _data_dir() / DEFAULT_CODE_LIST


def read_code_list(path: Path | str) -> list[str]:
    """The official code list: one entry a line (chapter, block or dotless code)."""
    with open(path, encoding="utf-8") as handle:
        return [line.split()[0] for line in handle if line.strip()]


def _split_range(desc: str) -> tuple[str, str]:
    match = RANGE_SUFFIX.search(desc)
    if not match:
        return desc.strip(), ""
    return desc[: match.start()].strip(), match.group(1)


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


class _Frame:
    """An open chapter, section or diag while its subtree is being read."""

    def __init__(self, tag: str, sort_order: int, attrib: dict):
        self.tag = tag
        self.sort_order = sort_order
        self.attrib = attrib
        self.name = ""
        self.desc = ""
        self.notes: list[Note] = []
        self.seventh_characters: list[tuple[str, str]] = []
        self.has_children = False

    def add_notes(self, kind: str, texts: Iterable[str]) -> None:
        position = sum(1 for note in self.notes if note.kind == kind)
        for offset, text in enumerate(t for t in texts if t):
            self.notes.append(Note(kind, position + offset, text))


def _visual_impairment_lines(element: ET.Element) -> list[str]:
    lines = []
    for category in element.findall("visCategory"):
        value = _text(category.find("value"))
        if not value:
            continue
        maxima = [_text(r.find("visMax")) for r in category.findall("visRange")]
        minima = [_text(r.find("visMin")) for r in category.findall("visRange")]
        line = f"Category {value}: visual acuity maximum less than {', '.join(m for m in maxima if m)}"
        if any(minima):
            line += f"; minimum equal to or better than {', '.join(m for m in minima if m)}"
        lines.append(line)
    return lines


def parse(
    source: Path | str | IO[bytes], *, valid_codes: set[str] | None = None
) -> Iterator[Chapter | Block | Code]:
    """Stream records out of a tabular XML file.

    ``valid_codes`` is the set of dotless entries of the official code list;
    when given, only the 7th-character codes it lists are formed.
    Records come out as their subtree closes (children before parents); each
    carries ``sort_order``, its position in official order.
    """
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise SourceError(f"{source}: no such file")
    name = getattr(source, "name", str(source))
    stack: list[_Frame] = []
    path: list[str] = []
    counter = 0
    seen_root = False
    chapter_number = ""
    block_id = ""
    try:
        for event, element in ET.iterparse(source, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if not seen_root:
                    if tag != "ICD10CM.tabular":
                        raise SourceError(f"{name}: not a CMS ICD-10-CM tabular file (root element <{tag}>)")
                    seen_root = True
                path.append(tag)
                if tag in ("chapter", "section", "diag"):
                    if tag == "diag" and stack:
                        stack[-1].has_children = True
                    counter += 1
                    stack.append(_Frame(tag, counter, dict(element.attrib)))
                    if tag == "section":
                        block_id = element.get("id", "")
                continue

            path.pop()
            parent_tag = path[-1] if path else ""
            owner = stack[-1] if stack else None
            if owner is not None and parent_tag == owner.tag:
                if tag == "name":
                    owner.name = _text(element)
                    if owner.tag == "chapter":
                        chapter_number = owner.name
                elif tag == "desc":
                    owner.desc = _text(element)
                elif tag in NOTE_KINDS:
                    owner.add_notes(NOTE_KINDS[tag], (_text(n) for n in element.findall("note")))
                elif tag == "sevenChrDef":
                    for extension in element.findall("extension"):
                        owner.seventh_characters.append((extension.get("char", ""), _text(extension)))
                elif tag == "visualImpairment":
                    owner.add_notes("note", _visual_impairment_lines(element))
            if tag not in ("chapter", "section", "diag"):
                continue

            frame = stack.pop()
            element.clear()
            if tag == "chapter":
                title, code_range = _split_range(frame.desc)
                yield Chapter(frame.name, title, code_range, frame.sort_order, frame.notes)
            elif tag == "section":
                title, code_range = _split_range(frame.desc)
                yield Block(
                    frame.attrib.get("id", ""),
                    chapter_number,
                    title,
                    code_range or frame.attrib.get("id", ""),
                    frame.sort_order,
                    frame.notes,
                )
            else:
                diag_parents = [f for f in stack if f.tag == "diag"]
                parent = diag_parents[-1].name if diag_parents else None
                depth = len(diag_parents) + 1
                code = Code(
                    code=frame.name,
                    title=frame.desc,
                    chapter=chapter_number,
                    block=block_id,
                    parent=parent,
                    depth=depth,
                    sort_order=frame.sort_order,
                    placeholder=frame.attrib.get("placeholder") == "true",
                    seventh_characters=frame.seventh_characters,
                    notes=frame.notes,
                )
                extensions: list[Code] = []
                if not frame.has_children:
                    definition = next(
                        (
                            f.seventh_characters
                            for f in reversed([*diag_parents, frame])
                            if f.seventh_characters
                        ),
                        [],
                    )
                    for character, meaning in definition:
                        full = seventh_character_code(frame.name, character)
                        if valid_codes is not None and dotless(full) not in valid_codes:
                            continue
                        counter += 1
                        extensions.append(
                            Code(
                                code=full,
                                title=f"{frame.desc}, {meaning}",
                                chapter=chapter_number,
                                block=block_id,
                                parent=frame.name,
                                depth=depth + 1,
                                sort_order=counter,
                                billable=True,
                            )
                        )
                    code.billable = not extensions
                yield code
                yield from extensions
    except ET.ParseError as error:
        raise SourceError(f"{name}: not well-formed XML ({error})") from None
    if not seen_root:
        raise SourceError(f"{name}: empty file")
