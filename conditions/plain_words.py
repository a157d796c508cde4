"""Plain words for a code page: what a code means in everyday language, built from the official data.

Pure functions, no Django: the official titles of a code and of the levels above
it, its 7th character and its inclusion terms go in; short sentences come out.
The meanings of medical words come from icdsite's own list
(``conditions/data/plain_terms.json``), and the page says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol

TERMS_FILE = Path(__file__).resolve().parent / "data" / "plain_terms.json"

# Body parts that come in pairs, as official titles name them after "right", "left" or "unspecified"
# ("of right femur", "unspecified elbow", "affecting unspecified side").
PAIRED_PARTS = frozenset(
    """
        acetabulum ankle arm axilla breast buttock calcaneus calf carpus cheek clavicle conjunctiva cornea
        ear elbow eye eyeball eyelid femur fibula finger fingers flank foot forearm hand heel hip humerus
        ilium ischium kidney knee leg limb lung mandible orbit ovary palm patella pelvis pubis radius retina
        scapula shoulder side talus testicle testis thigh thumb tibia toe toes ulna ureter wrist
    """.split()  # noqa: SIM905 (a word list reads better as words)
)
# Words that may stand between "right" or "left" and the body part ("right lower leg", "left index finger").
SIDE_MODIFIERS = frozenset(
    """
        upper lower middle index ring little great lesser inner external internal anterior posterior distal
        proximal front back female male dominant nondominant
    """.split()  # noqa: SIM905 (a word list reads better as words)
)
SIDE_PHRASE = re.compile(r"\b(right|left|bilateral|unspecified)\b((?: [a-z]+){0,2})", re.IGNORECASE)
ORDINALS = {4: "4th", 5: "5th", 6: "6th", 7: "7th"}

# What a 7th character says, in everyday words: (phrase in the official meaning, plain words, what it tells).
SEVENTH_PHRASES = [
    ("initial encounter", "first treatment: while the problem is being actively treated", "visit"),
    ("subsequent encounter", "a follow-up visit after active treatment, while it heals", "visit"),
    ("sequela", "a late effect: a problem left after the injury itself was treated", "visit"),
    ("closed fracture", "the skin over the break is not broken (closed fracture)", "visit"),
    (
        "open fracture type I or II",
        "the broken bone came through the skin, with a smaller wound (open fracture type I or II)",
        "visit",
    ),
    (
        "open fracture type IIIA, IIIB, or IIIC",
        "the broken bone came through the skin, with a large wound or damage around it (open fracture type III)",
        "visit",
    ),
    ("open fracture", "the broken bone came through the skin (open fracture)", "visit"),
    ("routine healing", "healing as expected", "visit"),
    ("delayed healing", "healing more slowly than expected", "visit"),
    ("nonunion", "the broken ends have not joined", "visit"),
    ("malunion", "the bone has joined in a wrong position", "visit"),
    ("unspecified eye", "the record does not say which eye", "side"),
    ("right eye", "the right eye", "side"),
    ("left eye", "the left eye", "side"),
    ("bilateral", "both eyes", "side"),
    ("not applicable or unspecified", "a pregnancy with one baby, or the baby is not specified", "fetus"),
    ("other fetus", "another baby of a pregnancy with more than five", "fetus"),
    ("fetus", "which baby, in a pregnancy with more than one", "fetus"),
    ("stage unspecified", "the record does not give the stage", "stage"),
    ("indeterminate stage", "the stage cannot be told", "stage"),
    ("stage", "how far the disease has gone", "stage"),
    ("in the field", "measured by ambulance staff before reaching hospital", "time"),
    ("at arrival to emergency department", "measured on arrival at the emergency department", "time"),
    ("at hospital admission", "measured when admitted to hospital", "time"),
    ("24 hours or more after hospital admission", "measured a day or more after admission", "time"),
    ("unspecified time", "the time of the measurement is not recorded", "time"),
]
SEVENTH_LABELS = {
    "visit": "Visit",
    "side": "Side",
    "fetus": "Which baby",
    "stage": "Stage",
    "time": "When measured",
    "detail": "Detail",
}

# A line for the chapters whose codes are not diagnoses in the usual sense.
CHAPTER_NOTES = {
    "18": "Codes in this chapter record symptoms, signs and test results when no definite diagnosis has been made.",
    "19": "Codes in this chapter record injuries, poisonings and other harm from causes outside the body.",
    "20": (
        "This kind of code records how or where an injury happened. It is used beside a code for the injury "
        "itself, never alone."
    ),
    "21": (
        "This kind of code records a reason for a visit or something that affects health, such as a check-up, "
        "a test or a past illness; it is not an illness itself."
    ),
    "22": "A code set aside for special purposes, such as a new disease.",
}


class Level(Protocol):
    """A code or one of its ancestors: conditions.models.Code fits."""

    code: str
    title: str


@dataclass(frozen=True)
class Part:
    """Some characters of the code and what they add."""

    characters: str
    position: str
    meaning: str
    plain: str = ""


@dataclass(frozen=True)
class Fact:
    label: str
    text: str
    plain: str = ""


@dataclass
class PlainWords:
    code: str
    facts: list[Fact] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    terms: list[tuple[str, str]] = field(default_factory=list)
    also_called: list[str] = field(default_factory=list)
    also_called_from: str = ""
    status: str = ""
    chapter_note: str = ""

    def fact(self, label):
        """The fact with this label, or None (for templates and tests)."""
        return next((f for f in self.facts if f.label == label), None)


@cache
def plain_terms() -> tuple[dict[str, tuple[str, str]], re.Pattern]:
    """icdsite's word list ({lower-case term: (term, meaning)}) and one pattern that finds its terms, longest first."""
    listed = json.loads(TERMS_FILE.read_text(encoding="utf-8"))["terms"]
    terms = {term.lower(): (term, meaning) for term, meaning in listed.items()}
    words = sorted(terms, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w-])", re.IGNORECASE
    )
    return terms, pattern


def terms_in(text: str, limit: int = 8) -> list[tuple[str, str]]:
    """(term, everyday meaning) for the listed words in ``text``, in the order they appear, each once."""
    terms, pattern = plain_terms()
    found = {}
    for match in pattern.finditer(text):
        term, meaning = terms[match.group(1).lower()]
        found.setdefault(term, meaning)
    return list(found.items())[:limit]


def _gloss(text: str) -> tuple[str, list[str]]:
    """The meanings of the listed words in a short phrase ("fracture: a broken bone") and those words."""
    found = [(term, meaning) for term, meaning in terms_in(text) if term != "unspecified"]
    return "; ".join(f"{term}: {meaning}" for term, meaning in found), [term for term, _ in found]


def dotless(code: str) -> str:
    return code.replace(".", "")


def side_of(title: str) -> tuple[str, re.Match] | None:
    """The side a title names ("right side", "left side", "both sides", "side not specified") and where."""
    for match in SIDE_PHRASE.finditer(title):
        word = match[1].lower()
        following = match[2].lower().split()
        if word == "bilateral":
            return "both sides", match
        if word in ("right", "left"):
            # "right heart failure" or "left main coronary artery" name a part of an organ, not a side.
            if following and (following[0] in PAIRED_PARTS or following[0] in SIDE_MODIFIERS):
                return f"{word} side", match
        elif following and following[0] in PAIRED_PARTS:
            return "side not specified", match
    return None


def seventh_meaning(meaning: str) -> tuple[str, str]:
    """(what a 7th character tells, its meaning in everyday words); phrases join with '; '."""
    text = meaning.lower()
    plain, kinds = [], []
    for phrase, words, kind in SEVENTH_PHRASES:
        if phrase.lower() in text:
            text = text.replace(phrase.lower(), " ")
            plain.append(words)
            kinds.append(kind)
    return (kinds[0] if kinds else "detail"), "; ".join(plain)


def condition_and_site(title: str, side_match: re.Match) -> tuple[str, str]:
    """Split a sided title into what it is and where: "Fracture of ... of right femur" -> ("Fracture", "... of femur")."""
    start = side_match.start()
    chunk_start = title.rfind(", ", 0, start)
    without_side = (title[:start] + title[side_match.end(1) :]).replace("  ", " ")
    if chunk_start != -1:  # "Lateral epicondylitis, left elbow": the site is the chunk that names the side
        condition = title[:chunk_start]
        chunk_end = title.find(", ", start)
        site = title[chunk_start + 2 : chunk_end if chunk_end != -1 else len(title)]
        site = SIDE_PHRASE.sub(lambda m: m[2], site, count=1)
        return condition.strip(), site.strip(" ,")
    of = title.find(" of ")
    if of != -1 and of < start:
        end = without_side.find(", ", of)
        return title[:of].strip(), without_side[of + 4 : end if end != -1 else None].strip()
    return title.split(",")[0].strip(), ""


def _parts(levels: Sequence[Level], side_level: Level | None, side: str, seventh: tuple[str, str] | None):
    """The code character by character: the category, then what each level below it adds."""
    parts = []
    previous = ""
    for level in levels:
        compact = dotless(level.code)
        added = compact[len(previous) :]
        if not previous:
            parts.append(Part(level.code, "Category (characters 1-3)", level.title))
        else:
            position = len(previous) + 1
            for offset, character in enumerate(added):
                at = position + offset
                if character == "X" and at > 3 and (seventh is None or at < 7 or offset < len(added) - 1):
                    parts.append(
                        Part(
                            "X",
                            f"{ORDINALS.get(at, f'{at}th')} character",
                            "placeholder",
                            "X holds the place so the code has the right length; it means nothing by itself",
                        )
                    )
                elif seventh is not None and at == 7:
                    _, plain = seventh_meaning(seventh[1])
                    parts.append(Part(character, "7th character", seventh[1], plain))
                else:
                    plain = side if level is side_level else ""
                    parts.append(
                        Part(character, f"{ORDINALS.get(at, f'{at}th')} character", level.title, plain)
                    )
        previous = compact
    return parts


def explain(
    *,
    levels: Sequence[Level],
    billable: bool,
    seventh: tuple[str, str] | None = None,
    needs_seventh: bool = False,
    inclusion_terms: Sequence[str] = (),
    inclusion_from: str = "",
    chapter_number: str = "",
    billable_below: int = 0,
) -> PlainWords:
    """Plain words for the last of ``levels`` (category first, the code itself last).

    ``seventh`` is (character, official meaning) for a code formed with a 7th
    character; ``needs_seventh`` says a code takes one it does not have yet.
    """
    code = levels[-1]
    # The title without the 7th character's words: that of the level the 7th character was added to.
    core = levels[-2].title if seventh and len(levels) > 1 else code.title
    words = PlainWords(code=code.code)

    side_level, side, side_match = None, "", None
    previous_side = None
    for level in levels[:-1] if seventh else levels:
        found = side_of(level.title)
        if found and previous_side is None:
            side_level, (side, _) = level, found
        previous_side = found
    found = side_of(core)
    if found:
        side, side_match = found
    seventh_kind = None
    if seventh:
        seventh_kind, seventh_plain = seventh_meaning(seventh[1])

    glossed = []
    if side_match:
        condition, site = condition_and_site(core, side_match)
    else:
        condition, site = core, ""
    for label, text in (("What", condition), ("Where", site)):
        if text:
            plain, used = _gloss(text)
            words.facts.append(Fact(label, text, plain))
            glossed += used
    if side_match:
        words.facts.append(Fact("Side", side))
    if seventh:
        character, meaning = seventh
        words.facts.append(Fact(SEVENTH_LABELS[seventh_kind], f"{character}: {meaning}", seventh_plain))
        glossed += [term for term, _ in terms_in(meaning)]

    words.parts = _parts(levels, side_level, side, seventh)
    words.terms = [t for t in terms_in(" ".join([code.title, *inclusion_terms])) if t[0] not in glossed]
    words.also_called = list(inclusion_terms)
    words.also_called_from = inclusion_from
    words.status = billable_status(
        billable=billable, needs_seventh=needs_seventh, billable_below=billable_below
    )
    words.chapter_note = CHAPTER_NOTES.get(chapter_number, "")
    return words


def billable_status(*, billable: bool, needs_seventh: bool, billable_below: int) -> str:
    """What "billable" means for this code, in a sentence."""
    if billable:
        return (
            "This is a complete code (“billable”): it is specific enough to be used on a medical record "
            "or an insurance claim."
        )
    if needs_seventh and not billable_below:
        return (
            "This is not a complete code: records add a 7th character that says, for example, which visit "
            "this is (see the 7th characters on this page)."
        )
    more = f"one of the {billable_below:,} more specific codes" if billable_below else "a more specific code"
    return f"This is a heading, not a complete code: a record or claim uses {more} under it."
