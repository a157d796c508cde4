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
from conditions.models import Article, ArticleSource

CODE = "N39.0"
SCHEDULED_CODE = "J02.0"
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
            f"browser-{group.lower()}",
            email=f"browser-{group.lower()}@example.org",
            password=PASSWORD,
            is_staff=True,
        )
        user.groups.add(Group.objects.get(name=group))
        users[group] = user
    yield users
    # Remove exactly what these tests committed (working drafts and their history included).
    codes = [CODE, SCHEDULED_CODE]
    ids = set(Article.history.filter(code_id__in=codes).values_list("id", flat=True))
    ArticleSource.history.filter(article_id__in=ids).delete()
    Article.history.filter(id__in=ids).delete()
    Article.objects.filter(code_id__in=codes, revision_of__isnull=False).delete()
    Article.objects.filter(code_id__in=codes).delete()
    refresh_article_text(codes)
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

    def open_page(**options):
        contexts.append(browser.new_context(**options))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


def choose_code(page, typed, option):
    """Pick the article's code with the admin's code picker (select2 over the public search)."""
    page.click("[aria-labelledby='select2-id_code-container']")
    page.fill(".select2-container--open .select2-search__field", typed)
    page.click(f".select2-results__option >> text={option}")


def signed_in_page(new_page, live_server, username, dialogs, **context):
    page = new_page(**context)
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
    choose_code(editor, "n390", "N39.0 Urinary tract infection, site not specified")
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


def save_and_wait(page, button="input[name=_save]"):
    page.click(button)
    page.wait_for_selector(".messagelist, .errornote")


def public_title(new_page, live_server, code=CODE):
    visitor = new_page()
    visitor.goto(live_server.url + f"/codes/{code}/")
    heading = visitor.locator("#article-heading")
    return heading.inner_text() if heading.count() else None


def test_editors_daily_work(new_page, live_server, people, mailoutbox):
    """Write, request changes, resubmit, publish, revise a live article, schedule, refuse a stale save."""
    dialogs = []
    editor = signed_in_page(new_page, live_server, "browser-editor", dialogs)
    editor.goto(live_server.url + reverse("admin:conditions_article_add"))
    # The code picker finds the code by lay words ("uti"), through the public search.
    choose_code(editor, "uti", "N39.0 Urinary tract infection, site not specified")
    editor.fill("#id_title", "Bladder infection")
    assert editor.inner_text("#id_title-counter") == "17 / 200"
    editor.fill("#id_summary", "An infection of the bladder, usually caused by bacteria.")
    editor.fill("#id_body", "## What it is\n\nBacteria get into the bladder.")
    # The live preview renders the body as the public page will (headings move down a level).
    editor.wait_for_selector("#live-preview h3 >> text=What it is")
    editor.fill("#id_author", "Browser Test")
    editor.fill("#id_sources-0-title", "MedlinePlus")
    editor.fill("#id_sources-0-url", "https://medlineplus.gov/urinarytractinfections.html")
    save_and_wait(editor)
    article = Article.objects.get(code_id=CODE)
    change = live_server.url + reverse("admin:conditions_article_change", args=[article.pk])

    # A stale save is refused: the publisher opens the draft, the editor saves a new title meanwhile.
    publisher = signed_in_page(
        new_page, live_server, "browser-publisher", dialogs, timezone_id="America/Chicago"
    )
    publisher.goto(change)
    editor.goto(change)
    editor.fill("#id_title", "Bladder infection (cystitis)")
    save_and_wait(editor)
    publisher.fill("#id_summary", "A stale summary.")
    save_and_wait(publisher)
    assert "since you opened it" in publisher.inner_text(".errorlist.nonfield")
    article.refresh_from_db()
    assert (article.title, article.summary[:5]) == ("Bladder infection (cystitis)", "An in")

    # The editor submits with an unsaved edit: the button saves it first.
    editor.goto(change)
    editor.fill("#id_summary", "An infection of the bladder, most often caused by bacteria from the gut.")
    save_and_wait(editor, "button[value=submit]")
    article.refresh_from_db()
    assert article.status == "in_review" and "from the gut" in article.summary

    # The publisher requests changes with a note; the editor sees it, edits and resubmits.
    publisher.goto(live_server.url + reverse("admin:index"))
    publisher.click(".queue-waiting a >> text=Bladder infection (cystitis)")
    publisher.fill("#id_review_note", "Say when to see a clinician.")
    save_and_wait(publisher, "button[value=request_changes]")
    editor.goto(change)
    assert "Say when to see a clinician." in editor.inner_text(".review-note")
    editor.fill(
        "#id_body",
        "## What it is\n\nBacteria get into the bladder.\n\n## When to see a clinician\n\nIf it burns.",
    )
    save_and_wait(editor, "button[value=submit]")
    article.refresh_from_db()
    assert article.status == "in_review" and article.review_note == ""

    # The publisher publishes it.
    publisher.goto(change)
    save_and_wait(publisher, "button[value=publish]")
    assert public_title(new_page, live_server) == "Bladder infection (cystitis)"

    # The editor revises the live article; the public page stays as it is until the revision is published.
    editor.goto(change)
    editor.click("button[value=revise]")
    editor.wait_for_selector(".messagelist .success")
    revision = Article.objects.get(revision_of=article)
    editor.fill("#id_title", "Bladder infection, revised")
    save_and_wait(editor, "button[value=submit]")
    assert public_title(new_page, live_server) == "Bladder infection (cystitis)"
    publisher.goto(live_server.url + reverse("admin:conditions_article_change", args=[revision.pk]))
    save_and_wait(publisher, "button[value=publish]")
    assert public_title(new_page, live_server) == "Bladder infection, revised"
    assert not Article.objects.filter(revision_of=article).exists()

    # A publication scheduled with the Publish button and a typed time (the publisher's zone) stays hidden.
    publisher.goto(live_server.url + reverse("admin:conditions_article_add"))
    choose_code(publisher, "strep throat", f"{SCHEDULED_CODE} Streptococcal pharyngitis")
    publisher.fill("#id_title", "Strep throat")
    publisher.fill("#id_summary", "A throat infection caused by bacteria.")
    publisher.fill("#id_body", "Sore throat and fever.")
    publisher.fill("#id_author", "Browser Test")
    publisher.fill("#id_sources-0-title", "MedlinePlus")
    publisher.fill("#id_sources-0-url", "https://medlineplus.gov/strepthroat.html")
    save_and_wait(publisher, "input[name=_continue]")
    publisher.fill("#id_publish_at_0", "2031-03-04")
    publisher.fill("#id_publish_at_1", "08:30:00")
    save_and_wait(publisher, "button[value=publish]")
    assert "Scheduled for" in publisher.inner_text(".article-state")
    scheduled = Article.objects.get(code_id=SCHEDULED_CODE)
    assert scheduled.status == "published"
    assert scheduled.publish_at.isoformat() == "2031-03-04T14:30:00+00:00"  # 8:30 in Chicago
    assert public_title(new_page, live_server, SCHEDULED_CODE) is None

    # The notifications: publishers on each submission, the author on changes requested and publication.
    sent = [(m.to, m.subject) for m in mailoutbox]
    assert sent == [
        (["browser-publisher@example.org"], "Waiting for review: Bladder infection (cystitis)"),
        (["browser-editor@example.org"], "Changes requested: Bladder infection (cystitis)"),
        (["browser-publisher@example.org"], "Waiting for review: Bladder infection (cystitis)"),
        (["browser-editor@example.org"], "Published: Bladder infection (cystitis)"),
        (["browser-publisher@example.org"], "Waiting for review: Bladder infection, revised"),
        (["browser-editor@example.org"], "Published: Bladder infection, revised"),
    ]
    assert dialogs == []


def test_leaving_with_unsaved_edits_asks_first(new_page, live_server, people):
    dialogs = []
    add = live_server.url + reverse("admin:conditions_article_add")
    untouched = signed_in_page(new_page, live_server, "browser-editor", dialogs)
    untouched.goto(add)
    untouched.close(run_before_unload=True)  # nothing typed: it closes without a question
    assert dialogs == []

    editor = signed_in_page(new_page, live_server, "browser-editor", dialogs)
    editor.goto(add)
    editor.click("#id_title")
    editor.keyboard.type("Half-written title")
    with editor.expect_event("dialog") as asked:
        editor.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"  # dismissed by signed_in_page's handler: the page stays
    assert not editor.is_closed()


def test_the_code_set_is_still_there(transactional_db):
    """Runs after the workflow test: its clean-up removed its own rows and nothing else."""
    from conditions.models import Code

    assert Code.objects.filter(pk__in=[CODE, "M61.2"]).count() == 2
    assert not Code.objects.filter(pk__in=[CODE, SCHEDULED_CODE], has_article=True).exists()
    assert not get_user_model().objects.filter(username__startswith="browser-").exists()
