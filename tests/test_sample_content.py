"""The sample articles: published through the services, complete, and loaded only once."""

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from conditions.models import Article, Code, Synonym
from conditions.sample_content import HERE, read_article

AUTHORITATIVE_HOSTS = {
    "medlineplus.gov",
    "www.cdc.gov",
    "www.niddk.nih.gov",
    "www.nhlbi.nih.gov",
    "www.ninds.nih.gov",
    "www.niams.nih.gov",
    "orthoinfo.aaos.org",
}


@pytest.fixture
def loaded(db, media_root):
    call_command("load_sample_content", verbosity=0)


def test_loading_twice_adds_nothing(loaded, capsys):
    articles, synonyms = Article.objects.count(), Synonym.objects.count()
    call_command("load_sample_content")
    assert "0 article(s) published, 8 already present, 0 synonym(s) added." in capsys.readouterr().out
    assert (Article.objects.count(), Synonym.objects.count()) == (articles, synonyms)


def test_the_sample_articles_are_published_and_complete(loaded):
    codes = set(Article.objects.published().values_list("code_id", flat=True))
    assert {"M61.2", "I10", "E11.9", "J45.909", "M77.1", "G43.909", "K21.9", "M54.50"} <= codes
    for article in Article.objects.prefetch_related("sources"):
        assert Code.objects.filter(pk=article.code_id, has_article=True).exists()
        assert article.body_html.count("<p>") >= 4 and "<ol>" in article.body_html, article.code_id
        assert article.medical_reviewer and article.last_reviewed and article.author
        assert article.illustration.name.endswith(".svg") and article.illustration.storage.exists(
            article.illustration.name
        )
        assert article.illustration_alt and article.illustration_caption and article.illustration_credit
        sources = list(article.sources.all())
        assert len(sources) >= 2
        for source in sources:
            parts = urlsplit(source.url)
            assert parts.scheme == "https" and parts.netloc in AUTHORITATIVE_HOSTS, source.url
        assert article.history.filter(history_change_reason="Published").exists()


@pytest.mark.django_db
def test_every_sample_file_names_an_existing_code_and_its_related_codes_exist():
    for path in sorted((HERE / "articles").glob("*.md")):
        meta, body = read_article(path)
        assert path.stem == meta["code"] and Code.objects.filter(pk=meta["code"]).exists()
        assert Code.objects.filter(pk__in=meta["related_codes"]).count() == len(meta["related_codes"]), (
            path.name
        )
        assert (HERE / "illustrations" / meta["illustration"]).exists()
        assert len(meta["summary"]) <= 320


def test_synonyms_point_at_existing_codes(loaded):
    for synonym in Synonym.objects.exclude(code=None):
        assert Code.objects.filter(pk=synonym.code_id).exists(), synonym.term
