"""Article bodies: Markdown rendered with markdown-it-py, then sanitized with nh3.

Raw HTML in the Markdown is shown as text, and the rendered HTML is cleaned
anyway: only a short list of tags survives, no attribute that runs script,
URLs limited to http, https and mailto (or relative), external links marked
rel="noopener nofollow", no images (the article's own illustration is shown apart).
Headings move down a level: the page owns its h1.
"""

import re
from html import escape, unescape
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "s",
}
# No <img>: an image in the body would load from wherever its address points (tracking, mixed content);
# an article shows only its own uploaded illustration. A Markdown image becomes its alt text.
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "rel"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
EXTERNAL_REL = "noopener nofollow"

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


def _heading_open(renderer, tokens, idx, options, env):
    token = tokens[idx]
    level = min(int(token.tag[1]) + 1, 6)
    return f"<h{level}>"


def _heading_close(renderer, tokens, idx, options, env):
    level = min(int(tokens[idx].tag[1]) + 1, 6)
    return f"</h{level}>\n"


def _link_open(renderer, tokens, idx, options, env):
    token = tokens[idx]
    if is_external(token.attrGet("href") or ""):
        token.attrSet("rel", EXTERNAL_REL)
    return renderer.renderToken(tokens, idx, options, env)


_md.add_render_rule("heading_open", _heading_open)
_md.add_render_rule("heading_close", _heading_close)


def _image(renderer, tokens, idx, options, env):
    return escape(tokens[idx].content)


_md.add_render_rule("link_open", _link_open)
_md.add_render_rule("image", _image)


def is_external(url: str) -> bool:
    """True for a URL that leaves the site: it has a scheme or a host of its own."""
    parts = urlsplit(url.strip())
    return bool(parts.scheme or parts.netloc) and parts.scheme != "mailto"


def _keep_attribute(element, attribute, value):
    # rel is only ever set by the renderer above; anything else is dropped.
    if attribute == "rel" and value != EXTERNAL_REL:
        return None
    return value


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes=URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Safe HTML for an article body written in Markdown."""
    return sanitize_html(_md.render(text or ""))


def rendered_text(text: str) -> str:
    """The text a reader sees of a Markdown body, paragraph breaks kept (for word diffs)."""
    return unescape(nh3.clean(render_markdown(text), tags=set())).strip()


def html_to_text(html: str) -> str:
    """Plain text of sanitized HTML, for search."""
    return " ".join(unescape(nh3.clean(html, tags=set())).split())


# --- Checks on save: what renders, but not as the editor meant -------------------------------
BODY_MAX_BYTES = 100 * 1024
# What is left of a link after markdown-it refused it: "[text](..." or "[text][ref]" as plain text.
_BROKEN_LINK = re.compile(r"!?\[[^\]\n]*\](?:\([^)\n]*\)?|\[[^\]\n]*\])")
_LOOKS_LIKE_HOST = re.compile(r"^(?:www\.|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:[/:?#]|$))", re.IGNORECASE)


def _link_problem(url: str, text: str) -> str | None:
    url = url.strip()
    label = text or url
    if not url:
        return f"The link “{label}” has no address: write it as [text](https://…)."
    parts = urlsplit(url)
    if parts.scheme:
        if parts.scheme.lower() not in URL_SCHEMES:
            return (
                f"The link “{label}” starts with “{parts.scheme}:”, which is not a web address: "
                "use https://, http:// or mailto:."
            )
        if parts.scheme.lower() in {"http", "https"} and not parts.netloc:
            return f"The link “{label}” has no site name after {parts.scheme}://."
        return None
    if url.startswith(("/", "#")):
        return None  # a page or a section of this site
    if _LOOKS_LIKE_HOST.match(url):
        return f"The link “{label}” ({url}) has no scheme: write https://{url}."
    return f"The link “{label}” ({url}) is not a full address: write it with https://."


def markdown_problems(text: str) -> list[str]:
    """What an editor should fix before saving this body: bad links, references, headings, size.

    Raw HTML and script are not problems here: the renderer shows them as text and the sanitizer
    removes what is dangerous. These are mistakes that would publish a broken page.
    """
    text = text or ""
    size = len(text.encode())
    if size > BODY_MAX_BYTES:
        return [
            f"The body is {size // 1024} KB; the limit is {BODY_MAX_BYTES // 1024} KB. Split it or shorten it."
        ]
    problems = []
    previous_level = None
    tokens = _md.parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            level = int(token.tag[1])
            title = tokens[index + 1].content if index + 1 < len(tokens) else ""
            if previous_level is not None and level > previous_level + 1:
                problems.append(
                    f"The heading “{title}” jumps from level {previous_level} to level {level}: "
                    f"use {'#' * (previous_level + 1)} for it."
                )
            previous_level = level
        if token.type != "inline":
            continue
        children = token.children or []
        plain = []
        for position, child in enumerate(children):
            if child.type == "link_open":
                label = children[position + 1].content if position + 1 < len(children) else ""
                problem = _link_problem(child.attrGet("href") or "", label)
            elif child.type == "image":
                problem = _link_problem(child.attrGet("src") or "", child.content)
            else:
                problem = None
                if child.type == "text":
                    plain.append(child.content)
            if problem:
                problems.append(problem)
        for match in _BROKEN_LINK.finditer("".join(plain)):
            problems.append(
                f"“{match.group()}” is not a link: close it as [text](https://…) "
                "or define the reference [name]: https://… on a line of its own."
            )
    return problems
