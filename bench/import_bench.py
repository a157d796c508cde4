"""Time a full ICD-10-CM import into an empty database (what `make run` does on a fresh clone), then a
re-import of the same release, with the import's phases and ratios to references measured in the same run.

The machine is shared and noisy, so the figures to compare between runs are the ratios: the import's
wall time over (a) the time this process takes to parse the tabular XML and (b) a fixed CPU loop, each
measured before and after the imports (the mean of the two is used).

Uses a scratch database on the same server (embedded, or DATABASE_URL's) and drops it afterwards.
Run with `make bench` or `.venv/bin/python bench/import_bench.py`.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
SCRATCH = "icdsite_bench_import"
# The time limit the issue sets for a fresh clone's import (code set and coding data), on an idle machine.
GOAL_SECONDS = 20.0


def server_url():
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from icdsite.embedded_db import database_url

    return database_url()


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def manage(url, *args):
    """Run a management command; returns (wall seconds incl. Django start-up, its output lines)."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": os.environ.get("DEBUG", "1")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, done.stdout.splitlines()


def parse_reference() -> float:
    """Seconds to parse the official tabular XML into records (no database)."""
    from conditions import icd10cm

    started = time.perf_counter()
    valid = set(icd10cm.read_code_list(icd10cm.default_code_list_path()))
    for _ in icd10cm.parse(icd10cm.default_tabular_path(), valid_codes=valid):
        pass
    return time.perf_counter() - started


def cpu_reference() -> float:
    """Seconds for a fixed pure-Python loop."""
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i * i % 7
    return time.perf_counter() - started


def report(label, seconds, lines, parse, cpu):
    print(
        f"{label}: {seconds:.1f} s (command wall time, incl. Django start-up) = "
        f"{seconds / parse:.2f} x XML parse, {seconds / cpu:.2f} x CPU loop"
    )
    for line in lines:
        if line.startswith(
            ("Imported", "Code set unchanged", "Coding data unchanged")
        ) or line.strip().startswith("phases:"):
            print(f"    {line.strip()}")


def main():
    url = server_url()
    admin = psycopg.connect(with_database(url, "postgres"), autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
    admin.execute(f"CREATE DATABASE {SCRATCH}")
    scratch = with_database(url, SCRATCH)
    references = [(parse_reference(), cpu_reference())]
    try:
        manage(scratch, "migrate", "--noinput")
        first = manage(scratch, "import_icd10cm", "--if-empty", "--verbosity", "2")
        second = manage(scratch, "import_icd10cm", "--verbosity", "2")
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    references.append((parse_reference(), cpu_reference()))
    parse = sum(r[0] for r in references) / len(references)
    cpu = sum(r[1] for r in references) / len(references)
    print(
        f"references (mean of before and after): XML parse {parse:.2f} s, CPU loop {cpu:.2f} s "
        f"(before {references[0][0]:.2f} / {references[0][1]:.2f}, after {references[1][0]:.2f} / "
        f"{references[1][1]:.2f})"
    )
    report("full import into an empty database (make run)", *first, parse, cpu)
    report("re-import of the same release", *second, parse, cpu)
    print(f"goal: a fresh clone's import within {GOAL_SECONDS:.0f} s on an idle machine")


if __name__ == "__main__":
    main()
