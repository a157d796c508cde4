"""The shipped lay-term vocabulary: its size and kinds, its targets against the imported code set, loading it."""

from collections import Counter

import pytest
from django.core.management import call_command

from conditions.lay_terms import VocabularyError, read_lay_terms
from conditions.models import Code, Synonym
from conditions.search import Fallback, understand

pytestmark = pytest.mark.django_db

ENTRIES = read_lay_terms()


def test_the_vocabulary_is_large_and_covers_every_kind():
    kinds = Counter(entry.kind for entry in ENTRIES)
    assert len(ENTRIES) >= 600
    assert kinds["abbreviation"] >= 60 and kinds["care"] >= 40 and kinds["body part"] >= 40
    terms = {entry.term for entry in ENTRIES}
    for term in [
        "afib",
        "dvt",
        "uti",
        "copd",
        "gerd",
        "ibs",
        "pcos",
        "acl",
        "adhd",
        "ptsd",
        "flu shot",
        "checkup",
    ]:
        assert term in terms, term
    for term in ["pregnancy test", "vaccination", "broken", "heart attack", "pink eye", "water on the knee"]:
        assert term in terms, term


def test_every_code_target_exists_in_the_imported_code_set():
    targets = {entry.code for entry in ENTRIES if entry.code}
    existing = set(Code.objects.filter(code__in=targets).values_list("code", flat=True))
    assert targets - existing == set()


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.meaning], ids=lambda e: e.term)
def test_every_meaning_finds_codes_by_all_its_words(entry):
    query = understand(entry.meaning)
    assert query.fallback is Fallback.ALL and not query.corrected, entry
    assert Code.objects.search(query).exists(), entry


def test_a_malformed_file_names_its_line(tmp_path):
    bad = tmp_path / "terms.txt"
    bad.write_text("# comment\neveryday | flu | J11.1 | influenza\nsideways | x | | y\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="terms.txt:3"):
        read_lay_terms(bad)
    bad.write_text("everyday | Flu | J11.1 | influenza\nspelling | flu | | influenza\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="repeats line 1"):
        read_lay_terms(bad)


def test_loading_keeps_every_editors_change_and_deletion(capsys):
    assert Synonym.objects.count() == len(ENTRIES)  # the session loaded the whole vocabulary
    Synonym.objects.filter(term="heart attack").update(meaning="cardiac infarction")
    Synonym.objects.get(term="pink eye").delete()  # through the model: its history records the deletion
    call_command("load_synonyms")
    assert "0 added" in capsys.readouterr().out
    assert Synonym.objects.get(term="heart attack").meaning == "cardiac infarction"
    assert not Synonym.objects.filter(term="pink eye").exists()
    Synonym.objects.filter(term="flu shot").update(code=None)
    Synonym.history.filter(term="pink eye").delete()
    call_command("load_synonyms", verbosity=0)
    assert Synonym.objects.get(term="pink eye").code_id == "H10"  # never deleted by an editor: restored
    assert Synonym.objects.get(term="flu shot").code_id is None
