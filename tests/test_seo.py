"""What search engines and link previews read: titles, descriptions, canonical links, JSON-LD, sitemaps, robots.txt."""

import html
import json
import re
import xml.etree.ElementTree as ET

import pytest

from conditions.models import Article, Block, Chapter, Code

pytestmark = pytest.mark.django_db

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def head_of(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    return html, html[: html.index("</head>")]


def meta(head, attribute, name):
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', head)
    return match.group(1) if match else None


def json_ld(head):
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', head, re.S).group(1))


def test_code_page_title_description_canonical_and_open_graph(client):
    _, head = head_of(client, "/codes/M61.2/")
    assert (
        "<title>M61.2 Paralytic calcification and ossification of muscle | ICD-10-CM | icdsite</title>"
        in head
    )
    assert meta(head, "name", "description") == (
        "ICD-10-CM M61.2: Paralytic calcification and ossification of muscle. "
        "Not billable: choose one of the more specific codes below."
    )
    assert '<link rel="canonical" href="http://testserver/codes/M61.2/">' in head
    assert meta(head, "property", "og:title") == "M61.2 Paralytic calcification and ossification of muscle"
    assert meta(head, "property", "og:url") == "http://testserver/codes/M61.2/"
    assert meta(head, "property", "og:type") == "article"


def test_code_page_json_ld_is_a_medical_condition_with_its_code(client):
    _, head = head_of(client, "/codes/M61.2/")
    assert json_ld(head) == {
        "@context": "https://schema.org",
        "@type": "MedicalCondition",
        "name": "Paralytic calcification and ossification of muscle",
        "url": "http://testserver/codes/M61.2/",
        "description": "ICD-10-CM M61.2: Paralytic calcification and ossification of muscle. "
        "Not billable: choose one of the more specific codes below.",
        "code": {"@type": "MedicalCode", "code": "M61.2", "codingSystem": "ICD-10-CM"},
    }


def test_published_article_summary_becomes_the_description(client):
    Article.objects.create(
        code_id="M61.2",
        title="Bone in muscle </script><b>",
        summary='Bone forms in "muscle" after paralysis & injury.',
        body="x",
        body_html="<p>x</p>",
        author="A",
        status=Article.Status.PUBLISHED,
    )
    _, head = head_of(client, "/codes/M61.2/")
    # Escaped inside the attribute (the quote as &quot; or &#34;: the attribute ends only after it), read back whole.
    description = meta(head, "name", "description")
    assert "&amp;" in description
    assert html.unescape(description) == 'Bone forms in "muscle" after paralysis & injury.'
    data = json_ld(head)
    assert data["description"] == 'Bone forms in "muscle" after paralysis & injury.'
    assert data["alternateName"] == "Bone in muscle </script><b>"
    assert "</script><b>" not in head.split('application/ld+json">')[1].split("</script>")[0]


def test_draft_summary_never_reaches_the_description(client):
    Article.objects.create(
        code_id="M61.2", title="t", summary="Draft summary", body="x", body_html="<p>x</p>", author="A"
    )
    html, _ = head_of(client, "/codes/M61.2/")
    assert "Draft summary" not in html


@pytest.mark.parametrize(
    "path,canonical",
    [
        ("/", "http://testserver/"),
        ("/chapters/13/", "http://testserver/chapters/13/"),
        ("/blocks/M60-M63/", "http://testserver/blocks/M60-M63/"),
    ],
)
def test_listing_pages_have_canonical_links(client, path, canonical):
    _, head = head_of(client, path)
    assert f'<link rel="canonical" href="{canonical}">' in head
    assert meta(head, "name", "description")


def test_sitemap_index_covers_every_page_in_files_of_at_most_50000(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    index = ET.fromstring(response.content)
    files = [loc.text for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS)]
    assert files == [
        "http://testserver/sitemap-pages.xml",
        "http://testserver/sitemap-chapters.xml",
        "http://testserver/sitemap-blocks.xml",
        "http://testserver/sitemap-codes.xml",
        "http://testserver/sitemap-codes.xml?p=2",
    ]
    urls = []
    for address in files:
        part = client.get(address.removeprefix("http://testserver"))
        assert part.status_code == 200
        locs = [loc.text for loc in ET.fromstring(part.content).findall("sm:url/sm:loc", SITEMAP_NS)]
        assert 0 < len(locs) <= 50_000
        urls.extend(locs)
    assert (
        len(urls)
        == len(set(urls))
        == 1 + Chapter.objects.count() + Block.objects.count() + Code.objects.count()
    )
    assert "http://testserver/codes/M61.2/" in urls
    assert "http://testserver/codes/W21.89XA/" in urls
    assert "http://testserver/blocks/M60-M63/" in urls
    assert "http://testserver/chapters/22/" in urls


def test_sitemap_page_out_of_range_is_404(client):
    assert client.get("/sitemap-codes.xml?p=9").status_code == 404
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /admin/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines


def test_private_pages_are_not_indexed(client):
    assert '<meta name="robots" content="noindex">' in client.get("/saved/").content.decode()
    assert '<meta name="robots" content="noindex">' in client.get("/codes/Z99.999/").content.decode()
