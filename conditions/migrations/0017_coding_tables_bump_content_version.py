"""The coding tables (issue 12) feed the code pages too: a write to them bumps the content version, as the
official tables and the articles do (migration 0011), so a page cached before a package update is not served
after it."""

import importlib

from django.db import migrations

content_version = importlib.import_module("conditions.migrations.0011_content_version")

CODING_TABLES = [
    "conditions_codefacts",
    "conditions_retiredcode",
    "conditions_icd9code",
    "conditions_pdxcollection",
    "conditions_nextyearcode",
]


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0016_next_year_additions"),
    ]

    operations = [
        migrations.RunSQL(
            content_version.triggers(CODING_TABLES), content_version.drop_triggers(CODING_TABLES)
        )
    ]
