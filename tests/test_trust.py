"""The trust pages (About, editorial policy, privacy, contact) and the footer that links them from every page."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from conditions import services
from conditions.icd10cm import RELEASE
from conditions.models import Code, ErrorReport

pytestmark = pytest.mark.django_db

TRUST_PAGES = ["/about/", "/editorial-policy/", "/privacy/", "/contact/"]


def text_of(html):
    """The words of a page, one space between them (none before punctuation that followed a tag)."""
    return re.sub(r" ([:;,.])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", html).split()))


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/chapters/13/",
        "/blocks/M60-M63/",
        "/codes/M61.2/",
        "/search/?q=elbow",
        "/saved/",
        "/no-such-page/",
        *TRUST_PAGES,
    ],
)
def test_every_page_has_the_footer_with_the_trust_links_and_the_release(client, path):
    html = client.get(path).content.decode()
    footer = re.search(r'<footer class="site-footer">.*?</footer>', html, re.S).group(0)
    for link in TRUST_PAGES:
        assert f'href="{link}"' in footer, (path, link)
    assert RELEASE in text_of(footer)


def test_about_names_the_source_release_and_counts(client):
    response = client.get("/about/")
    assert response.status_code == 200
    text = text_of(response.content.decode())
    codes = Code.objects.count()
    billable = Code.objects.filter(billable=True).count()
    assert (
        f"CMS ICD-10-CM tabular list, {RELEASE}: {codes:,} entries, {billable:,} of them complete (billable) codes"
        in text
    )
    assert "sample content" in text and "not reviewed by a clinician" in text
    assert "Not medical advice" in text


def test_editorial_policy_and_privacy_say_what_they_must(client):
    policy = text_of(client.get("/editorial-policy/").content.decode())
    assert "We never show a reviewer who did not review." in policy
    assert "Corrections" in policy and "every article lists its sources" in policy
    privacy = text_of(client.get("/privacy/").content.decode())
    assert "no analytics and no tracking" in privacy
    assert "kept in your browser's own storage (localStorage)" in privacy


def test_reading_pages_sets_no_cookie(client):
    for path in ["/", "/codes/M61.2/", "/about/", "/privacy/", "/search/?q=elbow"]:
        assert not client.get(path).cookies, path


def test_a_report_is_stored_and_the_sender_thanked(client):
    form = client.get("/contact/?page=/codes/M77.12/").content.decode()
    assert 'value="/codes/M77.12/"' in form
    response = client.post(
        "/contact/", {"page": "/codes/M77.12/", "message": "The side is wrong.", "email": "", "website": ""}
    )
    assert response.status_code == 302 and response["Location"] == "/contact/?sent=1"
    report = ErrorReport.objects.get()
    assert (report.page, report.message, report.email, report.handled) == (
        "/codes/M77.12/",
        "The side is wrong.",
        "",
        False,
    )
    assert "Thank you: your report was received." in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"message": ""}, "This field is required."),
        ({"message": "x" * 2001}, "at most 2000 characters"),
        ({"message": "Wrong", "page": "https://evil.example/"}, "starting with /"),
        ({"message": "Wrong", "email": "not an email"}, "Enter a valid email address."),
    ],
)
def test_bad_reports_get_a_clear_error_and_nothing_is_stored(client, data, error):
    response = client.post("/contact/", data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not ErrorReport.objects.exists()


def test_the_contact_page_is_never_cached_and_takes_only_get_and_post(client):
    assert "no-cache" in client.get("/contact/")["Cache-Control"]
    assert client.put("/contact/").status_code == 405


def test_a_bot_filling_the_hidden_field_is_thanked_but_not_stored(client):
    response = client.post("/contact/", {"message": "Buy now", "website": "http://spam.example"})
    assert response.status_code == 302
    assert not ErrorReport.objects.exists()


def test_a_flood_of_reports_is_refused_not_stored(client):
    ErrorReport.objects.bulk_create(
        ErrorReport(message=f"report {i}") for i in range(services.REPORTS_PER_HOUR)
    )
    response = client.post("/contact/", {"message": "One more"})
    assert response.status_code == 429
    assert "the form is paused for now" in response.content.decode()
    assert ErrorReport.objects.count() == services.REPORTS_PER_HOUR


def test_editors_read_and_tick_off_reports_in_the_admin(client, editor):
    assert editor.has_perm("conditions.change_errorreport") and editor.has_perm("conditions.view_errorreport")
    assert set(Group.objects.get(name="Publisher").permissions.values_list("codename", flat=True)) >= {
        "view_errorreport",
        "change_errorreport",
    }
    report = ErrorReport.objects.create(page="/codes/I10/", message="Typo in the summary")
    client.force_login(editor)
    html = client.get(reverse("admin:conditions_errorreport_changelist")).content.decode()
    assert "Typo in the summary" in html
    change = client.get(reverse("admin:conditions_errorreport_change", args=[report.pk])).content.decode()
    assert "Typo in the summary" in change and 'name="message"' not in change  # read-only
