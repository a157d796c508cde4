"""Serving under load: runserver (`make run`) and `make serve` (gunicorn) answer 32 concurrent clients without
a 5xx, and PostgreSQL never sees more connections from them than the pool bound (processes x pool size)."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection

from conditions.models import Code

from .servers import database_url_for, free_port, get, running

CLIENTS = 32
REQUESTS = 240


@pytest.fixture(scope="module")
def sample_paths(django_db_blocker):
    with django_db_blocker.unblock():
        codes = list(Code.objects.order_by("?").values_list("code", flat=True)[:150])
    paths = [f"/codes/{code}/" for code in codes]
    paths += ["/", "/chapters/13/", "/blocks/M60-M63/", "/codes/m612", "/codes/Q99.99/", "/robots.txt"]
    paths += [f"/search/?q={q}" for q in ("diabetes", "tennis+elbow", "fractur+femur", "M61", "heart")]
    paths += [f"/api/search?q={q}" for q in ("asthma", "E11.9", "broken+arm")]
    paths += [f"/api/autocomplete?q={q}" for q in ("diab", "S72", "migr")]
    paths += ["/api/codes/M61.2", "/sitemap.xml"]
    return paths


class ConnectionCounter(threading.Thread):
    """Samples pg_stat_activity every 20 ms and keeps the most connections seen for one application name."""

    def __init__(self, application_name):
        super().__init__(daemon=True)
        self.application_name = application_name
        self.most = 0
        self.samples = 0
        self.stopping = threading.Event()

    def run(self):
        params = connection.get_connection_params()
        params.pop("pool", None)
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as conn:
            while not self.stopping.is_set():
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [self.application_name],
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


@pytest.mark.django_db
def test_development_server_holds_32_concurrent_clients(sample_paths):
    port, name = free_port(), "icdsite-test-runserver"
    env = {"DATABASE_URL": database_url_for(name), "DEBUG": "1", "DB_POOL_MAX_SIZE": "4"}
    command = [".venv/bin/python", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with running(command, port=port, env=env) as base:
        assert_holds(base, sample_paths, ConnectionCounter(name), bound=4)


@pytest.mark.django_db
def test_make_serve_holds_32_concurrent_clients(sample_paths):
    port, name = free_port(), "icdsite-test-serve"
    env = {
        "DATABASE_URL": database_url_for(name),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
    }
    with running(["make", "serve"], port=port, env=env) as base:
        status, headers, _ = get(base + "/codes/M61.2/")
        assert status == 200
        assert headers["Server"] == "gunicorn"
        # 2 workers x 2 threads, one pooled connection per thread.
        assert_holds(base, sample_paths, ConnectionCounter(name), bound=4)
