"""Throughput of the production server (gunicorn, DEBUG off) under wrk, as ratios to references of the same run.

Starts `gunicorn -c deploy/gunicorn.conf.py` on the development database (run `make data` first), one nginx
serving a saved copy of a code page (the static reference) and deploy/nginx.conf in front of gunicorn (the
reverse-proxy cache), then runs wrk for each endpoint at 16 and 64 connections and once with one client.
Prints req/s, p50, p95, p99 and errors per endpoint, each as a ratio to nginx's static copy and to
/robots.txt through Django, and the most PostgreSQL connections the app held (the bound is
WEB_CONCURRENCY x (GUNICORN_THREADS + 1): the pools and each worker's content version watch). Then compares
workers x threads shapes on random code pages and the home page (BENCH_WORKERS, e.g. "4x2,4x1"; empty skips
it). wrk asks for gzip, as browsers do.
Run with `make bench-serve` (BENCH_SECONDS=20 by default).
"""

import contextlib
import gzip
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from tests.servers import nginx_config  # noqa: E402 (the tests' nginx wrapper around deploy/nginx.conf)

APP_PORT, STATIC_PORT, PROXY_PORT = (
    int(p) for p in os.environ.get("BENCH_PORTS", "8108,8208,8209").split(",")
)
SECONDS = int(os.environ.get("BENCH_SECONDS", 20))
APP_NAME = "icdsite-bench"

WRK_SCRIPT = """
local paths = {}
local list = os.getenv("BENCH_PATHS")
if list then for line in io.lines(list) do paths[#paths + 1] = line end end
-- As a browser asks: compressed if the server will.
wrk.headers["Accept-Encoding"] = "gzip"
request = function()
  if #paths > 0 then return wrk.format("GET", paths[math.random(#paths)]) end
  return wrk.format("GET", wrk.path)
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format('RESULT {"requests": %d, "seconds": %f, "p50": %f, "p95": %f, "p99": %f, '
    .. '"errors": %d, "status_errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, errors, summary.errors.status))
end
"""


# The reference: nginx serving a saved copy of a code page, and its gzip copy to a client that takes gzip (as
# the app and the proxy cache do), so both sides send the same bytes.
STATIC_SERVER = """    server {{
        listen 127.0.0.1:{port};
        root {root};
        gzip_static on;
        gzip_vary on;
        location / {{ default_type text/html; }}
    }}"""


def database_url():
    from icdsite.embedded_db import database_url as embedded

    url = os.environ.get("DATABASE_URL") or embedded()
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query), application_name=APP_NAME)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))), url


def wait_for(url, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own local server)
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


class ConnectionCounter(threading.Thread):
    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.most, self.stopping = url, 0, threading.Event()

    def run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.is_set():
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name IN (%s, %s)",
                    [APP_NAME, f"{APP_NAME} (version watch)"],
                ).fetchone()
                self.most = max(self.most, count)
                time.sleep(0.05)


def wrk(url, connections, script, paths_file=None, seconds=SECONDS):
    env = {**os.environ, **({"BENCH_PATHS": str(paths_file)} if paths_file else {})}
    threads = min(connections, 2)
    out = subprocess.run(
        # A 10 s timeout (wrk's own is 2 s): a slow answer is measured as slow, not counted as an error.
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def start_gunicorn(env, folder):
    return subprocess.Popen(
        [str(BASE_DIR / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", "icdsite.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=open(folder / "requests.log", "a"),  # noqa: SIM115 (the JSON request log: statuses are counted)
        stderr=open(folder / "gunicorn.log", "a"),  # noqa: SIM115
        start_new_session=True,
    )


def other_statuses(folder):
    """{status: count} of the app's answers that were not 200 (from its JSON request log)."""
    found = {}
    for line in (folder / "requests.log").read_text().splitlines():
        if line.startswith("{") and '"status": 200,' not in line:
            status = json.loads(line).get("status")
            found[status] = found.get(status, 0) + 1
    return found


def stop(process):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def compare_workers(env, folder, script, paths_file, app):
    """Random code pages and the home page at 64 connections under other workers x threads (BENCH_WORKERS)."""
    shapes = [s for s in os.environ.get("BENCH_WORKERS", "4x2,4x1,2x4,8x1").split(",") if s]
    print(f"\nworkers x threads, 64 connections, {SECONDS} s per run (req/s, p99 ms; 5xx and socket errors):")
    for shape in shapes:
        workers, threads = (int(n) for n in shape.split("x"))
        process = start_gunicorn(
            {**env, "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}, folder
        )
        try:
            wait_for(app + "/robots.txt")
            wrk(app + "/", 16, script, paths_file, seconds=3)  # warm-up, as above
            robots = wrk(app + "/robots.txt", 64, script)
            pages = wrk(app + "/", 64, script, paths_file)
            home = wrk(app + "/", 64, script)
        finally:
            stop(process)
        print(
            f"  {shape:>4}: robots {robots['rps']:>6.0f}; random code pages {pages['rps']:>5.0f} "
            f"(p99 {pages['p99']:.0f}, errors {pages['errors']}, {pages['rps'] / robots['rps']:.3f} of robots); "
            f"home {home['rps']:>5.0f} ({home['rps'] / robots['rps']:.3f})"
        )


def main():
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: `make services` installs it")
    app_url, plain_url = database_url()
    folder = Path(tempfile.mkdtemp(prefix="icdsite-bench-"))
    script = folder / "bench.lua"
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": app_url,
        "PORT": str(APP_PORT),
        # All the load comes from one address: the per-address limits would answer 429.
        "API_RATE_LIMIT_PER_MINUTE": "100000000",
        "SEARCH_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True
    )
    processes = []
    try:
        processes.append(start_gunicorn(env, folder))
        app = f"http://127.0.0.1:{APP_PORT}"
        page = wait_for(app + "/codes/M61.2/")
        (folder / "static-copy" / "codes" / "M61.2").mkdir(parents=True)
        (folder / "static-copy" / "codes" / "M61.2" / "index.html").write_bytes(page)
        (folder / "static-copy" / "codes" / "M61.2" / "index.html.gz").write_bytes(gzip.compress(page))
        config = nginx_config(
            folder,
            port=PROXY_PORT,
            app_port=APP_PORT,
            media=BASE_DIR / "media",
            worker_connections=4096,
            extra=STATIC_SERVER.format(port=STATIC_PORT, root=folder / "static-copy"),
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        processes.append(
            subprocess.Popen([nginx, "-p", str(folder), "-c", str(config)], start_new_session=True)
        )
        wait_for(f"http://127.0.0.1:{PROXY_PORT}/robots.txt")
        wait_for(f"http://127.0.0.1:{STATIC_PORT}/codes/M61.2/")

        import psycopg

        with psycopg.connect(plain_url) as conn:
            codes = [row[0] for row in conn.execute("SELECT code FROM conditions_code").fetchall()]
        random.Random(8).shuffle(codes)
        paths_file = folder / "codes.txt"
        paths_file.write_text("".join(f"/codes/{code}/\n" for code in codes))

        endpoints = [
            ("nginx static copy (reference)", f"http://127.0.0.1:{STATIC_PORT}/codes/M61.2/", None),
            ("/robots.txt via Django (reference)", app + "/robots.txt", None),
            ("random code pages (page cache misses)", app + "/", paths_file),
            ("one code page via the app's page cache", app + "/codes/M61.2/", None),
            ("one code page via deploy/nginx.conf", f"http://127.0.0.1:{PROXY_PORT}/codes/M61.2/", None),
            ("home page", app + "/", None),
            ("/api/search?q=tennis+elbow", app + "/api/search?q=tennis+elbow", None),
            ("/search/?q=diabetes+foot", app + "/search/?q=diabetes+foot", None),
            ("/api/autocomplete?q=diab", app + "/api/autocomplete?q=diab", None),
        ]
        # Warm up every worker first (templates compiled, per-version data read, statements prepared): the
        # figures are the steady state a running site has.
        wrk(app + "/", 16, script, paths_file, seconds=3)
        counter = ConnectionCounter(plain_url)
        counter.start()
        results = {}
        for connections in (16, 64):
            for name, url, paths in endpoints:
                results[(name, connections)] = wrk(url, connections, script, paths)
                print(f"  measured {name} at {connections} connections", file=sys.stderr)
        single = wrk(app + "/", 1, script, paths_file, seconds=min(SECONDS, 15))
        counter.stopping.set()
        counter.join()

        print(
            f"\nwrk, {SECONDS} s per run; gunicorn {os.environ.get('WEB_CONCURRENCY', 'default')} workers x "
            f"{os.environ.get('GUNICORN_THREADS', '2')} threads; DEBUG off; machine shared, so read the ratios"
        )
        header = (
            f"{'endpoint':42} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'non-2xx':>7} "
            f"{'/static':>8} {'/robots':>8}"
        )
        print(header)
        print("-" * len(header))
        for connections in (16, 64):
            static = results[(endpoints[0][0], connections)]["rps"]
            robots = results[(endpoints[1][0], connections)]["rps"]
            for name, _, _ in endpoints:
                r = results[(name, connections)]
                print(
                    f"{name:42} {connections:>5} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>6} "
                    f"{r['status_errors']:>7} "
                    f"{r['rps'] / static:>8.4f} {r['rps'] / robots:>8.3f}"
                )
        print(
            f"\nrandom code pages, one client: {single['rps']:.0f} req/s, p50 {single['p50']:.2f} ms, "
            f"p95 {single['p95']:.2f} ms, p99 {single['p99']:.2f} ms, errors {single['errors']}"
        )
        print(f"most PostgreSQL connections held by the app during the runs: {counter.most}")
        print(f"answers other than 200 in the app's request log: {other_statuses(folder) or 'none'}")
        stop(processes.pop(0))  # gunicorn: the comparison below starts its own
        if os.environ.get("BENCH_WORKERS", "x") != "":
            compare_workers(env, folder, script, paths_file, app)
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
