"""manage.py publish_scheduled: bring search up to date with articles whose publish time has come.

Run it from cron every few minutes. Public pages need no job: they compare the
publish time with the clock themselves.
"""

from django.core.management.base import BaseCommand

from conditions.indexing import refresh_due_articles


class Command(BaseCommand):
    help = "Refresh the search text of codes whose scheduled article is now public."

    def handle(self, *args, **options):
        count = refresh_due_articles()
        self.stdout.write(f"{count} scheduled article(s) now searchable.")
