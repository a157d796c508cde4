"""Article bodies: Markdown rendered with markdown-it-py, then sanitized with nh3.

Raw HTML in the Markdown is shown as text, and the rendered HTML is cleaned
anyway: only a short list of tags survives, no attribute that runs script,
URLs limited to http, https and mailto (or relative), external links marked
rel="noopener nofollow", no images (the article's own illustration is shown apart).
Headings move down a level: the page owns its h1.
"""

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


def html_to_text(html: str) -> str:
    """Plain text of sanitized HTML, for search."""
    return " ".join(unescape(nh3.clean(html, tags=set())).split())
