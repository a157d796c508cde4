"""Load the shipped lay-term vocabulary into the editors' synonyms: ``manage.py load_synonyms [--file PATH]``.

Adds the terms the database lacks; a term already there stays as editors left
it and a term an editor deleted is not brought back, so running it again
(``make data`` does) changes nothing.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conditions.lay_terms import DEFAULT_PATH, VocabularyError, load_lay_terms, read_lay_terms


class Command(BaseCommand):
    help = "Add the shipped lay search terms (synonyms) the database lacks, keeping every editor's change."

    def add_arguments(self, parser):
        parser.add_argument(
            "--file", default=str(DEFAULT_PATH), help="Vocabulary file: 'kind | term | code | meaning' lines."
        )

    def handle(self, *args, file, verbosity=1, **options):
        try:
            entries = read_lay_terms(Path(file))
        except (OSError, VocabularyError) as error:
            raise CommandError(f"{file}: {error}") from None
        summary = load_lay_terms(entries)
        if verbosity:
            self.stdout.write(
                f"{len(entries)} lay terms: {len(summary.created)} added, {len(summary.present)} already present, "
                f"{len(summary.deleted)} deleted by editors and left out."
            )
