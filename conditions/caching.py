"""Caching that keeps the public pages correct.

Every page a visitor can see depends on the official data and the published articles only. Every statement
that writes those tables (the import, the article services, the admin, anything) bumps the content version in
its own transaction, through PostgreSQL triggers (migration 0011), so a page cached under an older version is
never served once the change commits. The pages are cached under that version:

- ``public_page`` (home, chapter, block and code pages): ETag and Last-Modified from the version, so a
  browser or CDN revalidates with a 304 that costs one small query; ``Cache-Control`` with ``s-maxage`` for
  a shared cache in front; the rendered page in Django's cache keyed by version, code release and address
  (not the query string, which these pages ignore), so the next request after a change renders afresh.
- ``cached_sitemap``: a sitemap file keyed by version, section and page number only, so query strings
  cannot fill the cache.

An article scheduled for later becomes visible without a write: the version also counts the published
articles whose time has come since the last bump.

While a public page renders, the version it was read under is known (``per_version``): what depends only on
the content, such as which codes have an article, is computed once per version in each process.
"""

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, wraps

from django.conf import settings
from django.core.cache import caches
from django.db import connections, router
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, quote_etag

from icdsite.compression import precompress

from .models import Article, ContentVersion
from .version_watch import WATCH

CACHE_PREFIX = "icdsite:page"


@dataclass(frozen=True)
class Version:
    key: str
    changed_at: datetime
    number: int = 0


# The content version of the public page being rendered (set by ``public_page``).
_page_version: ContextVar[Version | None] = ContextVar("page_version", default=None)
# name -> (version key, value): values computed once per content version in this process.
_per_version: dict[str, tuple[str, object]] = {}


@contextmanager
def under(version: Version):
    """Within: what is computed is for ``version`` (a public page rendering, a search answer being kept)."""
    token = _page_version.set(version)
    try:
        yield
    finally:
        _page_version.reset(token)


def per_version(name, compute, otherwise=None):
    """``compute()``, computed once per content version in this process while a public page or a kept search
    answer is computed (``under``).

    Elsewhere (the admin preview, the shell) the version is not at hand: it computes afresh, or calls
    ``otherwise()`` when given (something cheaper that answers the one request).
    """
    version = _page_version.get()
    if version is None:
        return (otherwise or compute)()
    held = _per_version.get(name)
    if held is None or held[0] != version.key:
        held = (version.key, compute())
        _per_version[name] = held
    return held[1]


def content_version(request=None) -> Version:
    """The current content version: known in this process while it listens for changes, else one query.

    With ``CONTENT_VERSION_WATCH`` on (production), a process that listens for the version's notifications
    (``conditions.version_watch``) reads it only after a change or when a scheduled article's time comes. A
    signed-in editor's request (a session cookie) always reads it, so what an editor just did shows on their
    next request whichever process serves it; visitors see it once the notification arrives, within
    milliseconds of the commit.
    """
    if not settings.CONTENT_VERSION_WATCH or (
        request is not None and settings.SESSION_COOKIE_NAME in request.COOKIES
    ):
        return _read_version()[0]
    return WATCH.current(_read_version)


def _read_version() -> tuple[Version, datetime | None]:
    """The version and the time of the next scheduled publication, in one query.

    Read from the database the page itself reads from (a replica for public pages when one is set): a version
    read from the primary while the replica lags would store the replica's older page under the new key.
    """
    version, article = ContentVersion._meta.db_table, Article._meta.db_table
    with connections[router.db_for_read(ContentVersion)].cursor() as cursor:
        cursor.execute(
            f"""
            SELECT v.number, GREATEST(v.changed_at, max(a.publish_at)), count(a.id),
                   (SELECT min(publish_at) FROM {article} WHERE status = %s AND publish_at > now())
            FROM {version} v
            LEFT JOIN {article} a
              ON a.status = %s AND a.publish_at > v.changed_at AND a.publish_at <= now()
            WHERE v.id = 1
            GROUP BY v.number, v.changed_at
            """,
            [Article.Status.PUBLISHED, Article.Status.PUBLISHED],
        )
        row = cursor.fetchone()
    if row is None:  # a flushed test database: no version row yet
        return Version("0", datetime(2000, 1, 1, tzinfo=UTC)), None
    number, changed_at, due, next_due = row
    # The time makes the key unique even when a number comes back (a rolled-back transaction, a restored
    # backup): a page cached under it can never be taken for another state of the content.
    return Version(f"{number}.{changed_at.timestamp():.6f}.{due}", changed_at, number), next_due


@cache
def code_release() -> str:
    """A fingerprint of the code and templates: a deploy that changes the pages changes the ETags and keys."""
    digest = hashlib.sha256()
    base = settings.BASE_DIR
    for folder, pattern in (
        ("conditions", "*.py"),
        ("icdsite", "*.py"),
        ("templates", "*.html"),
        ("conditions", "*.html"),
    ):
        for path in sorted((base / folder).rglob(pattern)):
            if "migrations" not in path.parts:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _page_cache():
    return caches[settings.PAGE_CACHE_ALIAS]


def _cache_headers(response, version, etag):
    response["ETag"] = etag
    response["Last-Modified"] = http_date(version.changed_at.timestamp())
    patch_cache_control(
        response, public=True, max_age=settings.PAGE_MAX_AGE, s_maxage=settings.PAGE_SHARED_MAX_AGE
    )
    return response


def public_page(view):
    """Conditional GET, CDN-ready Cache-Control and the server-side page cache for a public page view."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        version = content_version(request)
        etag = quote_etag(f"{version.key}-{code_release()}")
        not_modified = get_conditional_response(
            request, etag=etag, last_modified=int(version.changed_at.timestamp())
        )
        if not_modified is not None:
            return _cache_headers(not_modified, version, etag)
        timeout = settings.PAGE_CACHE_SECONDS
        key = ":".join(
            [
                CACHE_PREFIX,
                version.key,
                code_release(),
                hashlib.sha256(_address(request).encode()).hexdigest(),
            ]
        )
        response = _page_cache().get(key) if timeout > 0 else None
        if response is not None:
            response["X-Cache"] = "hit"
            return response
        with under(version):
            response = view(request, *args, **kwargs)
            if response.status_code != 200:
                return response
            if hasattr(response, "render"):
                response.render()
        if _shareable(request, response):
            _cache_headers(response, version, etag)
            if timeout > 0:
                _page_cache().set(key, precompress(response), timeout)
                response["X-Cache"] = "miss"
        return response

    return wrapped


def _address(request):
    """Scheme, host and path: the query string is left out (these pages read none), so ?bust=N shares the entry."""
    return f"{request.scheme}://{request.get_host()}{request.path}"


def _shareable(request, response):
    """A page for everyone: no cookie set, no session read, nothing varying by cookie."""
    session = getattr(request, "session", None)
    return (
        not response.cookies
        and not (session is not None and session.accessed)
        and "cookie" not in response.get("Vary", "").lower()
        and not response.streaming
    )


def cached_sitemap(view):
    """A sitemap file cached by content version, section and page number; other query parameters are ignored."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        page = request.GET.get("p", "1")
        if not page.isdigit() or len(page) > 6:
            return view(request, *args, **kwargs)  # the sitemap view answers 404
        version = content_version(request)
        key = ":".join(
            [
                "icdsite:sitemap",
                version.key,
                code_release(),
                kwargs.get("section") or "index",
                str(int(page)),
                _address(request),
            ]
        )
        response = _page_cache().get(key)
        if response is not None:
            return response
        response = view(request, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
        if response.status_code == 200:
            patch_cache_control(response, public=True, max_age=3600, s_maxage=3600)
            _page_cache().set(key, response, settings.SITEMAP_CACHE_SECONDS)
        return response

    return wrapped
