"""Two reads of search made cheap: whether any code matches, and which codes have an exact inclusion term.

Whether any code matches a tsquery is answered by the search index, never by reading the table in order.

For ``EXISTS (... WHERE search_vector @@ q)`` PostgreSQL expects an early match and often reads the code
table in order instead; where the first match lies far on (or a synchronized scan starts late), that read
took 30-40 ms on a search that otherwise costs 2. The function plans its one query with scans in order
turned off, so the GIN indexes answer: first the small one of categories and subcategories (a common word is
found there without listing its 40,000 codes), then the whole one. It keeps the search_path it was defined
under (as migration 0012 does for the trigger function).

The inclusion terms equal to a query (or to it followed by nonessential modifiers in parentheses) are found
by a btree index of their upper-case text, once per search, instead of in each matching code's inherited
inclusion text.
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations, models

FUNCTION = """
CREATE FUNCTION conditions_code_matches(query tsquery) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET enable_seqscan = off
SET enable_indexscan = off
SET search_path FROM CURRENT
AS $$
SELECT EXISTS (SELECT 1 FROM conditions_code WHERE depth <= 2 AND search_vector @@ query)
    OR EXISTS (SELECT 1 FROM conditions_code WHERE search_vector @@ query)
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0020_content_version_notifies"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION conditions_code_matches(tsquery);"),
        migrations.AddIndex(
            model_name="note",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("text"), name="text_pattern_ops"
                ),
                condition=models.Q(("kind__in", ["inclusion_term", "includes"]), ("owner_type", "code")),
                name="note_upper_inclusion_prefix",
            ),
        ),
    ]
