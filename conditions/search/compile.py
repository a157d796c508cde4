"""A resolved query as a small tree, compiled to PostgreSQL tsquery text in one place.

Nodes carry prefix matching and negation as attributes; weights (A: code and
title, B: inclusion terms, C: article, D: other notes) are chosen at compile
time, so the same tree gives "anywhere", "in the title" and "any word in the
notes" without patching the compiled text. Escaping happens here and only here.
"""

from __future__ import annotations

from dataclasses import dataclass

# A copy of PostgreSQL's english configuration that strips accents first (created by a migration).
SEARCH_CONFIG = "icd_english"


@dataclass(frozen=True)
class Lexeme:
    word: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Lexeme | Phrase | Not | And | Or


def quote(word: str) -> str:
    """A tsquery operand: quoted, with quotes and backslashes escaped."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def label(prefix: bool, weights: str) -> str:
    return f":{'*' if prefix else ''}{weights}" if prefix or weights else ""


def tsquery(node: Node | None, weights: str = "") -> str:
    """to_tsquery() text for the tree, matching only lexemes of ``weights`` when given."""
    if node is None:
        return ""
    if isinstance(node, Lexeme):
        return quote(node.word) + label(node.prefix, weights)
    if isinstance(node, Phrase):
        return "(" + " <-> ".join(quote(w) + label(False, weights) for w in node.words) + ")"
    if isinstance(node, Not):
        return "!" + tsquery(node.node, weights)
    parts = [tsquery(n, weights) for n in node.nodes]
    joined = (" & " if isinstance(node, And) else " | ").join(p for p in parts if p)
    return f"({joined})" if len(parts) > 1 else joined


def lexemes(node: Node | None) -> list[Lexeme]:
    """The positive operands of the tree, each once, in order."""
    if node is None or isinstance(node, Not):
        return []
    if isinstance(node, Lexeme):
        return [node]
    if isinstance(node, Phrase):
        return [Lexeme(w) for w in node.words]
    return list(dict.fromkeys(lexeme for child in node.nodes for lexeme in lexemes(child)))


def any_of(node: Node | None) -> Node | None:
    """A tree matching rows where any positive word of ``node`` occurs."""
    found = lexemes(node)
    return Or(tuple(found)) if len(found) > 1 else (found[0] if found else None)


def all_of(nodes) -> Node | None:
    nodes = tuple(n for n in nodes if n is not None)
    return And(nodes) if len(nodes) > 1 else (nodes[0] if nodes else None)


def one_of(nodes) -> Node | None:
    nodes = tuple(dict.fromkeys(n for n in nodes if n is not None))
    return Or(nodes) if len(nodes) > 1 else (nodes[0] if nodes else None)
