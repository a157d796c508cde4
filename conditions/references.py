"""Code references inside official note text: "(Z16.-)", "(S09.90)", "(M97.0-)", "(P10-P15)".

Plain Python: the page data uses it to find which references exist, the
``link_codes`` template filter to link them.
"""

import re

from .icd10cm import CATEGORY

_CODE = rf"{CATEGORY}(?:\.[0-9A-Z]{{1,4}})?"
CODE_REFERENCE = re.compile(rf"\b(?P<start>{_CODE})(?:-(?P<end>{_CODE}))?(?:\.?-)?(?![0-9A-Za-z])")
PARENTHESES = re.compile(r"\(([^()]*)\)")


def mentioned_references(texts):
    """Every code, range end and range named in parentheses in ``texts``."""
    mentioned = set()
    for text in texts:
        for inner in PARENTHESES.findall(text):
            for match in CODE_REFERENCE.finditer(inner):
                mentioned.add(match["start"])
                if match["end"]:
                    mentioned.update((match["end"], f"{match['start']}-{match['end']}"))
    return mentioned
