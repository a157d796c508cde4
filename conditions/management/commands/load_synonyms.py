"""Load the starter list of lay search terms: ``manage.py load_synonyms [--file PATH]``.

Adds the terms the database lacks and leaves every existing term as editors
left it, so running it again (``make data`` does) changes nothing.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from conditions.models import Synonym

STARTER_LIST = Path(__file__).resolve().parents[2] / "data" / "lay_synonyms.json"


class Command(BaseCommand):
    help = "Add the starter list of lay search terms (synonyms) that the database does not hold yet."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(STARTER_LIST), help="JSON list of {term, meaning | code}.")

    def handle(self, *args, file, verbosity=1, **options):
        try:
            entries = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"{file}: {error}") from None
        existing = {term.lower() for term in Synonym.objects.values_list("term", flat=True)}
        new = [
            Synonym(term=entry["term"], meaning=entry.get("meaning", ""), code_id=entry.get("code"))
            for entry in entries
            if entry["term"].lower() not in existing
        ]
        with transaction.atomic():
            Synonym.objects.bulk_create(new, batch_size=500)
        if verbosity:
            self.stdout.write(f"Added {len(new)} search synonyms; {len(entries) - len(new)} already present.")
