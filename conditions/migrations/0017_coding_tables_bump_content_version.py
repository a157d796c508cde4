"""The coding tables (issue 12) feed the code pages too: a write to them bumps the content version, as the
official tables and the articles do (migration 0011), so a page cached before a package update is not served
after it."""

from django.db import migrations

CODING_TABLES = [
    "conditions_codefacts",
    "conditions_retiredcode",
    "conditions_icd9code",
    "conditions_pdxcollection",
    "conditions_nextyearcode",
]
TRIGGERS = "".join(
    f"CREATE TRIGGER {table}_bumps_content_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION conditions_bump_content_version();\n"
    for table in CODING_TABLES
)
DROP_TRIGGERS = "".join(f"DROP TRIGGER {table}_bumps_content_version ON {table};\n" for table in CODING_TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0016_next_year_additions"),
    ]

    operations = [migrations.RunSQL(TRIGGERS, DROP_TRIGGERS)]
