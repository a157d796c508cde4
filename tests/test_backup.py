"""`manage.py backup` and `restore` (make backup / make restore): content made on one database comes back whole
in a new database, rows and media files alike. Both databases live on a scratch server (tests/postgres_servers.py):
pg_dump sees only committed rows, and the test database's rows are never committed."""

import hashlib
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command

from conditions.backup import content_tables

from .postgres_servers import manage, scratch_server

# Accounts and a group of our own besides the sample content's (articles, revisions, sources,
# synonyms, illustrations and the publisher account that signs them).
MAKE_ACCOUNTS = """
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission, User
from conditions import services
from conditions.models import Article, Synonym
reviewers = Group.objects.create(name="Reviewers")
reviewers.permissions.add(Permission.objects.get(codename="view_article"))
editor = User.objects.create_user("eddie", password="correct horse battery staple", is_staff=True)
editor.groups.add(Group.objects.get(name="Editor"), reviewers)
publisher = User.objects.get(username="sample-content")
article = Article.objects.get(code_id="M61.2")
article.title = "Bone in a muscle after paralysis"
services.article_save(article=article, user=publisher, reason="Clearer title")
Synonym.objects.create(term="wombat knee", code_id="M17.11")
LogEntry.objects.log_actions(publisher.pk, [article], CHANGE, change_message="Clearer title")
"""


def table_digests(url):
    """Every content table's rows, as (row count, md5 of the sorted rows)."""
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
            ).fetchone()
            for table in content_tables()
        }


def files(root: Path):
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }


def test_backup_restores_into_a_new_database(tmp_path):
    with scratch_server("backup") as postgres:
        blank = postgres.create_database("blank")
        manage("migrate", "--noinput", database_url=blank)
        postgres.server.psql("CREATE DATABASE made TEMPLATE blank; CREATE DATABASE restored TEMPLATE blank;")
        made, restored = postgres.uri("made"), postgres.uri("restored")
        media_made, media_restored = tmp_path / "media-made", tmp_path / "media-restored"

        manage("load_sample_content", database_url=made, MEDIA_ROOT=str(media_made))
        manage("shell", "-c", MAKE_ACCOUNTS, database_url=made, MEDIA_ROOT=str(media_made))
        out = manage(
            "backup", "--output", str(tmp_path / "backup"), database_url=made, MEDIA_ROOT=str(media_made)
        )
        assert "Backed up" in out.stdout
        out = manage(
            "restore",
            str(tmp_path / "backup"),
            "--noinput",
            database_url=restored,
            MEDIA_ROOT=str(media_restored),
        )
        assert "Restored" in out.stdout

        before, after = table_digests(made), table_digests(restored)
        with psycopg.connect(restored) as conn:
            illustrations = [
                name
                for row in conn.execute("SELECT illustration, illustration_small FROM conditions_article")
                for name in row
                if name
            ]
            editor_groups = conn.execute(
                "SELECT g.name FROM auth_user u JOIN auth_user_groups ug ON ug.user_id = u.id "
                "JOIN auth_group g ON g.id = ug.group_id WHERE u.username = 'eddie' ORDER BY g.name"
            ).fetchall()
            revisions = conn.execute(
                "SELECT count(*) FROM conditions_historicalarticle WHERE history_change_reason = 'Clearer title'"
            ).fetchone()[0]
        # The restore opened no connection to the first database: nothing was lost there either.
        assert table_digests(made) == before

    assert after == before
    for table in (
        "conditions_article",
        "conditions_historicalarticle",
        "conditions_articlesource",
        "conditions_historicalarticlesource",
        "conditions_synonym",
        "auth_user",
        "auth_group",
        "auth_user_groups",
        "django_admin_log",
    ):
        assert before[table][0] > 0, table
    assert editor_groups == [("Editor",), ("Reviewers",)] and revisions == 1
    assert files(media_restored) == files(media_made)
    assert illustrations and set(illustrations) <= set(files(media_restored))


def test_restore_refuses_a_directory_that_is_not_a_backup(tmp_path):
    with pytest.raises(CommandError, match="holds no content.dump"):
        call_command("restore", str(tmp_path), interactive=False)
