"""In a real browser, the public pages and the editors' admin work under the Content-Security-Policy: the
console shows no violation (no inline script, style element or style attribute, nothing from elsewhere)."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from conditions import services
from conditions.indexing import refresh_article_text
from conditions.models import Article, ArticleSource

pytestmark = pytest.mark.browser

CODE = "M77.1"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def publisher_and_article(transactional_db):
    user = get_user_model().objects.create_user("browser-csp", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Publisher"))
    article = Article(code_id=CODE, title="Tennis elbow, in plain words", summary="Pain outside the elbow.")
    article.body = "## What it is\n\nOveruse of the forearm muscles.\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    article.author = "CSP test"
    services.article_save(article=article, user=user)
    ArticleSource.objects.create(
        article=article, position=1, title="MedlinePlus", url="https://medlineplus.gov/"
    )
    article.summary = "Pain on the outside of the elbow."
    services.article_save(article=article, user=user, reason="second revision")
    services.article_publish(article=article, user=user)
    yield user, article
    # Remove exactly what this test committed (the live server needs committed rows; no flush here).
    for row in Article.objects.filter(code_id=CODE):
        row.sources.model.history.filter(article_id=row.pk).delete()
        row.history.model.objects.filter(id=row.pk).delete()
        row.delete()
    refresh_article_text([CODE])
    LogEntry.objects.filter(user=user).delete()
    from axes.models import AccessAttempt, AccessLog

    AccessLog.objects.filter(username=user.username).delete()
    AccessAttempt.objects.filter(username=user.username).delete()
    user.delete()


class ViolationLog:
    """CSP violations as the page reports them (console errors and securitypolicyviolation events)."""

    def __init__(self, page):
        self.messages = []
        page.on("console", self._console)
        # Init scripts run through the DevTools protocol, outside the page's policy.
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber))"
        )

    def _console(self, message):
        if "Content Security Policy" in message.text or message.text.startswith("CSP violation"):
            self.messages.append(message.text)


def visit(page, url, log):
    response = page.goto(url)
    assert response.status in (200, 404), (url, response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # late violations (deferred scripts) reach the console
    return log.messages


def test_public_and_admin_pages_have_no_csp_violation(browser, live_server, publisher_and_article):
    user, article = publisher_and_article
    context = browser.new_context()
    page = context.new_page()
    log = ViolationLog(page)
    try:
        public = [
            "/",
            f"/codes/{CODE}/",
            "/codes/S72.001A/",
            "/chapters/13/",
            "/blocks/M70-M79/",
            "/search/?q=tennis+elbow",
            "/saved/",
            "/codes/Q99.99/",
        ]
        for path in public:
            assert visit(page, live_server.url + path, log) == [], path
        # The scripts run under the policy: autocomplete answers and Save works.
        page.goto(live_server.url + f"/codes/{CODE}/")
        page.click("[data-save-code]")
        page.fill("#site-q", "tennis el")
        page.wait_for_timeout(600)
        assert log.messages == []

        page.goto(live_server.url + reverse("admin:login"))
        assert log.messages == []
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(live_server.url + reverse("admin:index"))
        admin = [
            reverse("admin:index"),
            reverse("admin:conditions_article_changelist"),
            reverse("admin:conditions_article_add"),
            reverse("admin:conditions_article_change", args=[article.pk]),
            reverse("admin:conditions_article_history", args=[article.pk]),
            reverse("admin:conditions_article_compare", args=[article.pk]),
            reverse("admin:conditions_article_preview", args=[article.pk]),
            reverse("admin:conditions_code_changelist") + "?q=M77",
            reverse("admin:conditions_code_change", args=[CODE]),
            reverse("admin:conditions_synonym_changelist"),
            reverse("admin:conditions_synonym_add"),
        ]
        for path in admin:
            assert visit(page, live_server.url + path, log) == [], path
        # The article form's widgets (the code picker) build their markup under the policy too.
        page.goto(live_server.url + reverse("admin:conditions_article_add"))
        page.click(".select2-selection")
        page.fill(".select2-container--open .select2-search__field", "m771")
        page.wait_for_timeout(800)
        assert log.messages == []

        # The detector itself: an inline script added now is refused and reported.
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = '1'; document.head.append(s); }"
        )
        page.wait_for_timeout(200)
        assert any("script-src" in message for message in log.messages), log.messages
    finally:
        context.close()
