"""Recompute the searchable note text: excludes and code-first style notes name other conditions and are no longer searchable."""

from django.db import migrations


def refresh(apps, schema_editor):
    from conditions.indexing import refresh_official_text

    with schema_editor.connection.cursor() as cursor:
        refresh_official_text(cursor)


class Migration(migrations.Migration):
    dependencies = [("conditions", "0007_error_reports")]

    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
