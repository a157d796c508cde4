"""Restore a backup made by ``manage.py backup``: ``manage.py restore DIR`` (``make restore BACKUP=DIR``)."""

from django.core.management.base import BaseCommand, CommandError

from conditions.backup import BackupError, restore

from .backup import write_summary


class Command(BaseCommand):
    help = (
        "Replace the editor content, accounts and media with a backup's. Run it on a migrated database; "
        "import the code set too (make data) for the pages."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="A directory written by `manage.py backup`.")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )

    def handle(self, *args, directory, interactive=True, verbosity=1, **options):
        if interactive:
            answer = input(
                "This replaces every article, revision, source, synonym, user and group, and the media files, "
                f"with those in {directory}.\nType 'yes' to continue: "
            )
            if answer != "yes":
                raise CommandError("Restore cancelled.")
        try:
            summary = restore(directory)
        except BackupError as error:
            raise CommandError(str(error)) from None
        write_summary(
            self,
            summary,
            f"Restored {summary}; article text rebuilt on {summary.rebuilt} codes.",
            verbosity,
        )
