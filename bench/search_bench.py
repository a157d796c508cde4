"""Search speed over HTTP against `make serve` (gunicorn, production settings), and the relevance set's figures.

Starts `make serve` on a free port (or uses --url), then prints, single client
with keep-alive: p50/p95 of /api/search, the results page and
/api/autocomplete over the relevance queries (autocomplete: every prefix of
each query from 2 to 12 characters, as a person types), of "fracture" alone, and
of /robots.txt as the reference the figures are ratios to; then, with wrk
and 16 connections, requests per second of /api/search and /api/autocomplete
rotating through the same queries. Last, top-1, top-5 and MRR of the
relevance set through /api/search.

    .venv/bin/python bench/search_bench.py [--url http://127.0.0.1:8111] [--port 8111] [--seconds 10]
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RELEVANCE = json.loads((BASE_DIR / "tests" / "search_relevance.json").read_text(encoding="utf-8"))

# wrk takes the next path from the list for every request.
WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Client:
    """One keep-alive HTTP connection, as a single browser tab would use."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def get(self, path):
        started = time.perf_counter()
        try:
            self.connection.request("GET", path, headers={"Host": self.host})
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closed the idle keep-alive connection (gunicorn's keepalive): open a new one.
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            started = time.perf_counter()
            self.connection.request("GET", path, headers={"Host": self.host})
            response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status not in (200, 302):
            raise RuntimeError(f"{path}: HTTP {response.status}")
        return elapsed, body


def timings(client, paths, repeat=1):
    """Each path once to warm up, then ``repeat`` timed rounds; milliseconds."""
    for path in paths:
        client.get(path)
    return [client.get(path)[0] for _ in range(repeat) for path in paths]


def line(label, values, reference=None):
    p50, p95 = statistics.median(values), percentile(values, 95)
    ratio = f"   p95 = {p95 / reference:5.1f} x robots.txt" if reference else ""
    print(f"{label:46} n={len(values):5}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms{ratio}")
    return p95


def path(endpoint, query):
    return f"{endpoint}?{urllib.parse.urlencode({'q': query})}"


def typing_prefixes(query):
    """What the box sends while a person types the query: from 2 characters, the first 12 keystrokes."""
    return [query[:n] for n in range(2, min(len(query), 12) + 1)]


def wrk(url, paths, seconds):
    if not shutil.which("wrk"):
        return None
    with tempfile.TemporaryDirectory() as directory:
        listing = Path(directory) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
        script = Path(directory) / "rotate.lua"
        script.write_text(WRK_SCRIPT % listing, encoding="utf-8")
        output = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    for row in output.splitlines():
        if row.startswith("Requests/sec:"):
            return float(row.split()[1])
    return None


def relevance(client):
    reciprocal, first, top5 = [], 0, 0
    for case in RELEVANCE:
        _, body = client.get(f"/api/search?{urllib.parse.urlencode({'q': case['query'], 'limit': 10})}")
        found = [result["code"] for result in json.loads(body)["results"]]
        ranks = [found.index(code) + 1 for code in case["expected"] if code in found]
        best = min(ranks) if ranks else None
        first += best == 1
        top5 += bool(best and best <= 5)
        reciprocal.append(1 / best if best else 0.0)
    n = len(RELEVANCE)
    return first / n, top5 / n, sum(reciprocal) / n


def start_server(port):
    """`make serve` on ``port`` in its own process group; returns the process once it answers."""
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"PORT={port}"],
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            Client(f"http://127.0.0.1:{port}").get("/robots.txt")
            return server
        except (OSError, RuntimeError, http.client.HTTPException):
            if server.poll() is not None:
                raise SystemExit("make serve exited before answering") from None
            time.sleep(1)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("make serve did not answer within 5 minutes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start `make serve`)")
    parser.add_argument("--port", type=int, default=8111, help="port for the `make serve` this starts")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    args = parser.parse_args()
    server = None
    url = args.url
    if not url:
        server = start_server(args.port)
        url = f"http://127.0.0.1:{args.port}"
    try:
        run(url, args.seconds)
    finally:
        if server:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def run(url, seconds):
    client = Client(url)
    queries = [case["query"] for case in RELEVANCE]
    typing = [prefix for query in queries for prefix in typing_prefixes(query)]
    print(f"Search over HTTP against {url}: {len(queries)} relevance queries, {len(typing)} typed prefixes.")
    robots = timings(client, ["/robots.txt"], repeat=200)
    line("/robots.txt (reference)", robots)
    reference = percentile(robots, 95)
    line(
        "/api/search, relevance queries",
        timings(client, [path("/api/search", q) for q in queries]),
        reference,
    )
    line(
        "/search/ results page, relevance queries",
        timings(client, [path("/search/", q) for q in queries]),
        reference,
    )
    line(
        "/api/autocomplete, every typed prefix",
        timings(client, [path("/api/autocomplete", q) for q in typing]),
        reference,
    )
    line('/api/search "fracture"', timings(client, [path("/api/search", "fracture")], repeat=20), reference)
    line('/search/ "fracture"', timings(client, [path("/search/", "fracture")], repeat=20), reference)
    for label, endpoint, paths in (
        ("/robots.txt", None, ["/robots.txt"]),
        ("/api/search", "/api/search", queries),
        ("/api/autocomplete", "/api/autocomplete", typing),
    ):
        rate = wrk(url, paths if endpoint is None else [path(endpoint, q) for q in paths], seconds)
        print(
            f"{label + ' under load (wrk, 16 connections)':46} "
            + (f"{rate:8.0f} req/s" if rate else "wrk missing")
        )
    top1, top5, mrr = relevance(client)
    print(
        f"Relevance set ({len(RELEVANCE)} queries) through /api/search: top-1 {top1:.3f}, top-5 {top5:.3f}, MRR {mrr:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
