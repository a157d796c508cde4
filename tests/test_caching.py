"""Caching keeps pages correct: conditional GET, CDN headers, the page cache and its invalidation by
publishing, editing, unpublishing and importing, sitemaps cached whatever the query string, and gzip only
where no secret is in the response (BREACH)."""

import gzip

import pytest
from django.core.cache import cache

from conditions import icd10cm, loading, services
from conditions.caching import content_version
from conditions.models import Article, ContentVersion

pytestmark = pytest.mark.django_db

CODE = "M77.1"
PAGE = f"/codes/{CODE}/"


@pytest.mark.parametrize("path", ["/", PAGE, "/chapters/13/", "/blocks/M70-M79/"])
def test_public_pages_answer_304_when_nothing_changed(client, path, django_assert_num_queries):
    first = client.get(path)
    assert first.status_code == 200
    assert first["ETag"].startswith('"') and first["Last-Modified"].endswith("GMT")
    cache_control = {part.strip() for part in first["Cache-Control"].split(",")}
    assert {"public", "max-age=60", "s-maxage=300"} <= cache_control
    # Revalidation costs one small query: the content version.
    with django_assert_num_queries(1):
        again = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert (again.status_code, again.content) == (304, b"")
    assert again["ETag"] == first["ETag"]
    assert client.get(path, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    assert client.get(path, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_the_page_cache_serves_the_second_request_whatever_the_query_string(
    client, django_assert_num_queries
):
    first = client.get(PAGE)
    assert first["X-Cache"] == "miss"
    with django_assert_num_queries(1):
        second = client.get(PAGE + "?bust=1")
    assert second["X-Cache"] == "hit"
    assert second.content == first.content
    assert client.get(PAGE + "?bust=2")["X-Cache"] == "hit"


def test_unknown_codes_and_redirects_are_not_cached(client):
    assert client.get("/codes/Q99.99/").status_code == 404
    assert "X-Cache" not in client.get("/codes/Q99.99/")
    assert client.get("/codes/m771/").status_code == 301


def _article(publisher, title="Tennis elbow, in plain words"):
    article = Article(code_id=CODE, title=title, summary="Pain on the outside of the elbow.", author="Test")
    article.body = "Overuse of the forearm muscles."
    services.article_save(article=article, user=publisher)
    return article


def test_publishing_editing_and_unpublishing_show_on_the_next_request(client, publisher):
    article = _article(publisher)
    before = client.get(PAGE)
    assert b"Tennis elbow, in plain words" not in before.content  # a draft is not public
    assert client.get(PAGE)["X-Cache"] == "hit"

    services.article_submit(article=article, user=publisher)
    services.article_publish(article=Article.objects.get(pk=article.pk), user=publisher)
    published = client.get(PAGE, HTTP_IF_NONE_MATCH=before["ETag"])
    assert published.status_code == 200
    assert published["X-Cache"] == "miss"
    assert b"Tennis elbow, in plain words" in published.content
    assert published["ETag"] != before["ETag"]

    article = Article.objects.get(pk=article.pk)
    article.summary = "A sore elbow from gripping and lifting."
    services.article_save(article=article, user=publisher)
    edited = client.get(PAGE)
    assert b"A sore elbow from gripping and lifting." in edited.content

    services.article_unpublish(article=Article.objects.get(pk=article.pk), user=publisher)
    unpublished = client.get(PAGE)
    assert b"Tennis elbow, in plain words" not in unpublished.content
    assert len({before["ETag"], published["ETag"], edited["ETag"], unpublished["ETag"]}) == 4


def test_a_scheduled_article_shows_when_its_time_comes(client, publisher, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    article = _article(publisher)
    services.article_submit(article=article, user=publisher)
    now = timezone.now()
    services.article_publish(
        article=Article.objects.get(pk=article.pk), user=publisher, publish_at=now + timedelta(hours=1)
    )
    assert b"Tennis elbow, in plain words" not in client.get(PAGE).content
    assert client.get(PAGE)["X-Cache"] == "hit"
    time_machine.move_to(now + timedelta(hours=2))
    assert b"Tennis elbow, in plain words" in client.get(PAGE).content


def test_an_import_shows_on_the_next_request(client, tmp_path):
    page = "/codes/M61.2/"
    assert b"(revised)" not in client.get(page).content
    assert client.get(page)["X-Cache"] == "hit"
    source = icd10cm.default_tabular_path().read_text(encoding="utf-8")
    newer = tmp_path / "newer.xml"
    newer.write_text(
        source.replace(
            "<desc>Paralytic calcification and ossification of muscle</desc>",
            "<desc>Paralytic calcification and ossification of muscle (revised)</desc>",
        ),
        encoding="utf-8",
    )
    loading.import_tabular(newer, code_list=icd10cm.default_code_list_path())
    response = client.get(page)
    assert response["X-Cache"] == "miss"
    assert b"Paralytic calcification and ossification of muscle (revised)" in response.content


def test_any_write_to_the_content_bumps_the_version_even_a_queryset_update(client):
    from django.db import transaction
    from django.db.models import F

    from conditions.models import Code

    start = content_version()
    with transaction.atomic():
        Code.objects.filter(code="M61.2").update(title=F("title"))
        inside = content_version()
        transaction.set_rollback(True)
    assert content_version() == start
    Code.objects.filter(code="M61.2").update(
        title=F("title")
    )  # committed this time (in the test's transaction)
    assert content_version().key not in (start.key, inside.key)
    # A direct update of an article (not through the services) reaches the next request too.
    assert client.get(PAGE)["X-Cache"] == "miss"
    assert client.get(PAGE)["X-Cache"] == "hit"
    Code.objects.filter(code=CODE).update(title="Lateral epicondylitis (retitled)")
    assert b"Lateral epicondylitis (retitled)" in client.get(PAGE).content


@pytest.mark.parametrize(
    "model_name", ["CodeFacts", "RetiredCode", "Icd9Code", "PdxCollection", "NextYearCode"]
)
def test_a_write_to_the_coding_tables_bumps_the_version_too(client, model_name):
    """A package update rewrites the coding data the code pages show: no page cached before it is served."""
    from django.db.models import F

    from conditions import models

    model = getattr(models, model_name)
    assert client.get("/codes/I21.4/")["X-Cache"] == "miss"
    assert client.get("/codes/I21.4/")["X-Cache"] == "hit"
    start = content_version()
    pk = model.objects.values_list("pk", flat=True).first()
    assert pk is not None, model_name
    column = model._meta.pk.name
    model.objects.filter(pk=pk).update(**{column: F(column)})
    assert content_version().key != start.key
    assert client.get("/codes/I21.4/")["X-Cache"] == "miss"


def test_sitemaps_are_cached_whatever_the_query_string(client):
    first = client.get("/sitemap-codes.xml?p=2")
    assert first.status_code == 200
    keys = set(cache._cache)
    for bust in range(5):
        again = client.get(f"/sitemap-codes.xml?p=2&bust={bust}")
        assert again.content == first.content
    assert client.get("/sitemap-codes.xml?p=02").content == first.content
    assert set(cache._cache) == keys  # no new entry per query string
    assert client.get("/sitemap-codes.xml?p=abc").status_code == 404
    assert client.get("/sitemap-codes.xml?p=999").status_code == 404
    assert set(cache._cache) == keys


def test_public_pages_are_gzipped(client):
    response = client.get(PAGE, HTTP_ACCEPT_ENCODING="gzip, br")
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    html = gzip.decompress(response.content)
    assert b"<!doctype html>" in html.lower()
    assert len(response.content) < len(html) / 3


def test_a_cached_page_is_served_from_the_copy_compressed_when_it_was_stored(client, monkeypatch):
    plain = client.get(PAGE)  # a miss, stored with its compressed copy
    assert plain["X-Cache"] == "miss" and "Content-Encoding" not in plain

    def compress_again(*args, **kwargs):
        raise AssertionError("a cache hit was compressed again")

    monkeypatch.setattr("django.middleware.gzip.compress_string", compress_again)
    hit = client.get(PAGE, HTTP_ACCEPT_ENCODING="gzip")
    assert (hit["X-Cache"], hit["Content-Encoding"]) == ("hit", "gzip")
    assert gzip.decompress(hit.content) == plain.content
    assert hit["Content-Length"] == str(len(hit.content))
    assert hit["ETag"] == "W/" + plain["ETag"]  # as GZipMiddleware marks a compressed copy
    assert "Accept-Encoding" in hit["Vary"]
    again = client.get(PAGE)  # a client that takes no gzip gets the page as it is
    assert "Content-Encoding" not in again and again.content == plain.content


def test_responses_with_a_csrf_token_or_session_are_not_compressed(client, publisher):
    login = client.get("/admin/login/", HTTP_ACCEPT_ENCODING="gzip")
    assert b"csrfmiddlewaretoken" in login.content
    assert "Content-Encoding" not in login
    client.force_login(publisher)
    admin = client.get("/admin/conditions/article/", HTTP_ACCEPT_ENCODING="gzip")
    assert admin.status_code == 200
    assert "Content-Encoding" not in admin


# --- The content version watch (conditions.version_watch) ---------------------------------------------------
@pytest.fixture
def watch(settings, monkeypatch):
    """A process that listens for the content version's notifications, as production runs (DEBUG off)."""
    from conditions import caching, version_watch

    settings.CONTENT_VERSION_WATCH = True
    watching = version_watch.VersionWatch(check_seconds=0.2)
    monkeypatch.setattr(caching, "WATCH", watching)
    yield watching
    watching.stop()


def _until(condition, what):
    import time

    for _ in range(200):  # at most 10 s: the listening thread's reconnection takes half a second
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"never: {what}")


def _reads_of_the_version(client, path=PAGE, **headers):
    """How many times serving ``path`` read the content version, and the response."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    return sum("conditions_contentversion" in query["sql"] for query in queries.captured_queries), response


def _notify(number):
    """What the content version trigger sends when a write commits (the tests' own writes never commit)."""
    from tests.servers import direct_connection

    with direct_connection() as conn:
        conn.execute("SELECT pg_notify('icdsite_content_version', %s)", [str(number)])


def test_a_listening_process_serves_cached_pages_without_reading_the_version(client, watch):
    client.get(PAGE)  # the first request starts the watch
    _until(lambda: watch.listening, "the watch listens")
    client.get(PAGE)  # reads the version, unless the first request already read it while listening
    reads, response = _reads_of_the_version(client)
    assert (reads, response["X-Cache"]) == (0, "hit")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE)["X-Cache"] == "hit"
    assert queries.captured_queries == []  # a page cache hit costs no query at all


def test_a_notification_makes_the_next_request_read_the_version_again(client, watch):
    client.get(PAGE)
    _until(lambda: watch.listening, "the watch listens")
    number = ContentVersion.objects.get().number
    client.get(PAGE)
    assert _reads_of_the_version(client)[0] == 0

    # A replica that has not replayed the change yet: the version read is older than the notified one, so it
    # is read again on every request until it has caught up.
    generation = watch._generation
    _notify(number + 1)
    _until(lambda: watch._generation != generation, "the notification arrives")
    assert [_reads_of_the_version(client)[0] for _ in range(3)] == [1, 1, 1]

    generation = watch._generation
    _notify(number)  # caught up (here: the same database)
    _until(lambda: watch._generation != generation, "the notification arrives")
    assert [_reads_of_the_version(client)[0] for _ in range(3)] == [1, 0, 0]


def test_a_signed_in_editor_always_reads_the_version(client, watch, settings):
    client.get(PAGE)
    _until(lambda: watch.listening, "the watch listens")
    client.get(PAGE)
    assert _reads_of_the_version(client)[0] == 0
    client.cookies[settings.SESSION_COOKIE_NAME] = "an-editors-session"
    assert _reads_of_the_version(client)[0] == 1
    assert _reads_of_the_version(client)[0] == 1


def test_a_lost_listening_connection_is_replaced_and_the_version_read_again(client, watch):
    from tests.servers import direct_connection

    def watching(conn):
        return conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s", ["%(version watch)"]
        ).fetchall()

    client.get(PAGE)
    _until(lambda: watch.listening, "the watch listens")
    client.get(PAGE)
    assert _reads_of_the_version(client)[0] == 0
    with direct_connection() as conn:
        _until(lambda: len(watching(conn)) == 1, "only this test's watch listens")  # others stop within 0.2 s
        [(pid,)] = watching(conn)
        conn.execute("SELECT pg_terminate_backend(%s)", [pid])
    _until(lambda: not watch.listening, "the watch notices")
    # Not listening: every request reads the version (whatever changed meanwhile shows).
    assert [_reads_of_the_version(client)[0] for _ in range(2)] == [1, 1]
    _until(lambda: watch.listening, "the watch listens again")
    assert [_reads_of_the_version(client)[0] for _ in range(3)] == [1, 0, 0]


def test_a_listening_process_shows_a_scheduled_article_when_its_time_comes(
    client, publisher, watch, time_machine
):
    from datetime import timedelta

    from django.utils import timezone

    article = _article(publisher)
    services.article_submit(article=article, user=publisher)
    now = timezone.now()
    services.article_publish(
        article=Article.objects.get(pk=article.pk), user=publisher, publish_at=now + timedelta(hours=1)
    )
    client.get(PAGE)
    _until(lambda: watch.listening, "the watch listens")
    assert b"Tennis elbow, in plain words" not in client.get(PAGE).content
    assert _reads_of_the_version(client)[0] == 0
    time_machine.move_to(now + timedelta(hours=2))
    reads, response = _reads_of_the_version(client)
    assert reads == 1
    assert b"Tennis elbow, in plain words" in response.content
