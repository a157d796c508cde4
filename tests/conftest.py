"""Shared fixtures: the test database holds the complete official code set, imported once per run."""

import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("import_icd10cm", verbosity=0)
        call_command("load_synonyms", verbosity=0)
