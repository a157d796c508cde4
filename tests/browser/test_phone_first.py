"""Every page type on a 360 px phone and on a desktop: no sideways scroll, no axe violation, screenshots.

Also what a patient sees on a code page: plain words, the family's article, the Saved button, print.
"""

import datetime

import pytest
from django.db import connection
from playwright.sync_api import expect

from conditions.models import Article, ArticleSource

from .conftest import DESKTOP, PHONE, axe_violations

pytestmark = pytest.mark.browser

PAGES = {
    "home": "/",
    "chapter": "/chapters/13/",
    "block": "/blocks/M60-M63/",
    "code": "/codes/M61.2/",
    "code-fracture": "/codes/S72.001A/",
    "code-family-article": "/codes/M77.12/",
    "code-many-children": "/codes/S82/",
    "search": "/search/?q=fracture",
    "saved": "/saved/",
    "404": "/codes/no-such-code/",
    "about": "/about/",
    "editorial-policy": "/editorial-policy/",
    "privacy": "/privacy/",
    "contact": "/contact/",
}


@pytest.fixture(scope="module")
def tennis_elbow_article(django_db_setup, django_db_blocker):
    """A published article on M77.1 for the tests to find on the codes below it (removed afterwards)."""
    # Playwright's event loop already runs in this thread (see allow_orm_beside_playwright).
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        existing = Article.objects.published().filter(code_id="M77.1").first()
        article = existing or Article.objects.create(
            code_id="M77.1",
            title="Tennis elbow (lateral epicondylitis)",
            summary="Pain on the outer side of the elbow caused by overworked forearm tendons.",
            body_html="<p>The tendons that straighten the wrist are strained again and again.</p>"
            + "<h3>What it feels like</h3><ol><li>Pain when gripping.</li><li>A weak grip.</li></ol>" * 4,
            author="icdsite editorial team (sample content)",
            last_reviewed=datetime.date(2026, 2, 10),
            status=Article.Status.PUBLISHED,
        )
        if not existing:
            ArticleSource.objects.create(
                article=article,
                title="Tennis elbow (MedlinePlus)",
                url="https://medlineplus.gov/ency/article/000449.htm",
            )
    yield article
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        if not existing:
            article.delete()
        # Under Playwright's event loop Django holds a connection of its own for this context, which the test
        # session's teardown does not see: left open, it kept the test database from being dropped.
        connection.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def with_a_saved_code(page, base):
    page.goto(f"{base}/saved/")
    page.evaluate("localStorage.setItem('icdsite:saved-codes', JSON.stringify(['S72.001A', 'M61.2']))")


@pytest.mark.parametrize("name", list(PAGES))
def test_on_a_phone_no_page_scrolls_sideways_and_axe_finds_nothing(
    phone, live_server, artifacts, tennis_elbow_article, name
):
    if name == "saved":
        with_a_saved_code(phone, live_server.url)
    phone.goto(f"{live_server.url}{PAGES[name]}")
    if name == "saved":
        phone.locator("#saved-table tbody tr").first.wait_for()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{PAGES[name]} is {width} px wide on a {PHONE['width']} px phone"
    assert axe_violations(phone) == []
    phone.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=True)


@pytest.mark.parametrize("name", list(PAGES))
def test_desktop_screenshots(page, live_server, artifacts, tennis_elbow_article, name):
    if name == "saved":
        with_a_saved_code(page, live_server.url)
    page.goto(f"{live_server.url}{PAGES[name]}")
    if name == "saved":
        page.locator("#saved-table tbody tr").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.screenshot(path=str(artifacts / f"desktop-{name}.png"), full_page=True)
    assert (artifacts / f"desktop-{name}.png").stat().st_size > 5_000


@pytest.mark.parametrize(
    "path",
    ["/about/", "/editorial-policy/", "/privacy/", "/contact/", "/codes/M77.12/", "/search/?q=fracture"],
)
def test_new_pages_have_no_axe_violations_on_a_desktop(page, live_server, tennis_elbow_article, path):
    page.goto(f"{live_server.url}{path}")
    assert axe_violations(page) == []


def test_s72_001a_plain_words_name_the_side_the_site_and_the_encounter(phone, live_server):
    phone.goto(f"{live_server.url}/codes/S72.001A/")
    words = phone.locator(".plain-words")
    expect(words.get_by_role("heading", level=2)).to_have_text("S72.001A in plain words")
    facts = {
        row.locator("dt").inner_text(): row.locator("dd").inner_text()
        for row in words.locator(".plain-facts > div").all()
    }
    assert facts["Side"] == "right side"
    assert facts["Where"].startswith("unspecified part of neck of femur") and "thigh bone" in facts["Where"]
    assert (
        facts["Visit"].startswith("A: initial encounter for closed fracture")
        and "first treatment" in facts["Visit"]
    )
    # Near the top on a phone: before the codes, 7th characters and notes.
    assert words.bounding_box()["y"] < phone.locator("#seventh-heading").bounding_box()["y"]
    words.get_by_text("How S72.001A is built, character by character").click()
    rows = words.locator(".code-parts tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == [
        "S72",
        "0",
        "0",
        "1",
        "A",
    ]


def test_m77_12_shows_the_m77_1_article(page, live_server, tennis_elbow_article):
    page.goto(f"{live_server.url}/codes/M77.12/")
    heading = page.locator("#article-heading")
    expect(heading).to_have_text("About M77.1 Tennis elbow (lateral epicondylitis)")
    expect(page.locator(".family-note")).to_contain_text("M77.12 has no article of its own")
    expect(page.locator(".review-none")).to_contain_text("Not medically reviewed. This is sample content")
    assert "medically reviewed by" not in page.locator(".article-meta").inner_text()
    heading.get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/codes/M77.1/")
    expect(page.locator("#article-heading")).to_have_text("Tennis elbow (lateral epicondylitis)")


def test_article_uses_the_desktop_width(page, live_server, tennis_elbow_article):
    page.goto(f"{live_server.url}/codes/M77.1/")
    main = page.locator("main").bounding_box()
    body = page.locator(".article-body").bounding_box()
    meta = page.locator(".article-meta").bounding_box()
    # The byline and sources sit beside the text, and together they fill the main column.
    assert meta["x"] > body["x"] + body["width"] - 1
    assert meta["x"] + meta["width"] > main["x"] + main["width"] - 40


def test_on_a_phone_the_table_of_contents_leads_to_the_notes(phone, live_server):
    phone.goto(f"{live_server.url}/codes/M61.2/")
    toc = phone.get_by_role("navigation", name="On this page")
    assert toc.bounding_box()["y"] < PHONE["height"]
    toc.get_by_role("link", name="Official notes").click()
    expect(phone).to_have_url(f"{live_server.url}/codes/M61.2/#notes-heading")
    assert abs(phone.locator("#notes-heading").bounding_box()["y"]) < 50  # scrolled to it


def test_the_save_button_says_saved_and_the_saved_page_hides_actions_with_nothing_saved(page, live_server):
    page.goto(f"{live_server.url}/codes/M61.2/")
    button = page.get_by_role("button", name="Save", exact=True)
    saved_label = button.locator(".save-button__on")
    expect(saved_label).to_be_hidden()
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    # Sighted people read "✓ Saved"; the accessible name stays "Save" and aria-pressed says it is saved.
    expect(saved_label).to_be_visible()
    expect(saved_label).to_have_text("✓ Saved")
    assert button.locator(".save-button__off").bounding_box()["width"] <= 1
    button.click()
    expect(saved_label).to_be_hidden()
    page.goto(f"{live_server.url}/saved/")
    expect(page.locator("#saved-status")).to_have_text(
        "No saved codes yet. Use the Save button on a code page."
    )
    expect(page.get_by_role("button", name="Copy list")).to_be_hidden()
    expect(page.get_by_role("button", name="Download CSV")).to_be_hidden()


def test_the_404_page_has_one_search_box(page, live_server):
    page.goto(f"{live_server.url}/codes/no-such-code/")
    boxes = page.locator('input[name="q"]')
    expect(boxes).to_have_count(1)
    boxes.fill("tennis elbow")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/search/?q=tennis+elbow")


def test_search_filters_fit_a_phone(phone, live_server):
    phone.goto(f"{live_server.url}/search/?q=fracture")
    chapter = phone.locator("#id_chapter")
    box = chapter.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    chapter.select_option(value="19")
    phone.get_by_label("Billable codes only").check()
    phone.get_by_role("button", name="Filter").click()
    expect(phone.locator(".result-count")).to_contain_text("found")
    assert "chapter=19" in phone.url and "billable=on" in phone.url


def test_a_code_page_prints_cleanly(page, live_server, tennis_elbow_article, artifacts):
    page.goto(f"{live_server.url}/codes/M77.12/")
    page.emulate_media(media="print")
    for hidden in [".site-header", ".page-toc", ".prev-next", ".save-button", ".breadcrumbs"]:
        assert not page.locator(hidden).first.is_visible(), hidden
    for shown in ["#notes-heading", "#article-heading", ".plain-words"]:
        assert page.locator(shown).is_visible(), shown
    stamp = page.locator(".print-only").inner_text()
    assert f"{live_server.url}/codes/M77.12/" in stamp and "FY2026 (April 1, 2026 update)" in stamp
    assert "FY2026" in page.locator(".site-footer").inner_text()
    page.pdf(path=str(artifacts / "print-M77.12.pdf"))


@pytest.mark.parametrize("path", ["/codes/M61.2/", "/codes/no-such-code/", "/"])
def test_the_search_placeholder_is_not_cut_on_a_phone(phone, live_server, path):
    phone.goto(f"{live_server.url}{path}")
    box = phone.locator('input[name="q"]')
    # The placeholder's text, measured in the input's own font, fits inside the input's padding box.
    fits = box.evaluate(
        """input => {
            const style = getComputedStyle(input, "::placeholder");
            const context = document.createElement("canvas").getContext("2d");
            context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
            const room = input.clientWidth - parseFloat(getComputedStyle(input).paddingLeft)
                - parseFloat(getComputedStyle(input).paddingRight);
            return context.measureText(input.placeholder).width <= room;
        }"""
    )
    assert fits, path
