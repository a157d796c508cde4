"""Shared fixtures: the test database holds the complete official code set, imported once per run."""

import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """The test process connects without the pool; the servers the tests start (tests/servers.py) use it.

    Django 5.2 builds the pool on the first ``close()``, which create_test_db calls before it renames the
    database, so a pooled test process would migrate and import into the development database.
    """
    from django.db import connections

    connections["default"].settings_dict["OPTIONS"].pop("pool", None)


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: a test that writes rows directly (not through the services, which
    bump the content version) and is rolled back must not meet pages another test cached."""
    from django.core.cache import caches

    from conditions import search_cache

    for cache in caches.all(initialized_only=True):
        cache.clear()
    search_cache.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("import_icd10cm", verbosity=0)
        call_command("load_synonyms", verbosity=0)


# --- Editor content (issue 5) -------------------------------------------------
@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded illustrations go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _member_of(django_user_model, group_name, username):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(
        username, password="correct horse battery staple", is_staff=True
    )
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor(db, django_user_model):
    return _member_of(django_user_model, "Editor", "eddie")


@pytest.fixture
def publisher(db, django_user_model):
    return _member_of(django_user_model, "Publisher", "pat")


# --- Rate limits (issue 9) ------------------------------------------------------
@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    """The whole suite comes from one address; tests/test_rate_limit.py turns the limits on."""
    settings.RATE_LIMITS = []
