"""Search computed fresh, measured in-process: where a request's time goes, robust to a busy machine.

Each relevance query (and each typed prefix, for autocomplete) is asked once through Django's test client
with production settings (DEBUG off), the per-version answer memo cleared first, so every answer is
computed. For each request: wall time, this process's CPU time (Python) and, when PostgreSQL runs on this
machine (the embedded server), the CPU time of the database backend serving it (from
/proc/<pid>/schedstat). Python + PostgreSQL CPU is what the request costs an otherwise idle machine;
wall time adds waiting for the CPU on a busy one. /robots.txt through the same stack is the reference.
`make bench-search` measures the same paths over HTTP against `make serve`.

    .venv/bin/python bench/search_inprocess.py [api] [page] [autocomplete] [fracture]
"""

import json
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icdsite.settings")
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ["SECURE_SSL_REDIRECT"] = "0"
# Every request comes from this one client.
os.environ["API_RATE_LIMIT_PER_MINUTE"] = os.environ["SEARCH_RATE_LIMIT_PER_MINUTE"] = str(10**9)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from conditions import search_cache  # noqa: E402

RELEVANCE = json.loads((BASE_DIR / "tests" / "search_relevance.json").read_text(encoding="utf-8"))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Backend:
    """CPU time of the PostgreSQL backend of this process's connection, when the server runs here."""

    def __init__(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.path = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")

    def milliseconds(self):
        try:
            return int(self.path.read_text().split()[0]) / 1e6
        except OSError:  # another machine's server
            return 0.0


def run(client, backend, label, paths, *, fresh=True):
    wall, python, database = [], [], []
    for path in paths:
        if fresh:
            search_cache.clear()
        db, started, cpu = backend.milliseconds(), time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append((time.perf_counter() - started) * 1000)
        python.append((time.process_time() - cpu) * 1000)
        database.append(backend.milliseconds() - db)
        if response.status_code not in (200, 302):
            raise SystemExit(f"{path}: HTTP {response.status_code}")
    both = [p + d for p, d in zip(python, database, strict=True)]
    print(
        f"{label:34} n={len(paths):5}"
        + "".join(
            f"  {name} p50 {statistics.median(values):6.2f} p95 {percentile(values, 95):6.2f}"
            for name, values in (("wall", wall), ("python", python), ("postgres", database), ("cpu", both))
        ),
        flush=True,
    )


def main():
    wanted = set(sys.argv[1:]) or {"api", "page", "autocomplete", "fracture"}
    call_command("collectstatic", interactive=False, verbosity=0)  # production settings read the manifest
    queries = [case["query"] for case in RELEVANCE]
    typing = list(dict.fromkeys(q[:n] for q in queries for n in range(2, min(len(q), 12) + 1)))
    client, backend = Client(), None
    for _ in range(50):
        client.get("/robots.txt")
    backend = Backend()
    print(f"Load before the run: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores. Milliseconds.")
    run(client, backend, "/robots.txt (reference)", ["/robots.txt"] * 300, fresh=False)

    def paths(endpoint, texts):
        return [f"{endpoint}?{urllib.parse.urlencode({'q': text})}" for text in texts]

    if "api" in wanted:
        run(client, backend, "/api/search, relevance queries", paths("/api/search", queries))
    if "page" in wanted:
        run(client, backend, "/search/, relevance queries", paths("/search/", queries))
    if "autocomplete" in wanted:
        run(client, backend, "/api/autocomplete, typed prefixes", paths("/api/autocomplete", typing))
    if "fracture" in wanted:
        run(client, backend, '/api/search "fracture"', paths("/api/search", ["fracture"] * 21))
        run(client, backend, '/search/ "fracture"', paths("/search/", ["fracture"] * 21))
    run(client, backend, "/robots.txt (reference)", ["/robots.txt"] * 300, fresh=False)


if __name__ == "__main__":
    main()
