"""Browser fixtures: Debian's Chromium driven by Playwright's sync API against pytest-django's live server.

The browser tests only read the code set the session imported (saving a code
touches localStorage, not the database), so they use the committed data as it
is instead of pytest-django's transactional_db, whose flush after every test
would empty the tables the rest of the suite reads.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in the test thread, and Django refuses ORM calls
    # there unless told otherwise. Set per test, so it never leaks into the rest of the suite
    # (the deploy check fails when it sees it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def transactional_db(django_db_setup, django_db_blocker):
    """Replaces pytest-django's: database access for the test and the live server, without the flush."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def browser(django_db_setup):
    # The test database is created (and the code set imported) before Playwright starts its event loop:
    # Django refuses database work inside a running loop.
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile per test: its own localStorage and downloads."""
    ctx = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def axe_violations(page):
    """Run axe-core (vendored, no network) on the page as it is now and return its violations."""
    # Evaluated through the DevTools protocol: the page's Content-Security-Policy refuses an injected <script>.
    page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => (await axe.run(document)).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)
        }))"""
    )
