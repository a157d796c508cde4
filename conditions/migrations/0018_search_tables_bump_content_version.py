"""Writes to what search reads besides the code set bump the content version too.

Search answers are kept per content version (conditions.search_cache): an editor's synonym and the word
list change what a search finds, so a change to them must change the version (the ICD-9-CM crosswalk
bumps it since migration 0017).
"""

import importlib

from django.db import migrations

content_version = importlib.import_module("conditions.migrations.0011_content_version")

SEARCH_TABLES = ["conditions_synonym", "conditions_searchword"]


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0017_coding_tables_bump_content_version"),
    ]

    operations = [
        migrations.RunSQL(
            content_version.triggers(SEARCH_TABLES), content_version.drop_triggers(SEARCH_TABLES)
        )
    ]
