"""The header search box's autocomplete in a real browser (Debian's Chromium through Playwright), by keyboard."""

import pytest

# The browser, page and live server come from tests/browser/conftest.py (one Playwright per run).
pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server):
    return live_server.url


def suggestions(page):
    page.wait_for_selector("#site-q-listbox [role=option]")
    return page.locator("#site-q-listbox [role=option]")


def test_keyboard_chooses_a_suggestion(site, page):
    page.goto(site + "/")
    box = page.locator("#site-q")
    box.press_sequentially("tennis el", delay=40)
    options = suggestions(page)
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "true"
    texts = options.all_inner_texts()
    target = next(i for i, text in enumerate(texts) if text.startswith("M77.1 "))
    box.press("ArrowDown")
    first = options.nth(0)
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.get_attribute("aria-selected") == "true"
    box.press("ArrowUp")  # wraps to the last
    assert box.get_attribute("aria-activedescendant") == options.nth(len(texts) - 1).get_attribute("id")
    box.press("ArrowDown")  # back to the first
    for _ in range(target):
        box.press("ArrowDown")
    assert options.nth(target).get_attribute("aria-selected") == "true"
    with page.expect_navigation():
        box.press("Enter")
    assert page.url.endswith("/codes/M77.1/")


def test_escape_closes_and_codes_suggest_from_their_first_characters(site, page):
    page.goto(site + "/")
    box = page.locator("#site-q")
    box.press_sequentially("m61", delay=40)
    options = suggestions(page)
    page.wait_for_function(
        "document.querySelector('#site-q-listbox [role=option]').textContent.startsWith('M61 ')"
    )
    assert options.nth(0).inner_text().startswith("M61 ")
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    assert page.locator("#site-q-listbox").is_hidden()


def test_enter_without_a_choice_submits_the_form(site, page):
    page.goto(site + "/")
    box = page.locator("#site-q")
    box.press_sequentially("hay fever", delay=20)
    suggestions(page)
    with page.expect_navigation():
        box.press("Enter")
    assert "/search/?q=hay+fever" in page.url
    assert "J30.1" in page.locator("main").inner_text()


def test_the_box_works_without_javascript(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/")
    page.fill("#site-q", "m612")
    with page.expect_navigation():
        page.press("#site-q", "Enter")
    assert page.url.endswith("/codes/M61.2/")
    context.close()


@pytest.mark.parametrize(
    "typed, first, absent",
    [
        ("heart att", "I21 ", ["I10 ", "Y93 "]),
        ("knee pa", "M25.56 ", []),
        ("asth", "J45 ", ["R53.1 "]),
        ("covi", "U07.1 ", ["D68.8 "]),
        ("broken wr", "S52.5 ", []),
        ("pink e", "H10 ", []),
    ],
)
def test_suggestions_complete_what_patients_type(site, page, typed, first, absent):
    page.goto(site + "/")
    box = page.locator("#site-q")
    box.press_sequentially(typed, delay=30)
    options = suggestions(page)
    # The list follows the last keystroke: wait until it shows the answer for the whole text.
    page.wait_for_function(
        "first => (document.querySelector('#site-q-listbox [role=option]') || {}).textContent?.startsWith(first)",
        arg=first,
        timeout=10_000,
    )
    texts = options.all_inner_texts()
    assert texts[0].startswith(first)
    assert not [text for text in texts if text.startswith(tuple(absent))] if absent else texts
