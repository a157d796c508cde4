"""The database stopped under load: gunicorn with production settings answers 503 with Retry-After (a page, or
JSON under /api/) while PostgreSQL is down, never a 500 and never a hang past the stated bound, and recovers by
itself once PostgreSQL is back, with no restart.

The server uses a scratch PostgreSQL of its own (tests/postgres_servers.py), so stopping it leaves the test
database alone."""

import json
import threading
import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from .postgres_servers import manage, scratch_server
from .servers import free_port, get, running

CLIENTS = 12
# A request waits for a connection at most DB_POOL_TIMEOUT, then one probe of at most 2 s
# (icdsite/database/outage.py); the rest is slack for a shared, noisy machine.
POOL_TIMEOUT = 3
HANG_BOUND = POOL_TIMEOUT + 2 + 15
# (path, status when the database is up): the scratch database is migrated but holds no codes.
PATHS = [
    ("/", 200),
    ("/search/?q=asthma", 200),
    ("/codes/A00/", 404),
    ("/api/search?q=asthma", 200),
    ("/api/codes/A00", 404),
    ("/readyz", 200),
]


Answer = namedtuple("Answer", "phase path status seconds headers body")


class Load(threading.Thread):
    """CLIENTS clients requesting PATHS in turn until stopped; keeps every answer with the phase it started in."""

    def __init__(self, base):
        super().__init__(daemon=True)
        self.base = base
        self.phase = "up"
        self.results = []
        self.all_statuses = []
        self.errors = []
        self.stopping = threading.Event()

    def client(self, n):
        i = n
        while not self.stopping.is_set():
            path, _ = PATHS[i % len(PATHS)]
            i += 1
            phase, started = self.phase, time.monotonic()
            try:
                status, headers, body = get(self.base + path, timeout=HANG_BOUND + 10)
            except OSError as error:  # a timeout or a dropped connection: the server hung or died
                self.errors.append((phase, path, repr(error)))
                continue
            if self.phase == phase:  # a request that spans a stop or a restart counts in neither phase
                self.results.append(Answer(phase, path, status, time.monotonic() - started, headers, body))
            self.all_statuses.append(status)

    def run(self):
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            list(pool.map(self.client, range(CLIENTS)))


def recovered(base):
    return all(get(base + path, timeout=HANG_BOUND)[0] == expected for path, expected in PATHS)


def test_database_stopped_under_load_gives_503_then_recovers_without_restart():
    with scratch_server("outage") as postgres:
        url = postgres.create_database("icdsite")
        manage("migrate", "--noinput", database_url=url)
        production = {"DEBUG": "0", "SECRET_KEY": "test-only-" + "x" * 50, "SECURE_SSL_REDIRECT": "0"}
        manage("collectstatic", "--noinput", "--verbosity", "0", database_url=url, **production)
        port = free_port()
        env = {
            **production,
            "DATABASE_URL": url,
            "ALLOWED_HOSTS": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
            "DATABASE_PROBE_INTERVAL": "0.5",
            # One address sends all the load: the per-client rate limits would answer 429.
            "API_RATE_LIMIT_PER_MINUTE": "1000000",
            "SEARCH_RATE_LIMIT_PER_MINUTE": "1000000",
        }
        command = [".venv/bin/gunicorn", "--config", "deploy/gunicorn.conf.py", "icdsite.wsgi"]
        with running(command, port=port, env=env) as base:
            assert recovered(base)
            load = Load(base)
            load.start()
            time.sleep(2)
            load.phase = "stopping"
            postgres.stop()
            load.phase = "down"
            time.sleep(8)
            load.phase = "starting"
            postgres.start()
            load.phase = "restarted"
            back_at = time.monotonic()
            while not recovered(base):
                assert time.monotonic() - back_at < 60, "the site did not recover within 60 s of the restart"
                time.sleep(0.5)
            recovery = time.monotonic() - back_at
            # The other worker may have probed (and failed) just before the restart: from one probe
            # interval on, its next request probes again and finds the server back.
            time.sleep(1)
            load.phase = "recovered"
            time.sleep(2)
            load.stopping.set()
            load.join()

    results = load.results
    assert not load.errors, load.errors[:5]
    # Never a 500 (or any 5xx but 503), in any phase.
    assert set(load.all_statuses) <= {200, 404, 503}, sorted(set(load.all_statuses))
    slowest = max(r.seconds for r in results)
    assert slowest < HANG_BOUND, slowest
    # The load balancer's readiness check says not ready while the database is down.
    readiness = [r for r in results if r.path == "/readyz" and r.phase == "down"]
    assert readiness and all(r.status == 503 for r in readiness)
    assert {json.loads(r.body)["status"] for r in readiness} == {"unavailable"}
    unavailable = [r for r in results if r.status == 503 and r.path != "/readyz"]
    assert any(r.phase == "down" for r in unavailable)
    for r in unavailable:
        assert int(r.headers["Retry-After"]) > 0 and r.headers["Cache-Control"] == "no-store"
        if r.path.startswith("/api/"):
            assert r.headers["Content-Type"] == "application/json"
            assert json.loads(r.body)["status"] == 503
        else:
            assert r.headers["Content-Type"].startswith("text/html")
            assert b"Back in a moment" in r.body
    # Before the stop and after the recovery, every request is answered as usual.
    for phase in ("up", "recovered"):
        answers = [(r.path, r.status) for r in results if r.phase == phase]
        unexpected = [(path, status) for path, status in answers if status != dict(PATHS)[path]]
        assert answers and not unexpected, (phase, unexpected)
    print(
        f"{len(load.all_statuses)} requests, {len(unavailable)} answered 503, slowest {slowest:.1f} s, "
        f"recovered {recovery:.1f} s after the restart"
    )
