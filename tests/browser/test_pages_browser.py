"""A person in Chromium: saving codes, the saved list and its CSV, accessibility, screenshots."""

import csv

import pytest
from playwright.sync_api import expect

from .conftest import PHONE, axe_violations

pytestmark = pytest.mark.browser


def save_code(page, base, code):
    page.goto(f"{base}/codes/{code}/")
    button = page.get_by_role("button", name="Save", exact=True)
    assert button.get_attribute("aria-pressed") == "false"
    button.click()
    assert button.get_attribute("aria-pressed") == "true"


def open_saved_list(page, base):
    """Open /saved/ and wait until the saved codes have been looked up and listed."""
    page.goto(f"{base}/saved/")
    page.locator("#saved-table tbody tr").first.wait_for()


def test_save_two_codes_then_list_and_download_them(page, live_server):
    save_code(page, live_server.url, "M61.2")
    save_code(page, live_server.url, "W21.89XA")
    page.goto(f"{live_server.url}/codes/M61.2/")  # still saved after a reload
    assert page.locator("[data-save-code]").get_attribute("aria-pressed") == "true"

    page.goto(f"{live_server.url}/saved/")
    rows = page.locator("#saved-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t")[:3] == [
        "M61.2",
        "Paralytic calcification and ossification of muscle",
        "Not billable",
    ]
    assert rows.nth(1).locator("a").get_attribute("href") == "/codes/W21.89XA/"
    assert page.locator("#saved-status").inner_text() == "2 saved codes."

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == "saved-icd10cm-codes.csv"
    with open(download.path(), newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["code", "title", "billable"]
    assert table[1] == ["M61.2", "Paralytic calcification and ossification of muscle", "no"]
    assert table[2][0] == "W21.89XA" and table[2][2] == "yes"
    assert "initial encounter" in table[2][1]
    assert len(table) == 3


def test_remove_a_saved_code(page, live_server):
    save_code(page, live_server.url, "A00.0")
    save_code(page, live_server.url, "M61.2")
    open_saved_list(page, live_server.url)
    page.get_by_role("button", name="Remove A00.0").click()
    assert page.locator("#saved-table tbody tr").count() == 1
    assert page.locator("#saved-status").inner_text() == "A00.0 removed."
    open_saved_list(page, live_server.url)
    assert page.locator("#saved-table tbody tr").count() == 1
    assert page.locator("#saved-table tbody").inner_text().startswith("M61.2")


def test_copy_list_puts_the_codes_on_the_clipboard(page, context, live_server):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    save_code(page, live_server.url, "M61.2")
    save_code(page, live_server.url, "W21.89XA")
    open_saved_list(page, live_server.url)
    page.get_by_role("button", name="Copy list").click()
    expect(page.locator("#saved-status")).to_have_text(
        "Copied 2 codes."
    )  # the clipboard answers asynchronously
    lines = page.evaluate("navigator.clipboard.readText()").splitlines()
    assert lines[0] == "M61.2\tParalytic calcification and ossification of muscle\tNot billable"
    assert lines[1].startswith("W21.89XA\t") and lines[1].endswith("\tBillable")


def test_codes_no_longer_in_the_code_set_are_reported_and_dropped(page, live_server):
    page.goto(f"{live_server.url}/saved/")
    page.evaluate("localStorage.setItem('icdsite:saved-codes', JSON.stringify(['M61.2', 'Z99.999']))")
    page.reload()
    page.locator("#saved-table tbody tr").first.wait_for()
    assert page.locator("#saved-status").inner_text() == "1 saved code. No longer in the code set: Z99.999."
    assert page.evaluate("localStorage.getItem('icdsite:saved-codes')") == '["M61.2"]'


def test_clicking_save_again_unsaves(page, live_server):
    save_code(page, live_server.url, "M61.2")
    button = page.get_by_role("button", name="Save", exact=True)
    button.click()
    assert button.get_attribute("aria-pressed") == "false"
    page.goto(f"{live_server.url}/saved/")
    assert (
        page.locator("#saved-status").inner_text()
        == "No saved codes yet. Use the Save button on a code page."
    )


def test_without_javascript_the_save_button_stays_hidden(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/codes/M61.2/")
    assert not page.locator("[data-save-code]").is_visible()
    assert (
        page.get_by_role("heading", level=1).inner_text()
        == "Paralytic calcification and ossification of muscle"
    )
    page.goto(f"{live_server.url}/saved/")
    assert "Saving codes needs JavaScript" in page.locator("main").inner_text()
    context.close()


@pytest.mark.parametrize(
    "path",
    ["/", "/chapters/13/", "/blocks/M60-M63/", "/codes/M61.2/", "/codes/S72.001A/", "/codes/no-such-code/"],
)
def test_pages_have_no_axe_violations(page, live_server, path):
    page.goto(f"{live_server.url}{path}")
    assert axe_violations(page) == []


def test_saved_page_with_codes_has_no_axe_violations(page, live_server):
    save_code(page, live_server.url, "M61.2")
    open_saved_list(page, live_server.url)
    assert axe_violations(page) == []


def test_code_and_saved_pages_on_a_phone_have_no_horizontal_scroll_or_axe_violations(
    browser, live_server, artifacts
):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/codes/M61.2/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []
    page.screenshot(path=str(artifacts / "M61.2-phone.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    open_saved_list(page, live_server.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []
    context.close()


def test_desktop_screenshot_of_the_code_page(page, live_server, artifacts):
    page.goto(f"{live_server.url}/codes/M61.2/")
    page.get_by_role("button", name="Save").wait_for()
    page.screenshot(path=str(artifacts / "M61.2-desktop.png"), full_page=True)
    assert (artifacts / "M61.2-desktop.png").stat().st_size > 10_000


def test_a_large_family_is_one_row_that_expands(page, live_server):
    page.goto(f"{live_server.url}/search/?q=fracture+of+lateral+epicondyle")
    rows = page.locator(".search-result")
    expect(rows).to_have_count(1)
    family = rows.first.locator("details.result-family")
    summary = family.locator("summary")
    expect(summary).to_contain_text("S42.43-")
    expect(summary).to_contain_text(": 49 codes")
    members = family.locator("li a")
    expect(members.first).to_be_hidden()
    summary.click()
    expect(members.first).to_be_visible()
    expect(members).to_have_count(11)  # the 10 best other matches and "All codes under S42.43"
    with page.expect_navigation():
        family.get_by_role("link", name="All codes under S42.43").click()
    assert page.url.endswith("/codes/S42.43/")
