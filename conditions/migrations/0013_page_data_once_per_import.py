from django.db import migrations, models


def compute(apps, schema_editor):
    """Fill the new columns on a database that already holds a code set (the next import keeps them)."""
    from conditions import derived

    with schema_editor.connection.cursor() as cursor:
        derived.refresh_heading_counts(cursor)
        derived.refresh_note_references(cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0012_content_version_search_path"),
    ]

    operations = [
        migrations.AddField(
            model_name="block",
            name="billable_count",
            field=models.PositiveIntegerField(db_default=0, editable=False, verbose_name="billable codes"),
        ),
        migrations.AddField(
            model_name="block",
            name="code_count",
            field=models.PositiveIntegerField(db_default=0, editable=False, verbose_name="codes"),
        ),
        migrations.AddField(
            model_name="chapter",
            name="billable_count",
            field=models.PositiveIntegerField(db_default=0, editable=False, verbose_name="billable codes"),
        ),
        migrations.AddField(
            model_name="chapter",
            name="code_count",
            field=models.PositiveIntegerField(db_default=0, editable=False, verbose_name="codes"),
        ),
        migrations.AddField(
            model_name="note",
            name="references",
            field=models.JSONField(
                blank=True,
                db_default=models.Value({}, output_field=models.JSONField()),
                editable=False,
                help_text="The codes, blocks and chapters the text names that exist, with their targets; kept by the import.",
                verbose_name="references",
            ),
        ),
        migrations.RunPython(compute, migrations.RunPython.noop),
    ]
