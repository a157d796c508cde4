"""Search benchmark on the full code set, through Django's full request cycle (test Client, real database).

Prints, for the results page, /api/search and /api/autocomplete: p50/p95 of
the whole request and of the SQL it ran (the summed time of its queries'
execution, measured around the database cursor), over the relevance set and a few hundred random official
titles (search) or 1-4 character code prefixes and partial words
(autocomplete); and the relevance set's top-1 rate and MRR.

    DEBUG=1 .venv/bin/python bench/search_bench.py [--titles 300] [--seed 1]
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icdsite.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from conditions.models import Code  # noqa: E402

RELEVANCE = json.loads((BASE_DIR / "tests" / "search_relevance.json").read_text(encoding="utf-8"))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(client, path, queries):
    """Request each query once to warm up, then once timed; return (request ms, SQL ms) lists."""
    total, sql = [], []
    in_sql = [0.0]

    def timed(execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            in_sql[0] += time.perf_counter() - started

    for query in queries:
        client.get(path, {"q": query})
    with connection.execute_wrapper(timed):
        for query in queries:
            in_sql[0] = 0.0
            started = time.perf_counter()
            response = client.get(path, {"q": query})
            total.append((time.perf_counter() - started) * 1000)
            sql.append(in_sql[0] * 1000)
            assert response.status_code in (200, 302), (path, query, response.status_code)
    return total, sql


def combined(*timings):
    return tuple(sum((list(t[i]) for t in timings), []) for i in range(2))


def report(label, timings):
    total, sql = timings
    print(
        f"{label:44} n={len(total):4}  request p50 {statistics.median(total):6.1f} ms  p95 {percentile(total, 95):6.1f} ms"
        f"   SQL p50 {statistics.median(sql):6.1f} ms  p95 {percentile(sql, 95):6.1f} ms"
    )


def relevance():
    reciprocal, first = [], 0
    for case in RELEVANCE:
        found = [c.code for c in Code.objects.search(case["query"])[:10]]
        ranks = [found.index(code) + 1 for code in case["expected"] if code in found]
        best = min(ranks) if ranks else None
        first += best == 1
        reciprocal.append(1 / best if best else 0.0)
    return first / len(RELEVANCE), sum(reciprocal) / len(RELEVANCE), sum(r >= 0.2 for r in reciprocal)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=300, help="random official titles to search for")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    client = Client(HTTP_HOST="127.0.0.1")

    all_codes = list(Code.objects.order_by("sort_order").values_list("code", "title"))
    titles = [title for _, title in rng.sample(all_codes, args.titles)]
    relevance_queries = [case["query"] for case in RELEVANCE]
    prefixes = [code.replace(".", "")[: rng.randint(1, 4)] for code, _ in rng.sample(all_codes, 150)]
    words = [w.strip(",()[]") for _, title in rng.sample(all_codes, 300) for w in title.split()]
    words = [w for w in words if len(w) >= 5 and w.isalpha()]
    partial = [w[: rng.randint(2, min(6, len(w) - 1))] for w in rng.sample(words, 100)]
    phrases = [" ".join(title.split()[:2])[:-2] for _, title in rng.sample(all_codes, 50)]

    print(
        f"Search benchmark: {Code.objects.count()} codes, {len(relevance_queries)} relevance queries, "
        f"{len(titles)} random titles (seed {args.seed})."
    )
    for path in ("/search/", "/api/search"):
        on_relevance, on_titles = measure(client, path, relevance_queries), measure(client, path, titles)
        report(f"{path} relevance set", on_relevance)
        report(f"{path} random titles", on_titles)
        report(f"{path} all", combined(on_relevance, on_titles))
    typing = [measure(client, "/api/autocomplete", q) for q in (prefixes, partial, phrases)]
    report("/api/autocomplete 1-4 character code prefixes", typing[0])
    report("/api/autocomplete partial words (2-6 chars)", typing[1])
    report("/api/autocomplete two words, the last partial", typing[2])
    report("/api/autocomplete all", combined(*typing))
    top1, mrr, in_top5 = relevance()
    print(
        f"Relevance set: top-1 {top1:.3f}, MRR {mrr:.3f}, expected code in the top 5 for {in_top5}/{len(RELEVANCE)}."
    )


if __name__ == "__main__":
    main()
