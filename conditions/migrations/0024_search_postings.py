"""Search postings: each word of each code's search vector as a row (``SearchPosting``), kept by triggers.

The triggers are statement-level, with transition tables, so the import's one INSERT of 98,000 codes writes
their million postings in one statement, in word order (a word's rows lie together). An update rewrites the
postings of the rows whose posted columns changed (an article published: one code's); a delete or truncate
removes them. A word's weight in a code is the best (A before B, C, D) of its positions'.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

# Code's columns copied onto each of its postings.
COPIED = "code, title, ancestors, sort_order, search_variant, search_prior, code_key, family_key"
POSTINGS_OF = f"""
INSERT INTO conditions_searchposting (lexeme, weight, {COPIED})
SELECT u.lexeme, (SELECT min(w) FROM unnest(u.weights) AS w), {", ".join(f"c.{name}" for name in COPIED.split(", "))}
FROM %s c, unnest(c.search_vector) AS u
ORDER BY u.lexeme, c.sort_order;
"""


def changed(rows: str, other: str) -> str:
    """The rows of one transition table that the other has not, posted columns alike."""
    posted = ["search_vector", *COPIED.split(", ")]
    return (
        f"SELECT r.* FROM {rows} r LEFT JOIN {other} o ON o.code = r.code WHERE o.code IS NULL"
        f" OR ({', '.join(f'r.{name}' for name in posted)}) IS DISTINCT FROM ({', '.join(f'o.{name}' for name in posted)})"
    )


FUNCTIONS = f"""
CREATE FUNCTION conditions_post_added_codes() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
{POSTINGS_OF % "added"}
    RETURN NULL;
END $$;

CREATE FUNCTION conditions_repost_changed_codes() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
BEGIN
    DELETE FROM conditions_searchposting p USING ({changed("before", "after")}) x WHERE p.code = x.code;
{POSTINGS_OF % f"({changed('after', 'before')})"}
    RETURN NULL;
END $$;

CREATE FUNCTION conditions_unpost_removed_codes() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
BEGIN
    DELETE FROM conditions_searchposting p USING removed r WHERE p.code = r.code;
    RETURN NULL;
END $$;

CREATE FUNCTION conditions_unpost_all_codes() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    TRUNCATE conditions_searchposting;
    RETURN NULL;
END $$;

CREATE TRIGGER code_posts_added AFTER INSERT ON conditions_code REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION conditions_post_added_codes();
CREATE TRIGGER code_reposts_changed AFTER UPDATE ON conditions_code REFERENCING OLD TABLE AS before NEW TABLE AS after
FOR EACH STATEMENT EXECUTE FUNCTION conditions_repost_changed_codes();
CREATE TRIGGER code_unposts_removed AFTER DELETE ON conditions_code REFERENCING OLD TABLE AS removed
FOR EACH STATEMENT EXECUTE FUNCTION conditions_unpost_removed_codes();
CREATE TRIGGER code_unposts_all AFTER TRUNCATE ON conditions_code
FOR EACH STATEMENT EXECUTE FUNCTION conditions_unpost_all_codes();

{POSTINGS_OF % "conditions_code"}
"""

DROP_FUNCTIONS = """
DROP TRIGGER code_posts_added ON conditions_code;
DROP TRIGGER code_reposts_changed ON conditions_code;
DROP TRIGGER code_unposts_removed ON conditions_code;
DROP TRIGGER code_unposts_all ON conditions_code;
DROP FUNCTION conditions_post_added_codes();
DROP FUNCTION conditions_repost_changed_codes();
DROP FUNCTION conditions_unpost_removed_codes();
DROP FUNCTION conditions_unpost_all_codes();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0023_code_level_prefix"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchPosting",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "lexeme", "code", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "lexeme",
                    models.TextField(
                        help_text="A word as the search index holds it (its stem).", verbose_name="lexeme"
                    ),
                ),
                ("code", models.CharField(max_length=8, verbose_name="code")),
                (
                    "weight",
                    models.CharField(
                        help_text="Where the word is found in the code: A code and title, B inclusion terms, C article, D notes.",
                        max_length=1,
                        verbose_name="weight",
                    ),
                ),
                ("title", models.TextField(verbose_name="title")),
                (
                    "ancestors",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=8), default=list, size=None
                    ),
                ),
                ("sort_order", models.IntegerField(verbose_name="official order")),
                ("search_variant", models.SmallIntegerField()),
                ("search_prior", models.FloatField()),
                ("code_key", models.BigIntegerField()),
                ("family_key", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "search posting",
                "verbose_name_plural": "search postings",
                "indexes": [models.Index(fields=["code"], name="searchposting_code")],
            },
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
    ]
