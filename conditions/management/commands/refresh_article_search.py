"""Refresh the published-article text that search reads from each code row: ``manage.py refresh_article_search``.

The publishing service refreshes a code when its article changes; an article
scheduled for later (``publish_at``) becomes searchable when this runs after
its time (e.g. from cron every few minutes). Only changed rows are written.
"""

from django.core.management.base import BaseCommand

from conditions.search import refresh_article_text


class Command(BaseCommand):
    help = "Copy every published article's text onto its code row for search (only changed rows are written)."

    def handle(self, *args, verbosity=1, **options):
        changed = refresh_article_text()
        if verbosity:
            self.stdout.write(f"Search text refreshed: {changed} code{'s' if changed != 1 else ''} changed.")
