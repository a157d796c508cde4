"""The sample articles: published through the services, complete, sourced, and loaded only once."""

import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.core.management import call_command

from conditions.images import bundled_illustration
from conditions.models import Article, Code, Synonym
from conditions.sample_content import AUTHOR, HERE, read_article

AUTHORITATIVE_HOSTS = {
    "medlineplus.gov",
    "www.cdc.gov",
    "www.nhs.uk",
    "www.niddk.nih.gov",
    "www.nhlbi.nih.gov",
    "www.ninds.nih.gov",
    "www.niams.nih.gov",
    "www.nimh.nih.gov",
    "www.nidcd.nih.gov",
    "www.nei.nih.gov",
    "ods.od.nih.gov",
    "orthoinfo.aaos.org",
}
# The seed's shape: each heading, in this order, starts with one of these.
SECTIONS = (
    "Understanding ",
    "Causes",
    "Symptoms",
    "How it is found and treated",
    "When to see a doctor",
    "Living with",
)
# What a hand-drawn sample SVG may contain: shapes and text, nothing that loads or runs anything.
SVG = "{http://www.w3.org/2000/svg}"
SVG_TAGS = {
    f"{SVG}{tag}"
    for tag in ("svg", "g", "rect", "circle", "ellipse", "line", "path", "polyline", "polygon", "text")
}

SAMPLE_FILES = sorted((HERE / "articles").glob("*.md"))


@pytest.fixture
def loaded(db, media_root):
    call_command("load_sample_content", verbosity=0)


def test_loading_twice_adds_nothing(loaded, capsys):
    articles, synonyms = Article.objects.count(), Synonym.objects.count()
    call_command("load_sample_content")
    out = capsys.readouterr().out
    assert f"0 article(s) published, {len(SAMPLE_FILES)} already present, 0 synonym(s) added." in out
    assert (Article.objects.count(), Synonym.objects.count()) == (articles, synonyms)


def test_every_sample_file_is_published(loaded):
    codes = set(Article.objects.published().values_list("code_id", flat=True))
    assert codes == {path.stem for path in SAMPLE_FILES}


def test_at_least_forty_sample_articles_are_published(loaded):
    # Issue 13: enough articles for the conditions people look up most.
    assert Article.objects.published().count() >= 40
    for code in ("N39.0", "F32.A", "J44.9", "M17", "U07.1", "I48.91", "I50.9", "M54.50", "E11.9", "I10"):
        assert Article.objects.published().filter(code_id=code).exists(), code


def test_the_sample_articles_are_complete_and_name_no_reviewer(loaded):
    for article in Article.objects.prefetch_related("sources"):
        assert Code.objects.filter(pk=article.code_id, has_article=True).exists()
        assert article.body_html.count("<p>") >= 4 and "<ol>" in article.body_html, article.code_id
        # Nobody has medically reviewed the samples: no reviewer is named, and the author says so.
        assert article.medical_reviewer == "" and article.author == AUTHOR and "sample content" in AUTHOR
        assert article.last_reviewed
        assert article.illustration.name.endswith(".svg") and article.illustration.storage.exists(
            article.illustration.name
        )
        assert article.illustration_alt and article.illustration_caption and article.illustration_credit
        sources = list(article.sources.all())
        assert 2 <= len(sources) <= 4, article.code_id
        for source in sources:
            parts = urlsplit(source.url)
            assert parts.scheme == "https" and parts.netloc in AUTHORITATIVE_HOSTS, source.url
        assert article.history.filter(history_change_reason="Published").exists()


def test_the_sample_articles_follow_the_seed_sections(loaded):
    for article in Article.objects.all():
        headings = re.findall(r"<h3>(.*?)</h3>", article.body_html)
        assert len(headings) == len(SECTIONS), (article.code_id, headings)
        for heading, start in zip(headings, SECTIONS, strict=True):
            assert heading.startswith(start), (article.code_id, heading)
        last_paragraph = article.body_html.rstrip().rsplit("<p>", 1)[-1]
        assert "It is not medical advice" in last_paragraph, article.code_id


@pytest.mark.django_db
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.stem)
def test_each_sample_file_names_existing_codes_and_fits_the_model(path):
    meta, body = read_article(path)
    assert path.stem == meta["code"] and Code.objects.filter(pk=meta["code"]).exists()
    related = meta["related_codes"]
    assert related and meta["code"] not in related
    assert Code.objects.filter(pk__in=related).count() == len(related), path.name
    assert len(meta["title"]) <= Article._meta.get_field("title").max_length
    assert len(meta["summary"]) <= Article._meta.get_field("summary").max_length
    assert len(meta["illustration_alt"]) <= Article._meta.get_field("illustration_alt").max_length
    assert len(meta["illustration_caption"]) <= Article._meta.get_field("illustration_caption").max_length
    assert len({url for _, url in meta["sources"]}) == len(meta["sources"])


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.stem)
def test_each_illustration_passes_the_bundled_checks_and_holds_only_drawing(path):
    meta, _ = read_article(path)
    svg = HERE / "illustrations" / meta["illustration"]
    assert svg.name == f"{meta['code']}.svg"
    assert (bundled_illustration(svg).image_width, bundled_illustration(svg).image_height) == (640, 400)
    root = ElementTree.fromstring(svg.read_bytes())
    assert root.get("viewBox") == "0 0 640 400" and root.get("role") == "img"
    for element in root.iter():
        assert element.tag in SVG_TAGS, (svg.name, element.tag)
        for name in element.attrib:
            assert "href" not in name and not name.lower().startswith("on"), (svg.name, name)
        assert "url(" not in " ".join(element.attrib.values()), svg.name


def test_synonyms_point_at_existing_codes(loaded):
    for synonym in Synonym.objects.exclude(code=None):
        assert Code.objects.filter(pk=synonym.code_id).exists(), synonym.term
