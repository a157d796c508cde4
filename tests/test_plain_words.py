"""Plain words on code pages: the generator on its own (pure) and on real pages of the imported code set."""

import datetime
import re
from dataclasses import dataclass

import pytest

from conditions import plain_words
from conditions.models import Article, Code

pytestmark = pytest.mark.django_db  # the official code set the session imported


@dataclass
class Level:
    code: str
    title: str


FEMUR = [
    Level("S72", "Fracture of femur"),
    Level("S72.0", "Fracture of head and neck of femur"),
    Level("S72.00", "Fracture of unspecified part of neck of femur"),
    Level("S72.001", "Fracture of unspecified part of neck of right femur"),
    Level(
        "S72.001A",
        "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture",
    ),
]


def facts(words):
    return {fact.label: fact for fact in words.facts}


# --- The generator, without a database ----------------------------------------


def test_a_fracture_code_names_what_where_side_and_visit():
    words = plain_words.explain(
        levels=FEMUR, billable=True, seventh=("A", "initial encounter for closed fracture")
    )
    found = facts(words)
    assert found["What"].text == "Fracture" and found["What"].plain == "fracture: a broken bone"
    assert found["Where"].text == "unspecified part of neck of femur"
    assert found["Where"].plain == "femur: the thigh bone"
    assert found["Side"].text == "right side"
    assert found["Visit"].text == "A: initial encounter for closed fracture"
    assert found["Visit"].plain == (
        "first treatment: while the problem is being actively treated; "
        "the skin over the break is not broken (closed fracture)"
    )
    assert [(p.characters, p.position, p.plain) for p in words.parts] == [
        ("S72", "Category (characters 1-3)", ""),
        ("0", "4th character", ""),
        ("0", "5th character", ""),
        ("1", "6th character", "right side"),
        ("A", "7th character", found["Visit"].plain),
    ]
    # The 7th character's words are explained once, in the Visit line, not again in the word list.
    assert "initial encounter" not in dict(words.terms)
    assert words.status.startswith("This is a complete code")


def test_side_not_specified_and_words_that_only_look_like_a_side():
    assert (
        plain_words.side_of("Fracture of unspecified part of neck of unspecified femur")[0]
        == "side not specified"
    )
    assert plain_words.side_of("Otitis media, unspecified, unspecified ear")[0] == "side not specified"
    assert plain_words.side_of("Primary open-angle glaucoma, bilateral")[0] == "both sides"
    assert plain_words.side_of("Torus fracture of lower end of left radius")[0] == "left side"
    assert plain_words.side_of("Contusion of right lower leg")[0] == "right side"
    # A part of an organ, a site or a part is no side.
    assert plain_words.side_of("Right heart failure, unspecified") is None
    assert plain_words.side_of("Malignant neoplasm of unspecified site of breast") is None
    assert plain_words.side_of("Fracture of unspecified part of neck of femur") is None


def test_a_comma_title_puts_the_site_in_the_chunk_that_names_the_side():
    levels = [
        Level("M77", "Other enthesopathies"),
        Level("M77.1", "Lateral epicondylitis"),
        Level("M77.12", "Lateral epicondylitis, left elbow"),
    ]
    words = plain_words.explain(
        levels=levels, billable=True, inclusion_terms=["Tennis elbow"], inclusion_from="M77.1"
    )
    found = facts(words)
    assert (found["What"].text, found["Where"].text, found["Side"].text) == (
        "Lateral epicondylitis",
        "elbow",
        "left side",
    )
    assert "tennis elbow" in found["What"].plain
    assert words.parts[-1].characters == "2" and words.parts[-1].plain == "left side"
    assert (words.also_called, words.also_called_from) == (["Tennis elbow"], "M77.1")


@pytest.mark.parametrize(
    ("levels", "characters"),
    [
        (
            [
                Level("W21", "Striking against or struck by sports equipment"),
                Level("W21.8", "Striking against or struck by other sports equipment"),
                Level("W21.89", "Striking against or struck by other sports equipment"),
                Level("W21.89XA", "Striking against or struck by other sports equipment, initial encounter"),
            ],
            ["W21", "8", "9", "X", "A"],
        ),
        (
            [
                Level("S02", "Fracture of skull and facial bones"),
                Level("S02.0", "Fracture of vault of skull"),
                Level("S02.0XXA", "Fracture of vault of skull, initial encounter for closed fracture"),
            ],
            ["S02", "0", "X", "X", "A"],
        ),
    ],
)
def test_placeholder_x_is_explained_as_holding_a_place(levels, characters):
    words = plain_words.explain(levels=levels, billable=True, seventh=("A", levels[-1].title.split(", ")[-1]))
    assert [p.characters for p in words.parts] == characters
    placeholders = [p for p in words.parts if p.characters == "X"]
    assert placeholders and all(
        p.meaning == "placeholder" and "means nothing" in p.plain for p in placeholders
    )
    assert words.parts[-1].position == "7th character"
    assert "Side" not in facts(words)


@pytest.mark.parametrize(
    ("meaning", "label", "plain"),
    [
        ("subsequent encounter for fracture with nonunion", "Visit", "the broken ends have not joined"),
        ("sequela", "Visit", "a late effect"),
        ("initial encounter for open fracture type IIIA, IIIB, or IIIC", "Visit", "open fracture type III"),
        ("fetus 2", "Which baby", "more than one"),
        ("mild stage", "Stage", "how far"),
        ("at arrival to emergency department", "When measured", "on arrival"),
        ("right eye", "Side", "the right eye"),
        ("with tophus (tophi)", "Detail", ""),
    ],
)
def test_seventh_characters_in_everyday_words(meaning, label, plain):
    kind, words = plain_words.seventh_meaning(meaning)
    assert plain_words.SEVENTH_LABELS[kind] == label
    assert plain in words


def test_billable_and_not_billable_are_explained():
    assert "complete code" in plain_words.billable_status(
        billable=True, needs_seventh=False, billable_below=0
    )
    heading = plain_words.billable_status(billable=False, needs_seventh=False, billable_below=1234)
    assert (
        heading
        == "This is a heading, not a complete code: a record or claim uses one of the 1,234 more specific codes under it."
    )
    assert "7th character" in plain_words.billable_status(
        billable=False, needs_seventh=True, billable_below=0
    )


def test_longer_terms_win_and_each_term_is_listed_once():
    found = plain_words.terms_in(
        "Malignant neoplasm of unspecified site; benign neoplasm; malignant neoplasm NOS"
    )
    assert found == [
        ("malignant neoplasm", "cancer"),
        ("unspecified", plain_words.plain_terms()[0]["unspecified"][1]),
        ("benign neoplasm", "a growth that is not cancer"),
        ("NOS", "not otherwise specified: no more detail was given"),
    ]


def test_every_official_seventh_character_meaning_about_visits_is_translated():
    rows = Code.objects.exclude(seventh_characters=[]).values_list("seventh_characters", flat=True)
    meanings = {meaning for row in rows for _, meaning in row}
    assert len(meanings) > 50
    for meaning in meanings:
        kind, plain = plain_words.seventh_meaning(meaning)
        if "encounter" in meaning or "sequela" in meaning:
            assert kind == "visit" and plain, meaning


# --- On the pages, through Django --------------------------------------------


def text_of(html):
    """The words of an HTML fragment, one space between words and between elements."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def section(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    html = response.content.decode()
    match = re.search(r'<section class="plain-words".*?</section>', html, re.S)
    assert match, path
    return text_of(match.group(0)), html


def test_s72_001a_page_names_side_site_and_encounter(client):
    text, _ = section(client, "/codes/S72.001A/")
    assert text.startswith("S72.001A in plain words")
    assert "Side right side" in text
    assert "Where unspecified part of neck of femur femur: the thigh bone" in text
    assert "Visit A: initial encounter for closed fracture first treatment" in text
    assert (
        "Also written as Fracture of hip NOS; Fracture of neck of femur NOS (official terms of S72.00 )"
        in text
    )
    assert "Not an article, not medical advice, and not reviewed by a clinician." in text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/codes/W21.89XA/",
            ["X holds the place", "Visit A: initial encounter", "used beside a code for the injury"],
        ),
        ("/codes/H40.1131/", ["Side both sides", "Stage 1: mild stage"]),
        ("/codes/O31.10X1/", ["Which baby 1: fetus 1"]),
        ("/codes/I10/", ["hypertension: high blood pressure", "This is a complete code"]),
        (
            "/codes/M77.1/",
            ["This is a heading, not a complete code: a record or claim uses one of the 3 more specific"],
        ),
        ("/codes/S72.001/", ["Side right side", "one of the 16 more specific codes"]),
        ("/codes/A00/", ["This is a heading"]),
    ],
)
def test_plain_words_on_several_code_shapes(client, path, expected):
    text, _ = section(client, path)
    for words in expected:
        assert words in text, (path, words)


def test_every_code_page_has_plain_words_before_the_notes(client):
    for path in ["/codes/A00.0/", "/codes/Z00.00/", "/codes/E11.9/", "/codes/S82/"]:
        _, html = section(client, path)
        assert html.index('class="plain-words"') < html.index('id="notes-heading"')


# --- The nearest article reaches the codes below it ---------------------------


def make_article(code, title, **fields):
    values = {
        "summary": f"Summary of {title}.",
        "body_html": "<p>Body.</p>",
        "author": "icdsite editorial team (sample content)",
        "status": Article.Status.PUBLISHED,
    }
    values.update(fields)
    return Article.objects.create(code_id=code, title=title, **values)


def test_a_child_code_shows_its_nearest_ancestors_article(client):
    make_article("M77", "Enthesopathies")
    make_article("M77.1", "Tennis elbow (lateral epicondylitis)")
    html = client.get("/codes/M77.12/").content.decode()
    heading = re.search(r'<h2 id="article-heading">(.*?)</h2>', html, re.S).group(1)
    assert text_of(heading) == "About M77.1 Tennis elbow (lateral epicondylitis)"
    assert 'href="/codes/M77.1/"' in heading
    assert "M77.12 has no article of its own" in html
    assert "Summary of Enthesopathies" not in html
    assert '<a href="#article-heading">About M77.1</a>' in html


def test_a_codes_own_article_wins_and_drafts_never_reach_children(client):
    make_article("M77.1", "Tennis elbow")
    make_article("M77.12", "Left tennis elbow")
    html = client.get("/codes/M77.12/").content.decode()
    assert (
        '<h2 id="article-heading">Left tennis elbow</h2>' in html and "has no article of its own" not in html
    )
    Article.objects.all().update(status=Article.Status.DRAFT)
    html = client.get("/codes/M77.12/").content.decode()
    assert 'id="article-heading"' not in html and "Summary of" not in html


# --- The byline never names a reviewer that is not real -----------------------


def test_sample_content_says_it_is_not_medically_reviewed(client):
    make_article(
        "M77.1",
        "Tennis elbow",
        medical_reviewer="Placeholder reviewer",
        last_reviewed=datetime.date(2026, 1, 1),
    )
    html = client.get("/codes/M77.1/").content.decode()
    assert "medically reviewed by" not in html and "Placeholder reviewer" not in html
    text = text_of(html)
    assert "Not medically reviewed. This is sample content, written to show how articles will look;" in text


def test_an_editors_article_without_a_reviewer_says_so(client):
    make_article("M77.1", "Tennis elbow", author="Dana Writer")
    text = text_of(client.get("/codes/M77.1/").content.decode())
    assert (
        "Written by Dana Writer. Not medically reviewed. No clinician has checked this article yet." in text
    )


# --- The API gives what the page gives -----------------------------------------


def test_the_api_carries_the_plain_words_and_the_family_article(client):
    make_article("M77.1", "Tennis elbow")
    data = client.get("/api/codes/M77.12").json()
    facts = {fact["label"]: fact["text"] for fact in data["plain_words"]["facts"]}
    assert facts == {"What": "Lateral epicondylitis", "Where": "elbow", "Side": "left side"}
    assert data["plain_words"]["also_called"] == ["Tennis elbow"]
    assert data["family_article"] == {
        "code": "M77.1",
        "title": "Tennis elbow",
        "summary": "Summary of Tennis elbow.",
        "url": "/codes/M77.1/",
    }
    fracture = client.get("/api/codes/S72.001A").json()["plain_words"]
    assert [part["characters"] for part in fracture["parts"]] == ["S72", "0", "0", "1", "A"]
    assert fracture["facts"][-1]["label"] == "Visit"
