"""Server time, SQL queries and page weight of code pages, through Django's test Client.

Reads the development database (run `make data` first). Requests a few hundred
different codes picked at random (fixed seed) from every level of the tree,
plus the largest categories, and prints the figures.
Run with `make bench` or `.venv/bin/python bench/pages_bench.py [--codes N]`.
"""

import argparse
import gzip
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icdsite.settings")
os.environ.setdefault("DEBUG", "1")
# WhiteNoise warns that collectstatic has not run; irrelevant to these figures.
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from conditions.models import Code  # noqa: E402

LARGEST = ["S82", "S52", "S72", "T63", "E11"]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(client, codes):
    times, queries, sizes = [], [], []
    for code in codes:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(f"/codes/{code}/")
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (code, response.status_code)
        times.append(elapsed * 1000)
        queries.append(len(captured))
        sizes.append(len(response.content))
    return times, queries, sizes


def static_bytes(path):
    return (BASE_DIR / "static" / path).read_bytes()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=300, help="how many random codes (default 300)")
    args = parser.parse_args()

    settings.DEBUG = False  # no SQL logging overhead beyond what CaptureQueriesContext records
    settings.ALLOWED_HOSTS = ["testserver"]
    all_codes = list(Code.objects.values_list("code", flat=True))
    sample = random.Random(2026).sample(all_codes, args.codes)
    client = Client()
    measure(client, sample[:20])  # warm-up: connection, template cache

    times, queries, sizes = measure(client, sample)
    big_times, big_queries, _ = measure(client, LARGEST)

    print(f"Code pages, {len(sample)} random codes of {len(all_codes)} (Django test Client, one process):")
    print(
        f"  server time  median {statistics.median(times):6.1f} ms   p95 {percentile(times, 0.95):6.1f} ms"
        f"   max {max(times):6.1f} ms"
    )
    print(f"  SQL queries  min {min(queries)}   median {statistics.median(queries):g}   max {max(queries)}")
    print(
        f"  HTML size    median {statistics.median(sizes) / 1024:.1f} KiB   max {max(sizes) / 1024:.1f} KiB"
    )
    print(f"Largest categories ({', '.join(LARGEST)}):")
    print(
        f"  server time  median {statistics.median(big_times):6.1f} ms   max {max(big_times):6.1f} ms"
        f"   SQL queries max {max(big_queries)}"
    )

    html = client.get("/codes/M61.2/").content
    css, js = static_bytes("css/site.css"), static_bytes("js/save.js")
    raw = len(html) + len(css) + len(js)
    packed = sum(len(gzip.compress(part, 9)) for part in (html, css, js))
    print("Page weight of /codes/M61.2/ (HTML + CSS + JS, no images: the card is inline SVG):")
    print(
        f"  HTML {len(html):,} B   CSS {len(css):,} B   JS {len(js):,} B   total {raw:,} B   gzip {packed:,} B"
    )


if __name__ == "__main__":
    main()
