"""Writes to what search reads besides the code set bump the content version too.

Search answers are kept per content version (conditions.search_cache): an editor's synonym, the word
list and the ICD-9-CM crosswalk change what a search finds, so a change to them must change the version.
"""

import importlib

from django.db import migrations

content_version = importlib.import_module("conditions.migrations.0011_content_version")

SEARCH_TABLES = ["conditions_synonym", "conditions_searchword", "conditions_icd9code"]


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0016_next_year_additions"),
    ]

    operations = [
        migrations.RunSQL(
            content_version.triggers(SEARCH_TABLES), content_version.drop_triggers(SEARCH_TABLES)
        )
    ]
