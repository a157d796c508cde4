"""In a real browser: an Editor writes and submits an article, a Publisher publishes it, the public sees it.

The body carries every payload of tests/xss_payloads.txt; a dialog, or a script
setting window.__xss, fails the test. The live server needs committed rows, so
this module's `transactional_db` commits without pytest-django's flush (which
would empty the code set the rest of the suite reads) and the test removes
exactly what it created.
"""

from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from conditions.indexing import refresh_article_text
from conditions.markdown import markdown_problems
from conditions.models import Article

CODE = "N39.0"
PASSWORD = "correct horse battery staple"
TITLE = "Urinary tract infection, in plain words"
PAYLOADS = [
    line
    for line in (Path(__file__).parents[1] / "xss_payloads.txt").read_text().splitlines()
    if line.strip() and not line.startswith("# ")
]
PARTS = [
    "Bacteria get into the bladder.",
    "1. Drink water\n2. See a clinician",
    '<img src=x onerror="window.__xss=1">',
    "[x](javascript:window.__xss=1)",
    *PAYLOADS,
]
# Payloads that look like broken links are refused on save with a form error (tests/test_workflow.py);
# everything else must be saved and shown harmlessly.
BODY = "\n\n".join(part for part in PARTS if not markdown_problems(part))

pytestmark = pytest.mark.browser


# The browser, DJANGO_ALLOW_ASYNC_UNSAFE and the flush-free transactional_db come from tests/browser/conftest.py.


@pytest.fixture
def people(transactional_db):
    # Not pytest-django's django_user_model: it pulls in `db`, whose teardown here would be a flush.
    users = {}
    for group in ("Editor", "Publisher"):
        user = get_user_model().objects.create_user(
            f"browser-{group.lower()}", password=PASSWORD, is_staff=True
        )
        user.groups.add(Group.objects.get(name=group))
        users[group] = user
    yield users
    # Remove exactly what this test committed.
    for article in Article.objects.filter(code_id=CODE):
        article.sources.model.history.filter(article_id=article.pk).delete()
        article.history.model.objects.filter(id=article.pk).delete()
        article.delete()
    refresh_article_text([CODE])
    LogEntry.objects.filter(user__in=users.values()).delete()
    from axes.models import AccessAttempt, AccessLog

    AccessLog.objects.filter(username__startswith="browser-").delete()
    AccessAttempt.objects.filter(username__startswith="browser-").delete()
    for user in users.values():
        user.delete()


@pytest.fixture
def new_page(browser):
    """Pages with their own cookies; their contexts are closed after the test, which ends their
    keep-alive connections (a live-server thread still serving one holds a database session open)."""
    contexts = []

    def open_page():
        contexts.append(browser.new_context())
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


def signed_in_page(new_page, live_server, username, dialogs):
    page = new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return page


def test_editor_writes_publisher_publishes_public_sees_it(new_page, live_server, people):
    dialogs = []

    editor = signed_in_page(new_page, live_server, "browser-editor", dialogs)
    editor.goto(live_server.url + reverse("admin:conditions_article_add"))
    # The code comes from the autocomplete over the whole code set.
    editor.click("[aria-labelledby='select2-id_code-container']")
    editor.fill(".select2-container--open .select2-search__field", "n390")
    editor.click(".select2-results__option >> text=N39.0 Urinary tract infection, site not specified")
    editor.fill("#id_title", TITLE)
    editor.fill("#id_summary", "An infection of the bladder or kidneys, usually caused by bacteria.")
    editor.fill("#id_body", BODY)
    editor.fill("#id_author", "Browser Test")
    editor.fill("#id_sources-0-title", "Urinary Tract Infections (MedlinePlus)")
    editor.fill("#id_sources-0-url", "https://medlineplus.gov/urinarytractinfections.html")
    editor.click("input[name=_save]")
    editor.wait_for_selector(".messagelist .success")
    article = Article.objects.get(code_id=CODE)
    assert article.status == "draft"

    editor.goto(live_server.url + reverse("admin:conditions_article_change", args=[article.pk]))
    assert editor.locator("button[value=publish]").count() == 0
    editor.click("button[value=submit]")
    editor.wait_for_selector(".messagelist .success")
    article.refresh_from_db()
    assert article.status == "in_review"

    publisher = signed_in_page(new_page, live_server, "browser-publisher", dialogs)
    publisher.goto(live_server.url + reverse("admin:conditions_article_preview", args=[article.pk]))
    assert publisher.locator(".preview-banner").is_visible()
    publisher.goto(live_server.url + reverse("admin:conditions_article_change", args=[article.pk]))
    publisher.click("button[value=publish]")
    publisher.wait_for_selector(".messagelist .success")
    article.refresh_from_db()
    assert article.status == "published"

    visitor = new_page()
    visitor.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    visitor.goto(live_server.url + f"/codes/{CODE}/")
    visitor.wait_for_load_state("load")
    assert visitor.get_by_role("heading", name=TITLE).is_visible()
    assert visitor.locator("li", has_text="Drink water").is_visible()
    # Give any injected handler (onerror, onload, autofocus/onfocus) the chance to run, then check.
    visitor.wait_for_timeout(500)
    visitor.mouse.move(200, 300)
    assert visitor.evaluate("window.__xss") is None
    assert visitor.locator(".article-body script, .article-body iframe, .article-body [onerror]").count() == 0
    assert dialogs == []


def test_the_code_set_is_still_there(transactional_db):
    """Runs after the workflow test: its clean-up removed its own rows and nothing else."""
    from conditions.models import Code

    assert Code.objects.filter(pk__in=[CODE, "M61.2"]).count() == 2
    assert not Code.objects.get(pk=CODE).has_article
    assert not get_user_model().objects.filter(username__startswith="browser-").exists()
