"""Presentation of the public pages, called from their Jinja2 templates (icdsite/jinja2.py makes them globals and
filters): code links inside note text, code trees, numbers, structured data for search engines, editors' links.
"""

import json
import textwrap
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from . import caching
from .addresses import code_url, page_url, page_urls
from .markdown import render_markdown
from .models.content import validate_web_url
from .references import CODE_REFERENCE, PARENTHESES


def thousands(number) -> str:
    """An integer with its thousands grouped, as the site writes counts: 98,505."""
    return f"{number:,}"


def plural(count) -> str:
    """ "s" unless there is exactly one: ``code{{ n|plural }}``."""
    return "" if count == 1 else "s"


def _code_link(code, text=None):
    return format_html('<a href="{}">{}</a>', code_url(code), text or code)


def _reference_link(match, known):
    """Link a reference: a range to its block or chapter, a code to its page; what does not exist stays text."""
    start, end, text = match["start"], match["end"], match.group(0)
    if end and f"{start}-{end}" in known:
        target = known[f"{start}-{end}"]
        view = "conditions:block" if "-" in target else "conditions:chapter"
        return format_html('<a href="{}">{}</a>', page_url(view, target), text)
    if end:
        # A range that is no block: link each end that exists.
        parts = [_code_link(c) if c in known else escape(c) for c in (start, end)]
        return mark_safe(f"{parts[0]}-{parts[1]}{escape(text[len(start) + 1 + len(end) :])}")
    if start in known:
        return _code_link(start, text)
    return escape(text)


def link_codes(text, known):
    """Escape a note's text and link the codes, blocks and chapters it names in parentheses.

    ``known`` maps the references that exist to their target (the page data's ``references``),
    so no link leads to a 404.
    """
    known = known or {}
    out, last = [], 0
    for paren in PARENTHESES.finditer(text):
        inner_start = paren.start(1)
        out.append(escape(text[last:inner_start]))
        inner, pos = paren.group(1), 0
        for match in CODE_REFERENCE.finditer(inner):
            out.append(escape(inner[pos : match.start()]))
            out.append(_reference_link(match, known))
            pos = match.end()
        out.append(escape(inner[pos:]))
        last = paren.end(1)
    out.append(escape(text[last:]))
    return mark_safe("".join(out))


def script_json(data):
    """JSON safe inside a <script> element (such as JSON-LD): <, > and & cannot close it."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)


@lru_cache(maxsize=256)  # chapter titles on the code card: the same few lines on thousands of pages
def wrap_lines(text, spec="34,3"):
    """``text`` wrapped to lines of at most the first number of characters, at most the second number of lines."""
    width, most = (int(part) for part in spec.split(","))
    lines = textwrap.wrap(text, width)
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][: width - 3].rstrip() + "…"
    return tuple(lines)


def code_description(page):
    """The page's one-line description: the article's summary, else the code, title and billable status."""
    if page.article:
        return page.article.summary
    code = page.code
    status = (
        "Billable: use this code"
        if code.billable
        else "Not billable: choose one of the more specific codes below"
    )
    return f"ICD-10-CM {code.code}: {code.title}. {status}."


def code_json_ld(page, url):
    """schema.org MedicalCondition data of a code page, ready for a JSON-LD <script> element."""
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalCondition",
        "name": page.code.title,
        "url": url,
        "description": code_description(page),
        "code": {"@type": "MedicalCode", "code": page.code.code, "codingSystem": "ICD-10-CM"},
    }
    if page.article:
        data["alternateName"] = page.article.title
    return script_json(data)


def lead_ins(notes):
    """Notes with each lead-in line ("code to identify control using:") holding the lines under it.

    Returns [{"text": ..., "items": [...]}]: a note ending with a colon introduces the notes that follow it,
    up to the next lead-in.
    """
    shaped, current = [], None
    for text in notes:
        if text.rstrip().endswith(":"):
            current = {"text": text, "items": []}
            shaped.append(current)
        elif current is not None:
            current["items"].append(text)
        else:
            shaped.append({"text": text, "items": []})
    return shaped


def distinguishing(title, parent_title):
    """What a child's title adds to its parent's: "…, right shoulder" under "Paralytic ... of muscle, shoulder".

    The comma-separated parts the child shares with its parent from the start are left out; the whole title
    when it shares none (or nothing would be left).
    """
    parts, parent_parts = title.split(", "), (parent_title or "").split(", ")
    shared = 0
    while shared < min(len(parts) - 1, len(parent_parts)) and parts[shared] == parent_parts[shared]:
        shared += 1
    return "…, " + ", ".join(parts[shared:]) if shared else title


def code_tree(nodes, parent_title):
    """The codes under a code as nested lists, each child titled by what distinguishes it from its parent.

    Written in Python rather than as a recursive include: a category's tree holds up to 300 codes, and an
    include per node cost more than the rest of the page.
    """
    return mark_safe("".join(_tree_parts(nodes, parent_title, page_urls("conditions:code"))))


def _tree_parts(nodes, parent_title, code_url):
    yield "<ul>"
    for node in nodes:
        yield format_html(
            '\n<li><a href="{}"><span class="code">{}</span> {}</a>',
            code_url(node.code),
            node.code,
            distinguishing(node.title, parent_title),
        )
        if node.billable:
            yield ' <span class="badge badge--billable">Billable</span>'
        if node.count:
            yield format_html(
                ' <span class="muted">({} code{})</span>', thousands(node.count), plural(node.count)
            )
        if node.children:
            yield from _tree_parts(node.children, node.title, code_url)
        yield "</li>"
    yield "\n</ul>\n"


def note_source(source, references, own_label=""):
    """One level's notes of a kind (``pages.NoteSource``): where they come from, then each note with the codes
    it names linked, a lead-in line holding the lines under it.

    A note inherited from a block, a chapter or an ancestor reads the same on every code under it: that HTML
    is made once per content version in this process (``caching.per_version``).
    """
    if source.level == "self":
        return _note_source_html(source, references, own_label)
    made = caching.per_version("note-source-html", dict, otherwise=dict)
    key = (source.level, source.owner, source.url, tuple(source.notes))
    if key not in made:
        made[key] = _note_source_html(source, references, own_label)
    return made[key]


def _note_source_html(source, references, own_label):
    parts = ['<div class="note-source">']
    if source.url:
        parts.append(
            format_html(
                '<p class="note-origin"><a href="{}">From {} {}</a></p>',
                source.url,
                source.level,
                source.owner,
            )
        )
    elif source.level == "self" and own_label:
        parts.append(format_html('<p class="note-origin">{}</p>', own_label))
    parts.append("<ul>")
    for note in lead_ins(source.notes):
        parts.append(f"<li>{link_codes(note['text'], references)}")
        if note["items"]:
            items = "".join(f"<li>{link_codes(item, references)}</li>" for item in note["items"])
            parts.append(f"\n<ul>{items}</ul>")
        parts.append("</li>")
    parts.append("</ul>\n</div>")
    return mark_safe("".join(parts))


def markdown(text: str) -> str:
    """A description written in Markdown (CommonMark, as OpenAPI says), sanitized like articles."""
    return mark_safe(render_markdown(text))  # noqa: S308 (render_markdown sanitizes with nh3)


def as_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def web_url(url: str) -> str:
    """The address if it is an http or https URL, else "" (a javascript: source stored by any path is no link)."""
    try:
        validate_web_url(url)
    except ValidationError:
        return ""
    return url
