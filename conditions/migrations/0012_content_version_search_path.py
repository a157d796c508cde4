"""The content-version trigger function finds its table whatever the caller's search_path.

pg_restore's scripts empty the search_path; a restore of articles fired the trigger, which then could not
find conditions_contentversion. The function now keeps the search_path it was defined under.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0011_content_version"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER FUNCTION conditions_bump_content_version() SET search_path FROM CURRENT;",
            "ALTER FUNCTION conditions_bump_content_version() RESET search_path;",
        ),
    ]
