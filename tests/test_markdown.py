"""Article bodies: Markdown features survive, and no XSS payload gets through the sanitizer."""

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conditions.markdown import ALLOWED_TAGS, html_to_text, render_markdown

PAYLOADS = [
    line
    for line in (Path(__file__).parent / "xss_payloads.txt").read_text().splitlines()
    if line.strip() and not line.startswith("# ")
]
# Each payload as text, as a link target, as an image source and inside a list item.
CASES = [
    variant
    for payload in PAYLOADS
    for variant in (payload, f"[click]({payload})", f"![image]({payload})", f"1. {payload}\n2. after")
]
SAFE_SCHEMES = {"http", "https", "mailto"}


class Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def elements(markup):
    parser = Elements()
    parser.feed(markup)
    parser.close()
    return parser.elements


def url_scheme(url):
    # Browsers ignore whitespace and control characters inside a scheme; so does this check.
    squeezed = re.sub(r"[\x00-\x20]", "", html.unescape(url)).lower()
    match = re.match(r"^([a-z][a-z0-9+.\-]*):", squeezed)
    return match.group(1) if match else None


def test_the_payload_list_is_substantial():
    assert len(PAYLOADS) >= 90


@pytest.mark.parametrize("text", CASES)
def test_no_payload_survives(text):
    rendered = render_markdown(text)
    for tag, attrs in elements(rendered):
        assert tag in ALLOWED_TAGS, (tag, rendered)
        for name, value in attrs.items():
            assert not name.startswith("on"), rendered
            assert name in {"href", "src", "alt", "title", "rel", "start"}, (name, rendered)
            if name in {"href", "src"}:
                assert url_scheme(value or "") in SAFE_SCHEMES | {None}, rendered
    assert "<script" not in rendered.lower()


def test_markdown_features_render():
    rendered = render_markdown(
        "# Heading\n\nSome **bold** and *italic* text.\n\n1. First\n2. Second\n\n- a\n- b\n\n"
        "> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h2>Heading</h2>" in rendered  # the page owns its h1
    assert "<strong>bold</strong>" in rendered and "<em>italic</em>" in rendered
    assert "<ol>\n<li>First</li>\n<li>Second</li>\n</ol>" in rendered
    assert "<blockquote>" in rendered and "<table>" in rendered


def test_external_links_get_rel_internal_links_do_not():
    rendered = render_markdown(
        "[CDC](https://www.cdc.gov/diabetes/) and [I10](/codes/I10/) and [mail](mailto:a@example.org)"
    )
    assert '<a href="https://www.cdc.gov/diabetes/" rel="noopener nofollow">CDC</a>' in rendered
    assert '<a href="/codes/I10/">I10</a>' in rendered
    assert '<a href="mailto:a@example.org">mail</a>' in rendered


def test_raw_html_is_shown_as_text():
    assert render_markdown("<b>bold</b>") == "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"


def test_plain_text_for_search():
    assert (
        html_to_text(render_markdown("Pain &amp; *swelling*\n\n1. Rest\n2. Ice"))
        == "Pain & swelling Rest Ice"
    )
