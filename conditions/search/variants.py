"""Variants of a condition that rank below the main condition unless the query names them.

Neonatal, pregnancy, poisoning, "history of", screening and "in diseases
classified elsewhere" codes, and injuries' later encounters (subsequent and
sequela 7th characters). Which variant a code is depends on its own row
only, so the code table stores it (``Code.search_variant``) with its penalty
folded into the stored ranking prior; a query naming a variant lifts the
penalty again. Plain expressions: the models import this module.
"""

from __future__ import annotations

import re

from django.db.models import Case, FloatField, Q, SmallIntegerField, Value, When

MAIN = 0
# number, the words that name it (beginnings; a trailing "=" asks for the whole word), the codes, the penalty.
VARIANTS = {
    "sequela": (8, ("sequela", "late="), Q(code__regex=r"^.{7}S$"), 0.15),
    "subsequent encounter": (
        7,
        ("subsequent", "aftercare", "healing", "nonunion", "malunion", "sequela"),
        Q(code__regex=r"^.{7}[DGHJKMNPQR]$"),
        0.3,
    ),
    "neonatal": (
        1,
        ("newborn", "neonat", "perinat", "fetus", "fetal", "birth", "infant", "baby", "babies"),
        Q(code__regex=r"^P"),
        0.3,
    ),
    "pregnancy": (
        2,
        (
            "pregnan",
            "obstet",
            "matern",
            "gestat",
            "childbirth",
            "labor=",
            "labour=",
            "deliver",
            "puerper",
            "postpartum",
            "prenatal",
            "antenatal",
            "trimester",
            "miscarr",
            "abortion",
            "fetus",
            "fetal",
        ),
        Q(code__regex=r"^(O|Z3[3-9]|Z3A)"),
        0.3,
    ),
    "poisoning": (
        3,
        ("poison", "overdos", "toxic", "adverse", "underdos", "venom", "drug", "medicat"),
        Q(code__regex=r"^T(3[6-9]|[45][0-9]|6[0-5])"),
        0.3,
    ),
    "history": (4, ("history",), Q(code__regex=r"^(Z8[0-9]|Z9[0-2])"), 0.3),
    "screening": (5, ("screen",), Q(code__regex=r"^Z1[1-3]"), 0.3),
    "elsewhere": (6, ("elsewhere",), Q(title__contains="classified elsewhere"), 0.3),
}


def variant_number():
    """The stored column's expression: which variant a code is (MAIN for the main condition)."""
    return Case(
        *(When(condition, then=Value(number)) for number, _, condition, _ in VARIANTS.values()),
        default=Value(MAIN),
        output_field=SmallIntegerField(),
    )


def variant_penalty():
    """The factor folded into the stored ranking prior."""
    return Case(
        *(When(condition, then=Value(penalty)) for _, _, condition, penalty in VARIANTS.values()),
        default=Value(1.0),
        output_field=FloatField(),
    )


def _naming(starts) -> re.Pattern:
    """A pattern finding a word that names the variant: one starting with a beginning, or a whole word."""
    words = [re.escape(s[:-1]) + r"(?!\S)" if s.endswith("=") else re.escape(s) for s in starts]
    return re.compile(r"(?<!\S)(?:" + "|".join(words) + ")")


NAMING = {variant: _naming(starts) for variant, (_, starts, _, _) in VARIANTS.items()}


def named_variants(text: str) -> frozenset[str]:
    """The variants a query's words name."""
    return frozenset(variant for variant, pattern in NAMING.items() if pattern.search(text))


def lifted(named) -> dict[int, float]:
    """Variant number -> the factor that undoes its penalty, for the variants a query names."""
    return {VARIANTS[v][0]: 1 / VARIANTS[v][3] for v in named}
