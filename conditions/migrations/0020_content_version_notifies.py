"""Each bump of the content version also notifies listeners, so app servers need not ask for it per request.

``pg_notify`` is delivered when the writing transaction commits (never for one rolled back), carrying the new
version number; ``conditions.version_watch`` listens in each app process. The function keeps the schema search
path of the migration: a restore script runs with an empty one.
"""

import importlib

from django.db import migrations

content_version = importlib.import_module("conditions.migrations.0011_content_version")

CHANNEL = "icdsite_content_version"

NOTIFYING_BUMP_FUNCTION = f"""
CREATE OR REPLACE FUNCTION conditions_bump_content_version() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    bumped bigint;
BEGIN
    INSERT INTO conditions_contentversion (id, number, changed_at) VALUES (1, 2, clock_timestamp())
    ON CONFLICT (id) DO UPDATE
        SET number = conditions_contentversion.number + 1, changed_at = clock_timestamp()
    RETURNING number INTO bumped;
    PERFORM pg_notify('{CHANNEL}', bumped::text);
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0019_inclusion_terms_trigram"),
    ]

    operations = [migrations.RunSQL(NOTIFYING_BUMP_FUNCTION, content_version.BUMP_FUNCTION)]
