"""CPU per request of the public pages, in process, as a ratio to /robots.txt measured in the same run.

Django's test client with DEBUG off and the page cache off (PAGE_CACHE_SECONDS=0): 600 random code pages,
the home page, a chapter, a block and a search results page. CPU time (``time.process_time``) counts this
process only: Python, template rendering and the client's side of PostgreSQL, not the server's.
Run with `.venv/bin/python bench/render_cpu.py` after `make data`.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "icdsite.settings"
os.environ["DEBUG"] = "0"
os.environ["PAGE_CACHE_SECONDS"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ["SEARCH_RATE_LIMIT_PER_MINUTE"] = "100000000"

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from conditions import search_cache  # noqa: E402
from conditions.models import Code  # noqa: E402

CODES = 600
ROUNDS = 60  # requests per fixed page and round
REPEATS = 5  # rounds: each case's figure is its median round, robots.txt measured in every round


def cpu_per_request(client, paths, before=lambda: None):
    start = time.process_time()
    for path in paths:
        before()
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    return (time.process_time() - start) / len(paths) * 1000


def main():
    client = Client(HTTP_HOST="testserver", secure=True)
    codes = list(Code.objects.values_list("code", flat=True))
    random.seed(8)
    code_paths = [f"/codes/{code}/" for code in random.sample(codes, CODES)]
    cases = [
        ("robots.txt", ["/robots.txt"] * ROUNDS * 5),
        ("code pages (600 random)", code_paths),
        ("home", ["/"] * ROUNDS),
        ("chapter 13", ["/chapters/13/"] * ROUNDS),
        ("block M60-M63", ["/blocks/M60-M63/"] * ROUNDS),
    ]
    # The search page is kept per content version (search_cache): dropped before each request, so it is made.
    cases.append(("search 'fracture of femur'", ["/search/?q=fracture+of+femur"] * ROUNDS))
    before = {"search 'fracture of femur'": search_cache.PAGES.clear}
    for name, paths in cases:  # warm: first-request imports, caches filled once per process
        cpu_per_request(client, paths[:5], before.get(name, lambda: None))
    rounds = {name: [] for name, _ in cases}
    for _ in range(REPEATS):
        for name, paths in cases:
            rounds[name].append(cpu_per_request(client, paths, before.get(name, lambda: None)))
    figures = {name: statistics.median(values) for name, values in rounds.items()}
    robots = figures["robots.txt"]
    for name, ms in figures.items():
        print(f"{name:28} {ms:7.2f} ms CPU   {ms / robots:6.1f} x robots.txt")


if __name__ == "__main__":
    main()
