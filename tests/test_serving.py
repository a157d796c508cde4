"""Serving under load: runserver (`make run`) and `make serve` (gunicorn) answer 32 concurrent clients without
a 5xx, and PostgreSQL never sees more connections from them than the pool bound (processes x pool size)."""

import gzip
import json
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .servers import (
    ARTIFACTS,
    database_url_for,
    direct_connection,
    free_port,
    get,
    nginx_config,
    running,
)
from .test_headers import assert_security_headers

CLIENTS = 32
REQUESTS = 240


@pytest.fixture(scope="module")
def sample_paths(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), direct_connection() as conn:
        rows = conn.execute("SELECT code FROM conditions_code ORDER BY random() LIMIT 150").fetchall()
    codes = [row[0] for row in rows]
    paths = [f"/codes/{code}/" for code in codes]
    paths += ["/", "/chapters/13/", "/blocks/M60-M63/", "/codes/m612", "/codes/Q99.99/", "/robots.txt"]
    paths += [f"/search/?q={q}" for q in ("diabetes", "tennis+elbow", "fractur+femur", "M61", "heart")]
    paths += [f"/api/search?q={q}" for q in ("asthma", "E11.9", "broken+arm")]
    paths += [f"/api/autocomplete?q={q}" for q in ("diab", "S72", "migr")]
    paths += ["/api/codes/M61.2", "/sitemap.xml"]
    return paths


class ConnectionCounter(threading.Thread):
    """Samples pg_stat_activity every 20 ms and keeps the most connections seen for one application name
    (its pools' connections and its processes' content version watch, conditions.version_watch)."""

    def __init__(self, application_name):
        super().__init__(daemon=True)
        self.application_name = application_name
        self.most = 0
        self.samples = 0
        self.stopping = threading.Event()

    def run(self):
        with direct_connection() as conn:
            while not self.stopping.is_set():
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name IN (%s, %s)",
                    [self.application_name, f"{self.application_name} (version watch)"],
                ).fetchone()[0]
                self.most = max(self.most, count)
                self.samples += 1
                time.sleep(0.02)


def fire(base, paths):
    """REQUESTS GETs from CLIENTS concurrent clients; returns the status of each."""
    rng = random.Random(8)
    chosen = [rng.choice(paths) for _ in range(REQUESTS)]
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(lambda path: (path, get(base + path, timeout=60)[0]), chosen))


def assert_holds(base, paths, counter, bound):
    counter.start()
    try:
        results = fire(base, paths)
    finally:
        counter.stopping.set()
        counter.join()
    failures = [(path, status) for path, status in results if status >= 500]
    assert not failures, failures
    assert len(results) >= 200
    assert {status for _, status in results} <= {200, 301, 302, 404}
    assert counter.samples > 10
    # The server really used the database (the counter sees its connections), and never more than the bound.
    assert 1 <= counter.most <= bound, counter.most


def test_development_server_holds_32_concurrent_clients(sample_paths, django_db_blocker):
    port, name = free_port(), "icdsite-test-runserver"
    with django_db_blocker.unblock():
        env = {"DATABASE_URL": database_url_for(name), "DEBUG": "1", "DB_POOL_MAX_SIZE": "4"}
    command = [".venv/bin/python", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with running(command, port=port, env=env) as base:
        # Django's development server would name Python's version.
        assert get(base + "/robots.txt")[1]["Server"] == "icdsite"
        assert_holds(base, sample_paths, ConnectionCounter(name), bound=4)


@pytest.fixture(scope="module")
def make_serve(django_db_setup, django_db_blocker):
    """`make serve` on a free port against the test database: 2 workers x (2 threads + the version watch), so at
    most 6 connections."""
    with django_db_blocker.unblock():
        port, name = free_port(), "icdsite-test-serve"
        env = {
            "DATABASE_URL": database_url_for(name),
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "2",
        }
        env.pop("SECRET_KEY", None)
        with running(["make", "serve"], port=port, env=env) as base:
            yield base, name, ARTIFACTS / f"server-{port}.log"


def test_make_serve_holds_32_concurrent_clients(make_serve, sample_paths):
    base, name, _ = make_serve
    status, headers, _ = get(base + "/codes/M61.2/")
    assert status == 200
    assert_holds(base, sample_paths, ConnectionCounter(name), bound=6)


def test_make_serve_makes_a_throwaway_secret_key_and_says_so(make_serve):
    log = make_serve[2].read_text()
    assert "SECRET_KEY is not set: using a throwaway key" in log
    assert "Listening at: http://127.0.0.1:" in log


@pytest.mark.parametrize(
    "path, status",
    [
        ("/codes/M61.2/", 200),
        ("/search/?q=tennis+elbow", 200),
        ("/api/search?q=asthma", 200),
        ("/admin/login/", 200),
        ("/codes/Q99.99/", 404),
        ("/no/such/page", 404),
        ("/healthz", 200),
    ],
)
def test_make_serve_sends_the_security_headers(make_serve, path, status):
    got, headers, _ = get(make_serve[0] + path)
    assert got == status
    assert_security_headers(headers)
    # The server names neither Python nor a version.
    assert headers["Server"] == "gunicorn"
    assert not headers.get("X-Powered-By")


def test_make_serve_serves_hashed_compressed_static_files_for_a_year(make_serve):
    base = make_serve[0]
    _, _, body = get(base + "/codes/M61.2/")
    stylesheet = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', body)
    assert stylesheet, "the page links the hashed stylesheet"
    status, headers, css = get(base + stylesheet[1].decode(), headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]
    assert gzip.decompress(css).startswith(b"/* icdsite")


def test_make_serve_health_checks(make_serve):
    base = make_serve[0]
    status, headers, body = get(base + "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert "no-store" in headers["Cache-Control"]
    status, headers, body = get(base + "/readyz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "checks": {"database": True}}
    assert "no-store" in headers["Cache-Control"]


def test_make_serve_writes_one_json_line_per_request(make_serve):
    base, _, log_file = make_serve
    status, headers, _ = get(base + "/codes/M61.2/?from=log-test", headers={"X-Request-ID": "log-test-42"})
    assert headers["X-Request-ID"] == "log-test-42"
    # A request id that is not a plain token is replaced by one made here.
    _, headers, _ = get(base + "/robots.txt", headers={"X-Request-ID": "bad id <x>"})
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
        ours = [line for line in lines if line["request_id"] == "log-test-42"]
        if ours:
            break
        time.sleep(0.2)
    assert len(ours) == 1
    line = ours[0]
    assert set(line) == {"time", "method", "path", "status", "duration_ms", "request_id"}
    assert (line["method"], line["path"], line["status"]) == ("GET", "/codes/M61.2/", 200)
    assert line["duration_ms"] > 0
    assert line["time"].endswith("+00:00")


def test_make_serve_shows_a_committed_change_on_the_next_requests_of_every_worker(make_serve):
    """Each worker trusts the content version it read until PostgreSQL notifies a change (no query per page
    cache hit); a committed change shows on the requests that follow, whichever worker answers them."""
    base, name, _ = make_serve
    page, code = "/codes/M62.81/", "M62.81"

    def until(condition, what):
        deadline = time.monotonic() + 20
        while not condition():
            assert time.monotonic() < deadline, f"never: {what}"
            time.sleep(0.05)

    with direct_connection() as conn:
        (title,) = conn.execute("SELECT title FROM conditions_code WHERE code = %s", [code]).fetchone()

        def watching():
            query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            return conn.execute(query, [f"{name} (version watch)"]).fetchone()[0]

        def shown():
            status, _, body = get(base + page, headers={"Accept-Encoding": "identity"})
            assert status == 200
            return body

        # Both workers serve the page (from their page cache) and listen.
        until(lambda: (shown(), watching())[1] == 2, "both workers listen")
        assert all(title.encode() in shown() for _ in range(8))
        try:
            conn.execute("UPDATE conditions_code SET title = title || ' (revised)' WHERE code = %s", [code])
            revised = f"{title} (revised)".encode()
            until(lambda: revised in shown(), "the change shows")  # the notification arrives with the commit
            assert all(revised in shown() for _ in range(12))
        finally:
            conn.execute("UPDATE conditions_code SET title = %s WHERE code = %s", [title, code])
        until(lambda: revised not in shown(), "the change back shows")
        assert all(revised not in shown() for _ in range(12))


def test_make_serve_favicon_and_touch_icon(make_serve):
    base = make_serve[0]
    status, headers, body = get(base + "/favicon.ico")
    assert (status, headers["Content-Type"]) == (200, "image/x-icon")
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO signature
    status, headers, body = get(base + "/apple-touch-icon.png")
    assert (status, headers["Content-Type"]) == (200, "image/png")
    assert body[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def nginx_in_front(make_serve, tmp_path_factory):
    """deploy/nginx.conf in front of `make serve`, with its paths and ports pointed at a temporary folder."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        from .browser.conftest import in_ci

        if in_ci():
            pytest.fail("nginx is missing: `make services` installs it")
        pytest.skip("nginx is missing: `make services` installs it")
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    app_port = make_serve[0].rsplit(":", 1)[1]
    config = nginx_config(folder, port=port, app_port=app_port, media=folder / "media")
    with running([nginx, "-p", str(folder), "-c", str(config)], port=port, env={}) as base:
        yield base


def test_nginx_in_front_caches_public_pages_and_passes_the_rest(nginx_in_front):
    base = nginx_in_front
    first = get(base + "/codes/M61.3/")
    second = get(base + "/codes/M61.3/")
    # nginx files the cached copy once it has read the whole answer from the app, which on a busy machine can
    # be just after the client has it: a second request that quick may still miss (seen once under load).
    for _ in range(10):
        if second[1]["X-Cache-Status"] == "HIT":
            break
        time.sleep(0.2)
        second = get(base + "/codes/M61.3/")
    assert (first[0], second[0]) == (200, 200)
    assert first[1]["X-Cache-Status"] in ("MISS", "EXPIRED")
    assert second[1]["X-Cache-Status"] == "HIT"
    assert second[2] == first[2]
    assert_security_headers(second[1])
    assert second[1]["Server"] == "nginx"
    # Not public: never served from nginx's cache.
    for path in ("/admin/login/", "/search/?q=gout", "/healthz", "/api/search?q=gout"):
        get(base + path)
        status, headers, _ = get(base + path)
        assert status == 200, path
        assert headers["X-Cache-Status"] != "HIT", path
    # Editors signed in bypass it.
    status, headers, _ = get(base + "/codes/M61.3/", headers={"Cookie": "sessionid=abc"})
    assert headers["X-Cache-Status"] == "BYPASS"


def test_gunicorn_freezes_the_loaded_app_before_the_workers_fork():
    # The master runs the config's when_ready after loading the app: what it loaded is then out of the
    # workers' full collections (run here in a process of its own, as the master is).
    script = (
        "import gc, runpy\n"
        "import icdsite.wsgi\n"
        "config = runpy.run_path('deploy/gunicorn.conf.py')\n"
        "before = gc.get_freeze_count()\n"
        "config['when_ready'](None)\n"
        "print(before, gc.get_freeze_count())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, frozen = map(int, result.stdout.split()[-2:])
    assert before == 0 and frozen > 20_000
