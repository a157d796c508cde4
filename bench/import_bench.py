"""Time a full ICD-10-CM import into an empty database, then a re-import of the same file.

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
    seconds = time.perf_counter() - started
    # The command's own timings: the code set, then the coding data (CC/MCC, HCC, GEMs, history).
    for line in done.stdout.splitlines():
        if line.startswith("Imported"):
            print(f"  {line}")
    return seconds


def main():
    url = server_url()
    admin = psycopg.connect(with_database(url, "postgres"), autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
    admin.execute(f"CREATE DATABASE {SCRATCH}")
    scratch = with_database(url, SCRATCH)
    try:
        manage(scratch, "migrate", "--noinput")
        first = manage(scratch, "import_icd10cm")
        second = manage(scratch, "import_icd10cm")
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    print(f"full import into an empty database: {first:.1f} s (command wall time, incl. Django start-up)")
    print(f"re-import of the same file:         {second:.1f} s")


if __name__ == "__main__":
    main()
