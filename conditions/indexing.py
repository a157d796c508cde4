"""The write side of search: the text copied onto code rows, and the corpus's word list.

Search itself (``conditions.search``) only reads; this module is called by
the import and by the publishing services, never by a search.

A generated tsvector column reads only its own row, so what must be
searchable is copied onto ``Code``: inclusion terms and other notes by the
import (``official_text_update`` on its staging tables, so each row is written
once with its text; ``refresh_official_text`` on the real tables), published
articles by the publishing service (``refresh_article_text``). Both write
only rows whose text changed, so repeating them changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from conditions.markdown import html_to_text
from conditions.models import Article, Code

# Inclusion terms apply to the codes below the level they are written at (a
# child of M77.1 "Tennis elbow" is still tennis elbow), so each code gets its
# own and its ancestors', category first; includes notes likewise. Plain notes
# stay with their own code. Excludes, code first, use additional code and code
# also notes name *other* conditions (what a code is not, or what to code
# beside it): a search must never find a code, or quote it, for those words,
# so they are not searchable. 7th-character notes are boilerplate.
#
# The query below gives every code of ``{codes}`` its two texts from the notes in ``{notes}``: the
# import runs it on its staging tables, so a code row is written once with its text.
OFFICIAL_TEXT_QUERY = """
WITH own AS (
    SELECT owner AS code,
           string_agg(text, ' | ' ORDER BY kind DESC, position)
               FILTER (WHERE kind IN ('inclusion_term', 'includes')) AS inclusion,
           string_agg(text, ' | ' ORDER BY kind, position) FILTER (WHERE kind = 'note') AS other
    FROM {notes}
    WHERE owner_type = 'code'
    GROUP BY owner
),
inherited AS (
    SELECT chain.code, string_agg(own.inclusion, ' | ' ORDER BY chain.level) AS inclusion
    FROM (
        SELECT c.code, level.code AS owner, level.n AS level
        FROM {codes} c,
             unnest(c.ancestors || c.code) WITH ORDINALITY AS level(code, n)
    ) chain
    JOIN own ON own.code = chain.owner AND own.inclusion IS NOT NULL
    GROUP BY chain.code
)
SELECT c.code,
       coalesce(inherited.inclusion, '') AS inclusion_text,
       coalesce(own.other, '') AS notes_text
FROM {codes} c
LEFT JOIN inherited ON inherited.code = c.code
LEFT JOIN own ON own.code = c.code
"""


def official_text_update(codes: str, notes: str) -> str:
    """SQL that sets ``inclusion_text`` and ``notes_text`` of the rows of ``codes`` whose text differs."""
    wanted = OFFICIAL_TEXT_QUERY.format(codes=codes, notes=notes)
    return f"""
UPDATE {codes} c
SET inclusion_text = wanted.inclusion_text, notes_text = wanted.notes_text
FROM ({wanted}) wanted
WHERE wanted.code = c.code
  AND (c.inclusion_text IS DISTINCT FROM wanted.inclusion_text OR c.notes_text IS DISTINCT FROM wanted.notes_text)
"""


# Distinct words of the official texts, accents stripped, with the english
# stem the index holds for each; stop words (no stem) are left out. One
# statement merges them so unchanged words are not rewritten.
WORDS_SQL = """
WITH fresh AS MATERIALIZED (
    SELECT word, (ts_lexize('english_stem', word))[1] AS stem, ndoc AS documents
    FROM ts_stat($$
        SELECT to_tsvector('simple', unaccent(title || ' ' || inclusion_text || ' ' || notes_text))
        FROM conditions_code
        UNION ALL SELECT to_tsvector('simple', unaccent(title)) FROM conditions_block
        UNION ALL SELECT to_tsvector('simple', unaccent(title)) FROM conditions_chapter
    $$)
    WHERE word ~ '^[a-z]{2,64}$' AND (ts_lexize('english_stem', word))[1] IS NOT NULL
),
removed AS (
    DELETE FROM conditions_searchword w
    WHERE NOT EXISTS (SELECT 1 FROM fresh WHERE fresh.word = w.word)
),
changed AS (
    UPDATE conditions_searchword w
    SET stem = fresh.stem, documents = fresh.documents
    FROM fresh
    WHERE fresh.word = w.word AND (w.stem, w.documents) IS DISTINCT FROM (fresh.stem, fresh.documents)
)
INSERT INTO conditions_searchword (word, stem, documents)
SELECT word, stem, documents FROM fresh
WHERE NOT EXISTS (SELECT 1 FROM conditions_searchword w WHERE w.word = fresh.word)
"""


def refresh_official_text(cursor) -> None:
    """Recompute every code's searchable note text and the word list from the official tables.

    Takes the caller's cursor so the import runs it inside its own
    transaction, after the merge.
    """
    cursor.execute(official_text_update("conditions_code", "conditions_note"))
    refresh_search_words(cursor)


def refresh_search_words(cursor) -> None:
    """Recompute the word list from the official texts on the code, block and chapter rows."""
    cursor.execute(WORDS_SQL)


def article_search_text(article: Article) -> str:
    return " ".join(
        part for part in (article.title, article.summary, html_to_text(article.body_html)) if part
    )


def refresh_due_articles(*, now: datetime | None = None) -> int:
    """Copy scheduled articles whose publish time has come; returns how many codes changed.

    Run by ``manage.py publish_scheduled`` (schedule it every few minutes):
    a search never writes, so a scheduled article becomes searchable when
    the job next runs after its publish time.
    """
    due = list(
        Article.objects.published(now)
        .filter(publish_at__isnull=False, code__has_article=False)
        .values_list("code_id", flat=True)
    )
    return refresh_article_text(due, now=now) if due else 0


def refresh_article_text(codes: Iterable[str] | None = None, *, now: datetime | None = None) -> int:
    """Copy the published article of each given code (or of every code, when None) onto its row.

    Call it whenever an article is saved, published, unpublished or deleted,
    with the codes it was and is attached to; the next search sees the
    change. Returns how many code rows changed. ``now`` is for tests of
    scheduled publishing.
    """
    published = Article.objects.published(now)
    if codes is None:
        wanted = set(Code.objects.filter(has_article=True).values_list("code", flat=True))
        wanted |= set(published.values_list("code_id", flat=True))
    else:
        wanted = set(codes)
    texts = {
        article.code_id: article_search_text(article)
        for article in published.filter(code_id__in=wanted).only("code_id", "title", "summary", "body_html")
    }
    changed = []
    for code in Code.objects.filter(code__in=wanted).only("code", "article_text", "has_article"):
        text = texts.get(code.code, "")
        if code.article_text != text or code.has_article != (code.code in texts):
            code.article_text, code.has_article = text, code.code in texts
            changed.append(code)
    with transaction.atomic():
        Code.objects.bulk_update(changed, ["article_text", "has_article"], batch_size=500)
    return len(changed)
