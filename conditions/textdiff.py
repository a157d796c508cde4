"""Word-level differences between two texts, with long unchanged stretches collapsed.

Plain Python (no Django): the compare page feeds it the rendered text of two
revisions and shows the pieces as <del>, <ins> and "… n unchanged words …".
"""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

# A word with the whitespace after it is one token (leading whitespace is one too), so joining the
# pieces gives back the text and a changed word is never interleaved with unchanged spaces.
_TOKENS = re.compile(r"^\s+|\S+\s*")
# Unchanged words kept on each side of a change; a longer unchanged run is collapsed in the middle.
CONTEXT_WORDS = 8


@dataclass(frozen=True)
class Piece:
    kind: str  # "same", "added", "removed" or "gap"
    text: str = ""
    words: int = 0  # for a gap: how many unchanged words it stands for


def _words(tokens) -> int:
    return sum(1 for token in tokens if not token.isspace())


def _collapse(tokens: list[str], *, first: bool, last: bool) -> list[Piece]:
    """An unchanged run: keep CONTEXT_WORDS words next to each change, collapse the rest."""
    word_positions = [i for i, token in enumerate(tokens) if not token.isspace()]
    keep_before = 0 if first else CONTEXT_WORDS  # words kept after the previous change
    keep_after = 0 if last else CONTEXT_WORDS  # words kept before the next change
    if len(word_positions) <= keep_before + keep_after + 2:
        return [Piece("same", "".join(tokens))]
    head_end = word_positions[keep_before] if keep_before else 0
    tail_start = word_positions[-keep_after] if keep_after else len(tokens)
    pieces = []
    if head_end:
        pieces.append(Piece("same", "".join(tokens[:head_end])))
    pieces.append(Piece("gap", words=_words(tokens[head_end:tail_start])))
    if tail_start < len(tokens):
        pieces.append(Piece("same", "".join(tokens[tail_start:])))
    return pieces


def word_diff(old: str, new: str) -> list[Piece]:
    """The pieces that turn `old` into `new`, word by word; empty when they are the same."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    if a == b:
        return []
    opcodes = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    pieces = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            pieces += _collapse(a[i1:i2], first=index == 0, last=index == len(opcodes) - 1)
            continue
        if tag in ("delete", "replace"):
            pieces.append(Piece("removed", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            pieces.append(Piece("added", "".join(b[j1:j2])))
    return pieces
