"""Search speed over HTTP against `make serve` (gunicorn, production settings), and the relevance set's figures.

Starts `make serve` on a free port with the per-client rate limits lifted (all the load comes from one
address), or uses --url. Single client with keep-alive, over the relevance queries: p50/p95/p99 of
/api/search, the results page and /api/autocomplete (every prefix of each query from 2 to 12
characters, as a person types), of "fracture" alone (21 requests, each computed), and of /robots.txt
through the same gunicorn as the reference each figure is a ratio to (the machine is shared and noisy).
Each path is timed twice: first ("cold": computed, nothing kept) and again ("kept": search keeps
answers per content version in each process, conditions.search_cache). Then wrk, 16 connections,
rotating through the same paths: requests per second as a ratio to /robots.txt, first from cold and then
again. Last, top-1, top-5 and MRR of the relevance set through /api/search.

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
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%f %%d\\n", summary.requests, summary.duration / 1e6,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
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


def timings(client, paths):
    """(first, again): milliseconds of each path requested once, then once more."""
    first = [client.get(path)[0] for path in paths]
    return first, [client.get(path)[0] for path in paths]


def figures(values):
    return statistics.median(values), percentile(values, 95), percentile(values, 99)


def line(label, values, reference=None):
    p50, p95, p99 = figures(values)
    ratio = ""
    if reference:
        r50, r95, r99 = (value / ref for value, ref in zip((p50, p95, p99), reference, strict=True))
        ratio = f"  = {r50:5.1f} / {r95:5.1f} / {r99:5.1f} x robots.txt"
    print(f"{label:44} n={len(values):5}  p50 {p50:6.1f}  p95 {p95:6.1f}  p99 {p99:6.1f} ms{ratio}")


def path(endpoint, query):
    return f"{endpoint}?{urllib.parse.urlencode({'q': query})}"


def typing_prefixes(query):
    """What the box sends while a person types the query: from 2 characters, the first 12 keystrokes."""
    return [query[:n] for n in range(2, min(len(query), 12) + 1)]


def wrk(url, paths, seconds):
    """Requests per second (non-2xx/3xx answers and socket errors counted as failures), or None without wrk."""
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
        if row.startswith("RESULT "):
            requests, duration, errors = row.split()[1:]
            if int(errors):
                raise RuntimeError(f"wrk: {errors} failed requests of {requests}")
            return int(requests) / float(duration)
    return None


def relevance(client):
    """top-1, top-5 and MRR through /api/search; a family's row (S62.1-, 136 codes) counts for the codes under it."""
    reciprocal, first, top5 = [], 0, 0
    for case in RELEVANCE:
        _, body = client.get(f"/api/search?{urllib.parse.urlencode({'q': case['query'], 'limit': 10})}")
        found = json.loads(body)["results"]
        ranks = [
            rank
            for rank, result in enumerate(found, start=1)
            for code in case["expected"]
            if code == result["code"] or (result["family"] and code.startswith(result["family"]["code"]))
        ]
        best = min(ranks) if ranks else None
        first += best == 1
        top5 += bool(best and best <= 5)
        reciprocal.append(1 / best if best else 0.0)
    n = len(RELEVANCE)
    return first / n, top5 / n, sum(reciprocal) / n


def start_server(port):
    """`make serve` on ``port`` in its own process group; returns the process once it answers."""
    lifted = str(10**9)  # every request comes from this one address
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"PORT={port}"],
        cwd=BASE_DIR,
        env={**os.environ, "API_RATE_LIMIT_PER_MINUTE": lifted, "SEARCH_RATE_LIMIT_PER_MINUTE": lifted},
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


# /api/search and /api/autocomplete under wrk before this work (issue 11, 2 cores), in requests per second.
ISSUE_BASELINE = {"/api/search": 160, "/api/autocomplete": 190}


def run(url, seconds):
    client = Client(url)
    queries = [case["query"] for case in RELEVANCE]
    typing = list(dict.fromkeys(prefix for query in queries for prefix in typing_prefixes(query)))
    print(f"Search over HTTP against {url}: {len(queries)} relevance queries, {len(typing)} typed prefixes.")
    print(f"Load before the run: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores.")
    print("Single client, keep-alive; milliseconds; ratios p50 / p95 / p99 to /robots.txt's of this run.")
    timings(client, ["/robots.txt"] * 50)
    robots = timings(client, ["/robots.txt"] * 300)[1]
    reference = figures(robots)
    line("/robots.txt (reference)", robots)
    for label, endpoint, paths in (
        ("/api/search, relevance queries", "/api/search", queries),
        ("/search/ results page, relevance queries", "/search/", queries),
        ("/api/autocomplete, every typed prefix", "/api/autocomplete", typing),
    ):
        first, again = timings(client, [path(endpoint, q) for q in paths])
        line(f"{label}: first", first, reference)
        line(f"{label}: again", again, reference)
    # "fracture" (20,000 matching codes) computed 21 times: kept answers are keyed by the API's limit and by
    # the results page's whole query string, so each request names a limit (10-30: the same ranking, a
    # page of a different length) or a parameter the page ignores.
    for endpoint, vary in (("/api/search", "limit"), ("/search/", "fresh")):
        paths = [f"{path(endpoint, 'fracture')}&{vary}={n}" for n in range(10, 31)]
        first, again = timings(client, paths)
        line(f'{endpoint} "fracture": first', first, reference)
        line(f'{endpoint} "fracture": again', again, reference)
    print("wrk, 16 connections, rotating through the paths: requests per second (ratio to /robots.txt).")
    robots_rate = wrk(url, ["/robots.txt"], seconds)
    if robots_rate is None:
        print("wrk missing: `make services` installs it.")
    else:
        print(f"{'/robots.txt (reference)':44} {robots_rate:8.0f} req/s")
        for endpoint, paths in (("/api/search", queries), ("/api/autocomplete", typing)):
            for label in ("first", "again"):
                rate = wrk(url, [path(endpoint, q) for q in paths], seconds)
                baseline = ISSUE_BASELINE[endpoint]
                print(
                    f"{endpoint + ' under load: ' + label:44} {rate:8.0f} req/s"
                    f"  = {rate / robots_rate:5.2f} x robots.txt, {rate / baseline:4.1f} x the issue's {baseline} req/s"
                )
    top1, top5, mrr = relevance(client)
    print(
        f"Relevance set ({len(RELEVANCE)} queries) through /api/search (families collapsed):"
        f" top-1 {top1:.3f}, top-5 {top5:.3f}, MRR {mrr:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
