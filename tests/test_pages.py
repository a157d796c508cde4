"""Public pages answer for every level of the tree, through Django's full request cycle."""

import datetime
import re

import pytest
from django.utils import timezone
from django.utils.html import escape

from conditions import pages
from conditions.models import Article, ArticleSource, Block, Chapter, Code, CodeFacts
from conditions.models.codes import SEARCH_ONLY_FIELDS
from conditions.presentation import link_codes

pytestmark = pytest.mark.django_db


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def make_article(code="M61.2", status=Article.Status.PUBLISHED, **fields):
    values = {
        "title": "Paralytic myositis ossificans",
        "summary": "Bone forms inside muscles after a spinal cord injury.",
        "body": "unused here",
        "body_html": "<p>Bone can grow in muscle.</p><ol><li>Stiffness</li><li>Swelling</li></ol>",
        "author": "Dana Writer",
        "medical_reviewer": "Dr. Lee Reviewer",
        "last_reviewed": datetime.date(2026, 3, 1),
        "status": status,
    }
    values.update(fields)
    return Article.objects.create(code_id=code, **values)


# --- Home, chapter, block ----------------------------------------------------


def test_home_has_the_search_box_the_chapters_and_recent_articles(client):
    make_article()
    make_article(code="A00.0", title="Secret draft about cholera", status=Article.Status.DRAFT)
    html = page(client, "/")
    assert html.count('href="/chapters/') == 22
    assert "Diseases of the musculoskeletal system and connective tissue" in html
    assert html.count('id="site-q"') == 1  # the header form gives way to the big one
    assert re.search(r'<section class="hero".*<form[^>]*action="/search/".*id="site-q"', html, re.S)
    assert "Recently published" in html
    assert 'href="/codes/M61.2/"' in html and "Paralytic myositis ossificans" in html
    assert "Secret draft" not in html


def test_home_without_articles_has_no_recent_section(client):
    assert "Recently published" not in page(client, "/")


def test_chapter_page_lists_its_blocks_in_order_with_counts(client):
    html = page(client, "/chapters/13/")
    blocks = re.findall(r'href="/blocks/([A-Z0-9-]+)/"', html)
    assert blocks[:2] == ["M00-M25", "M00-M02"] and "M60-M63" in blocks
    assert "a group of the blocks that follow" in html  # M00-M25 is a heading over blocks
    assert blocks.index("M60-M63") < blocks.index("M65-M67")
    m60 = Code.objects.filter(block_id="M60-M63")
    assert f"{m60.count():,} codes, {m60.filter(billable=True).count():,} billable" in html


def test_block_page_lists_its_categories_with_counts(client):
    html = page(client, "/blocks/M60-M63/")
    categories = re.search(r"<h2>Categories.*?</ul>", html, re.S).group(0)  # the block's notes link codes too
    assert re.findall(r'href="/codes/([A-Z0-9.]+)/"', categories) == ["M60", "M61", "M62", "M63"]
    under_m61 = Code.objects.filter(ancestors__contains=["M61"])
    assert (
        f"{under_m61.count():,} codes under it, {under_m61.filter(billable=True).count():,} billable" in html
    )
    assert "Calcification and ossification of muscle" in html


def test_heading_block_lists_the_blocks_it_groups(client):
    html = page(client, "/blocks/M00-M25/")
    assert re.findall(r'href="/blocks/([A-Z0-9-]+)/"', html) == [
        "M00-M02",
        "M04",
        "M05-M14",
        "M15-M19",
        "M20-M25",
    ]
    assert "Categories" not in html
    assert "Blocks" not in page(client, "/blocks/M60-M63/").split("</h1>")[1]


def test_block_page_title_and_breadcrumbs(client):
    html = page(client, "/blocks/M60-M63/")
    assert "<title>M60-M63 Disorders of muscles | icdsite</title>" in html
    assert "<h1>Disorders of muscles" in html
    assert '<a href="/chapters/13/">Chapter 13</a>' in html


def test_every_chapter_and_block_page_renders(client):
    # QA0 (chapter 17) is a block whose name is not shaped like a code range.
    for chapter in Chapter.objects.all():
        assert f"Chapter {chapter.number}: {chapter.title}" in page(client, chapter.get_absolute_url())
    for block in Block.objects.all():
        assert f"<h1>{escape(block.title)}" in page(client, block.get_absolute_url())


# --- The code page -----------------------------------------------------------


def test_code_page_shows_title_code_chapter_block_and_breadcrumbs(client):
    html = page(client, "/codes/M61.2/")
    assert "<h1>Paralytic calcification and ossification of muscle</h1>" in html
    assert '<strong class="code">M61.2</strong>' in html
    assert "Diseases of the musculoskeletal system and connective tissue" in html
    crumbs = re.search(r'<nav aria-label="Breadcrumb".*?</nav>', html, re.S).group(0)
    assert re.findall(r'href="([^"]+)"', crumbs) == [
        "/#chapters",
        "/chapters/13/",
        "/blocks/M60-M63/",
        "/codes/M61/",
    ]
    assert '<li aria-current="page">M61.2</li>' in crumbs


def test_category_page_is_not_billable_and_lists_the_codes_under_it(client):
    html = page(client, "/codes/M61/")
    assert "<strong>Not billable:</strong> choose one of the more specific codes below" in html
    assert "Diagnosis codes for Calcification and ossification of muscle | M61" in html
    tree = re.search(r'<div class="code-tree">(.*?)</div>', html, re.S).group(1)
    linked = re.findall(r'href="/codes/([A-Z0-9.]+)/"', tree)
    assert linked == list(
        Code.objects.descendants_of(Code.objects.get(code="M61")).values_list("code", flat=True)
    )
    assert tree.count("<ul>") == tree.count("</ul>")


def test_every_imported_code_has_its_page_address():
    """The address of each code is the code itself: none is refused as malformed (QA0.0101 once was)."""
    from conditions.icd10cm import canonical_code

    codes = list(Code.objects.values_list("code", flat=True))
    assert [code for code in codes if canonical_code(code) != code] == []
    assert "QA0.0101" in codes


def test_a_code_whose_second_character_is_a_letter_has_its_page(client):
    html = page(client, "/codes/QA0.0101/")
    assert "QA0.0101" in html and "Neurodevelopmental" in html
    assert client.get("/codes/qa00101").status_code == 301


def test_billable_code_page(client):
    html = page(client, "/codes/M61.20/")
    assert "Paralytic calcification and ossification of muscle, unspecified site" in html
    assert "<strong>Billable:</strong> use this code" in html
    assert 'href="/codes/M61.2/"' in html  # breadcrumb to its parent
    assert "Diagnosis codes for" not in html  # nothing under it


def test_children_carry_billable_markers(client):
    html = page(client, "/codes/M61.2/")
    assert re.search(r'M61\.20</span>[^<]*</a> <span class="badge badge--billable">Billable</span>', html)
    assert not re.search(r'M61\.21</span>[^<]*</a> <span class="badge', html)  # M61.21 has codes under it


def test_large_category_lists_direct_children_with_counts(client):
    html = page(client, "/codes/S72/")
    tree = re.search(r'<div class="code-tree">(.*?)</div>', html, re.S).group(1)
    linked = re.findall(r'href="/codes/([A-Z0-9.]+)/"', tree)
    assert linked == list(
        Code.objects.filter(parent="S72").order_by("sort_order").values_list("code", flat=True)
    )
    under_s720 = Code.objects.filter(ancestors__contains=["S72.0"]).count()
    assert f"({under_s720:,} codes)" in tree
    total = Code.objects.filter(ancestors__contains=["S72"])
    assert f"{total.count():,} codes under S72, {total.filter(billable=True).count():,} billable." in html


def test_previous_and_next_code_in_official_order(client):
    html = page(client, "/codes/M61.2/")
    assert re.search(r'rel="prev" href="/codes/M61.19/"', html)
    assert re.search(r'rel="next" href="/codes/M61.20/"', html)
    first = page(client, "/codes/A00/")
    assert 'rel="prev"' not in first and 'rel="next" href="/codes/A00.0/"' in first


def test_generated_card_when_there_is_no_article(client):
    html = page(client, "/codes/M61.2/")
    assert '<svg class="code-card"' in html and "<img" not in html
    assert "ICD-10-CM code M61.2, chapter 13: Diseases of the musculoskeletal system" in html


def test_save_button_is_rendered_hidden_for_javascript_to_reveal(client):
    html = page(client, "/codes/M61.2/")
    assert re.search(r'<button type="button" class="save-button" data-save-code="M61.2"[^>]* hidden>', html)
    assert 'src="/static/js/save.js" defer' in html


def test_a_code_page_reads_the_code_with_its_ancestors_category_first():
    page = pages.code_page("S72.001A")
    assert [c.code for c in [*page.ancestors, page.code]] == ["S72", "S72.0", "S72.00", "S72.001", "S72.001A"]
    # Read as JSON in one query, each value is what the ORM reads: text, numbers, arrays, JSON.
    for shown in [*page.ancestors, page.code]:
        stored = Code.objects.get(code=shown.code)
        for field in Code._meta.concrete_fields:
            if field.name not in SEARCH_ONLY_FIELDS:
                assert getattr(shown, field.attname) == getattr(stored, field.attname), (shown, field.name)
    assert page.ancestors[0].seventh_characters  # S72 defines them
    facts = CodeFacts.objects.get(code="S72.001A")
    for field in CodeFacts._meta.concrete_fields:
        assert getattr(page.facts, field.attname) == getattr(facts, field.attname), field.name
    assert pages.code_page("A00").ancestors == []
    with pytest.raises(Code.DoesNotExist):
        pages.code_page("Z99.999")


def test_code_pages_cost_a_fixed_few_queries(
    client, django_assert_max_num_queries, django_assert_num_queries
):
    """The content version, then one query for the code, its ancestors, its notes, its coding data, its neighbours
    and the codes under it; a large tree adds its children and the counts under each. The chapters and blocks
    and the codes with articles are read once per content version in each process, the page's statement is
    prepared once per connection."""
    with django_assert_max_num_queries(2 + 3 + 1):
        page(client, "/codes/I10/")
    with django_assert_num_queries(2):
        page(client, "/codes/S72.001A/")
    with django_assert_num_queries(2):
        page(client, "/codes/A00.0/")
    with django_assert_num_queries(2):
        page(client, "/codes/A00/")  # the codes under it come in the same query
    with django_assert_num_queries(4):
        page(client, "/codes/S82/")  # a large tree: its children and the counts under each, instead
    make_article("M77.11")  # a new content version: the per-version reads again, then the article and sources
    with django_assert_num_queries(2 + 3 + 2):
        assert "Paralytic myositis ossificans" in page(client, "/codes/M77.11/")
    with django_assert_num_queries(2):  # a code beside it, in the same version: nothing is read again
        assert "Paralytic myositis ossificans" not in page(client, "/codes/M77.12/")


def test_the_page_statement_is_prepared_once_per_connection(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def prepares(path):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return sum(query["sql"].startswith("PREPARE") for query in queries.captured_queries)

    assert prepares("/codes/E11.9/") <= 1
    assert [prepares(path) for path in ("/codes/E11.8/", "/codes/S82/", "/codes/A00/")] == [0, 0, 0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        assert ("icdsite_code_page",) in cursor.fetchall()


def test_heading_counts_are_the_codes_they_hold():
    """The import stores each chapter's and block's counts (conditions.derived); they match a fresh count."""
    from django.db.models import Count, Q

    for model, key in ((Chapter, "chapter"), (Block, "block")):
        fresh = {
            row[key]: (row["total"], row["billable"])
            for row in Code.objects.values(key).annotate(
                total=Count("code"), billable=Count("code", filter=Q(billable=True))
            )
        }
        stored = {h.pk: (h.code_count, h.billable_count) for h in model.objects.all()}
        assert stored == {pk: fresh.get(pk, (0, 0)) for pk in stored}
    assert Chapter.objects.get(number="19").code_count > 30_000  # injuries hold about 40,000 codes


def test_note_references_are_the_named_references_that_exist():
    from django.db import connection

    from conditions.derived import refresh_note_references
    from conditions.models import Note
    from conditions.references import mentioned_references

    codes = set(Code.objects.values_list("code", flat=True))
    blocks = set(Block.objects.values_list("block_id", flat=True))
    ranges = dict(Chapter.objects.values_list("code_range", "number"))
    for note in Note.objects.all():
        expected = {}
        for ref in mentioned_references([note.text]):
            if ref in codes or ref in blocks:
                expected[ref] = ref
            elif ref in ranges:
                expected[ref] = ranges[ref]
        assert note.references == expected, note
    assert Note.objects.exclude(references={}).count() > 5_000
    with connection.cursor() as cursor:
        assert refresh_note_references(cursor) == 0  # a second run changes nothing


# --- Notes -------------------------------------------------------------------


def test_inherited_notes_made_once_per_version_read_as_made_afresh():
    """A block's or chapter's notes are made into HTML once per content version (code_pages.note_source): a page
    built from that copy is the page built afresh, and a sibling shows the same inherited notes."""
    from django.core.cache import cache
    from django.test import Client

    fresh = page(Client(), "/codes/A00.0/")  # makes the inherited notes' HTML
    cache.clear()  # the page cache: the next request renders again, from the kept notes
    again = page(Client(), "/codes/A00.0/")
    assert again == fresh
    chapter_notes = re.search(
        r'<div class="note-source">\s*<p class="note-origin"><a href="/chapters/1/">.*?</div>', fresh, re.S
    )
    assert chapter_notes and chapter_notes.group(0) in page(Client(), "/codes/A01.0/")


def test_chapter_notes_are_inherited_and_labelled(client):
    html = page(client, "/codes/A00.0/")
    assert "Classical cholera" in html  # its own inclusion term
    excludes2 = re.search(
        r'<section class="note-group note-group--excludes2".*?</section>', html, re.S
    ).group(0)
    assert '<a href="/chapters/1/">From chapter 1</a>' in excludes2
    assert "carrier or suspected carrier of infectious disease" in excludes2
    use_additional = re.search(r"note-group--use_additional_code.*?</section>", html, re.S).group(0)
    assert (
        'code to identify resistance to antimicrobial drugs (<a href="/codes/Z16/">Z16.-</a>)'
        in use_additional
    )


def test_category_notes_come_after_the_codes_own(client):
    html = page(client, "/codes/E11.9/")
    excludes1 = re.search(r"note-group--excludes1.*?</section>", html, re.S).group(0)
    own = excludes1.index("This code")
    category = excludes1.index('<a href="/codes/E11/">From category E11</a>')
    chapter = excludes1.index('<a href="/chapters/4/">From chapter 4</a>')
    assert own < category < chapter
    assert '(<a href="/codes/E11.A/">E11.A</a>)' in excludes1
    assert '(<a href="/codes/O24.4/">O24.4-</a>)' in excludes1
    assert '(<a href="/blocks/P70-P74/">P70-P74</a>)' in excludes1 or "(P70-P74)" in excludes1


def test_note_references_link_blocks_chapters_and_codes_that_exist():
    known = {"P35-P39": "P35-P39", "A00-B99": "1", "J00": "J00", "S09.90": "S09.90"}
    assert link_codes("perinatal (P35-P39)", known) == 'perinatal (<a href="/blocks/P35-P39/">P35-P39</a>)'
    assert link_codes("infections (A00-B99)", known) == 'infections (<a href="/chapters/1/">A00-B99</a>)'
    assert link_codes("flu (J00-J22)", known) == 'flu (<a href="/codes/J00/">J00</a>-J22)'
    assert (
        link_codes("head (S09.90) & <b>", known)
        == 'head (<a href="/codes/S09.90/">S09.90</a>) &amp; &lt;b&gt;'
    )
    assert link_codes("in A15 (J65)", known) == "in A15 (J65)"  # J65 unknown here: no dead link


def test_seventh_character_table_on_a_subcategory(client):
    html = page(client, "/codes/S72.001/")
    table = re.search(r'<section aria-labelledby="seventh-heading".*?</section>', html, re.S).group(0)
    assert table.count("<tr") == 1 + 16
    assert "initial encounter for closed fracture" in table
    assert 'Defined at <a href="/codes/S72/">S72</a>' in table
    assert "The appropriate 7th character is to be added to all codes from category S72" in table
    assert 'href="/codes/S72.001A/"' in html and 'href="/codes/S72.001S/"' in html


def test_code_formed_with_a_seventh_character(client):
    html = page(client, "/codes/W21.89XA/")
    assert "initial encounter" in html
    assert "<strong>Billable:</strong> use this code" in html
    assert 'href="/codes/W21.89/"' in html
    assert re.search(r'<tr class="current" aria-current="true"><td class="code">A</td>', html)
    assert 'this code uses 7th character <strong class="code">A</strong>' in html


def test_no_seventh_character_table_where_none_applies(client):
    assert "seventh-heading" not in page(client, "/codes/M61.2/")


def test_code_page_queries_do_not_grow_with_children_or_notes(client, django_assert_max_num_queries):
    # S82 has 3,345 codes under it; E11.9 has notes at four levels; S72.001A sits five levels down.
    # At most: 2 as any page, 2 for a large tree, 3 read once per content version in a process, 1 to prepare
    # the page's statement once per connection.
    for path in ["/codes/S82/", "/codes/S72/", "/codes/E11.9/", "/codes/S72.001A/", "/codes/M61.2/"]:
        with django_assert_max_num_queries(2 + 2 + 3 + 1):
            assert client.get(path).status_code == 200


def test_code_page_queries_with_a_published_article_on_a_large_category(
    client, django_assert_max_num_queries
):
    # The worst case: a category too large for the whole tree (two extra queries) with an article and sources.
    article = make_article(code="S82")
    for position in range(5):
        ArticleSource.objects.create(
            article=article, position=position, title=f"Source {position}", url="https://example.org/"
        )
    # The first page after a change: 2 as any page, 2 for the large tree, 2 for the article and its sources,
    # the 3 read once per content version (chapters, blocks, codes with articles), 1 to prepare the statement.
    with django_assert_max_num_queries(2 + 2 + 2 + 3 + 1):
        html = client.get("/codes/S82/").content.decode()
    assert "Source 4" in html and "Bone forms inside muscles" in html


# --- Articles ----------------------------------------------------------------


def test_published_article_is_shown_with_sources_author_and_review(client):
    article = make_article()
    ArticleSource.objects.create(
        article=article, position=0, title="NIH overview", url="https://example.org/nih"
    )
    html = page(client, "/codes/M61.2/")
    assert "Bone forms inside muscles after a spinal cord injury." in html
    assert "<ol><li>Stiffness</li><li>Swelling</li></ol>" in html
    assert '<a href="https://example.org/nih" rel="noopener">NIH overview</a>' in html
    assert "Written by Dana Writer; medically reviewed by Dr. Lee Reviewer." in html
    assert '<time datetime="2026-03-01">March 1, 2026</time>' in html


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Article.Status.DRAFT},
        {"status": Article.Status.IN_REVIEW},
        {"status": Article.Status.ARCHIVED},
        {"status": Article.Status.PUBLISHED, "publish_at": timezone.now() + datetime.timedelta(days=2)},
    ],
)
def test_unpublished_articles_are_never_shown(client, fields):
    make_article(**fields)
    html = page(client, "/codes/M61.2/")
    assert "Bone forms inside muscles" not in html
    assert "Stiffness" not in html and "Dana Writer" not in html
    assert '<svg class="code-card"' in html


def test_article_illustration_with_alt_caption_and_credit(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "illustrations").mkdir()
    (tmp_path / "illustrations" / "muscle.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    make_article(
        illustration="illustrations/muscle.png",
        illustration_alt="Bone inside a thigh muscle",
        illustration_caption="Bone in the thigh",
        illustration_credit="Drawing: A. Artist",
    )
    html = page(client, "/codes/M61.2/")
    assert '<img src="/media/illustrations/muscle.png" alt="Bone inside a thigh muscle"' in html
    assert 'Bone in the thigh <span class="credit">Drawing: A. Artist</span>' in html
    assert '<svg class="code-card"' not in html


@pytest.fixture
def wide_illustration(settings, tmp_path):
    """A published article on M61.2 with a wide illustration and its phone copy, both on disk."""
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "illustrations").mkdir()
    for name in ("wide.png", "wide-640.png"):
        (tmp_path / "illustrations" / name).write_bytes(b"\x89PNG\r\n\x1a\n")
    return make_article(
        illustration="illustrations/wide.png",
        illustration_small="illustrations/wide-640.png",
        illustration_width=1600,
        illustration_height=900,
        illustration_alt="Wide drawing",
    )


def test_illustration_offers_the_phone_copy_and_its_real_size(client, wide_illustration):
    html = page(client, "/codes/M61.2/")
    assert 'srcset="/media/illustrations/wide-640.png 640w, /media/illustrations/wide.png 1600w"' in html
    assert 'width="1600" height="900"' in html


def test_missing_illustration_file_falls_back_to_the_card(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    make_article(illustration="illustrations/gone.png", illustration_alt="Gone")
    html = page(client, "/codes/M61.2/")
    assert "gone.png" not in html and '<svg class="code-card"' in html


# --- Addresses ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/codes/m61.2/",
        "/codes/M612/",
        "/codes/m612/",
        "/codes/m612",
        "/codes/M61.2",
        "/codes/%20m61.2/",
        "/codes/M61.2%0A/",
        "/codes/%20M%206%201.2/",
    ],
)
def test_other_spellings_redirect_once_to_the_canonical_address(client, path):
    response = client.get(path)
    assert response.status_code == 301
    assert response["Location"] == "/codes/M61.2/"


def test_seventh_character_code_spelling_redirects(client):
    response = client.get("/codes/w2189xa")
    assert (response.status_code, response["Location"]) == (301, "/codes/W21.89XA/")


HOSTILE_PATHS = [
    "/codes/Z99.999/",
    "/codes/z99999",
    "/codes/%00/",
    "/codes/%00",
    "/codes/../",
    "/codes/..%2F..%2Fetc%2Fpasswd/",
    "/codes/" + "A" * 500 + "/",
    "/codes/" + "9" * 5000 + "/",
    "/codes/%E2%9C%93/",
    "/codes/%F0%9F%92%A9M61/",
    "/codes/%FF%FE/",
    "/codes/<script>alert(1)</script>/",
    "/codes/M61.2/extra/",
    "/codes//",
    "/chapters/99/",
    "/chapters/0/",
    "/blocks/nope/",
    "/blocks/A00-A10/",
    "/no/such/page/",
    "/codes/M61.2.3/",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_unknown_entries_give_the_helpful_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Page not found</h1>" in html
    assert 'action="/search/"' in html
    assert html.count('href="/chapters/') >= 22
    assert "<script>alert" not in html


def test_404_suggests_the_nearest_existing_codes(client):
    html = client.get("/codes/M61.299/").content.decode()
    assert 'There is no ICD-10-CM code <strong class="code">M61.299</strong>.' in html
    assert "Nearest existing codes" in html
    nearest = re.search(r"Nearest existing codes</h2>(.*?)</ul>", html, re.S).group(1)
    assert re.findall(r'href="/codes/([A-Z0-9.]+)/"', nearest) == [
        "M61.2",
        "M61.20",
        "M61.21",
        "M61.211",
        "M61.212",
        "M61.219",
        "M61.22",
        "M61.221",
    ]
    html = client.get("/codes/m61x/").content.decode()
    assert 'href="/codes/M61/"' in html and 'href="/codes/M61.0/"' in html


def test_404_page_renders_with_debug_off(client, settings):
    settings.DEBUG = False
    response = client.get("/codes/M61.99999/")
    assert response.status_code == 404
    assert "Nearest existing codes" in response.content.decode()


# --- Saved codes -------------------------------------------------------------


def test_saved_page_works_without_javascript(client):
    html = page(client, "/saved/")
    assert "<h1>Saved codes</h1>" in html
    assert "<noscript>" in html
    assert re.search(r'<div id="saved-app" data-api="/api/saved-codes" hidden>', html)


def test_saved_codes_api_looks_codes_up_in_the_order_given(client):
    response = client.get("/api/saved-codes", {"codes": "m612, W21.89XA,Z99.999,nonsense,M61.2"})
    assert response.status_code == 200
    data = response.json()
    assert data["codes"] == [
        {
            "code": "M61.2",
            "title": "Paralytic calcification and ossification of muscle",
            "billable": False,
            "url": "/codes/M61.2/",
        },
        {
            "code": "W21.89XA",
            "title": Code.objects.get(code="W21.89XA").title,
            "billable": True,
            "url": "/codes/W21.89XA/",
        },
    ]
    assert data["unknown"] == ["Z99.999"]


@pytest.mark.parametrize("query", ["", "codes=", "codes=%00", "codes=" + "%E2%9C%93," * 20, "other=1"])
def test_saved_codes_api_with_nothing_useful(client, query):
    response = client.get("/api/saved-codes?" + query)
    assert response.status_code == 200
    assert response.json()["codes"] == []


def test_saved_codes_api_is_bounded(client):
    response = client.get("/api/saved-codes", {"codes": ",".join(["A00.0"] * 101)})
    assert response.status_code == 400
    assert "At most 100" in response.json()["error"]
    assert client.get("/api/saved-codes", {"codes": ",".join(["A00.0"] * 100)}).status_code == 200
    assert client.post("/api/saved-codes", {"codes": "A00.0"}).status_code == 405


def test_lower_case_block_address_redirects_to_the_canonical_one(client):
    response = client.get("/blocks/m60-m63/")
    assert response.status_code == 301 and response["Location"] == "/blocks/M60-M63/"
    assert client.get("/blocks/m99-m99/").status_code == 404


def test_illustration_files_are_checked_at_most_twice_per_page(client, wide_illustration, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    checked = []
    real_exists = FileSystemStorage.exists
    monkeypatch.setattr(
        FileSystemStorage, "exists", lambda self, name: checked.append(name) or real_exists(self, name)
    )
    html = page(client, "/codes/M61.2/")
    assert html.count("/media/illustrations/wide.png") >= 3  # og:image, src and srcset
    assert sorted(checked) == ["illustrations/wide-640.png", "illustrations/wide.png"]


def test_code_tree_nests_lists_with_a_recursive_template(client):
    html = page(client, "/codes/M61.2/")
    tree = re.search(r'<div class="code-tree">(.*?)</div>', html, re.S).group(1)
    # M61.21 (shoulder) holds M61.211, M61.212, M61.219 in a list of their own inside its item.
    shoulder = re.search(r"M61\.21</span>.*?</li>\s*</ul>", tree, re.S).group(0)
    assert re.findall(r'href="/codes/([A-Z0-9.]+)/"', shoulder) == ["M61.211", "M61.212", "M61.219"]
    assert "<ul>" in shoulder


# --- Every note where it belongs (issue 12) ---------------------------------------------------


def test_block_and_chapter_pages_show_their_own_notes(client):
    block = page(client, "/blocks/M60-M63/")
    excludes1 = re.search(r"note-group--excludes1.*?</section>", block, re.S).group(0)
    assert '(<a href="/codes/M33/">M33.-</a>)' in excludes1 and "dermatopolymyositis" in excludes1
    chapter = page(client, "/chapters/1/")
    assert "diseases generally recognized as communicable or transmissible" in chapter
    assert "carrier or suspected carrier of infectious disease" in chapter


def test_chapter_page_nests_block_groups(client):
    html = page(client, "/chapters/13/")
    group = re.search(r'<li><a href="/blocks/M00-M25/">.*?</ul>', html, re.S).group(0)
    assert re.findall(r'href="/blocks/([A-Z0-9-]+)/"', group) == [
        "M00-M25",
        "M00-M02",
        "M04",
        "M05-M14",
        "M15-M19",
        "M20-M25",
    ]
    assert "a group of the blocks that follow" in group


def test_notes_come_before_the_child_codes_and_excludes_are_explained(client):
    html = page(client, "/codes/M61.2/")
    assert html.index('id="notes-heading"') < html.index('id="codes-heading"')
    assert "Excludes1 means “not coded here”" in html
    assert "Excludes2 means “not included here”" in page(client, "/codes/A00.0/")


def test_child_lists_show_what_distinguishes_each_child(client):
    html = page(client, "/codes/M61.2/")
    tree = re.search(r'<div class="code-tree">(.*?)</div>', html, re.S).group(1)
    assert '<span class="code">M61.21</span> …, shoulder</a>' in tree
    assert '<span class="code">M61.211</span> …, right shoulder</a>' in tree
    assert tree.count("Paralytic calcification and ossification of muscle") == 0


def test_a_lead_in_line_introduces_the_list_under_it(client):
    html = page(client, "/codes/E11.9/")
    use_additional = re.search(r"note-group--use_additional_code.*?</section>", html, re.S).group(0)
    lead_in = re.search(r"<li>code to identify control using:\s*<ul>(.*?)</ul></li>", use_additional, re.S)
    assert lead_in, use_additional
    assert "insulin (" in lead_in.group(1) and lead_in.group(1).count("<li>") >= 3
