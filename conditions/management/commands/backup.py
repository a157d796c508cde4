"""Back up editor content, accounts and media: ``manage.py backup [--output DIR]`` (``make backup``)."""

from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from conditions.backup import BackupError, BackupSummary, backup


class Command(BaseCommand):
    help = (
        "Write the editor content, accounts and uploaded media to a backup directory (pg_dump custom format)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            help="Directory to write (default: backups/icdsite-<UTC time>/ in the checkout).",
        )

    def handle(self, *args, output=None, verbosity=1, **options):
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        directory = output or settings.BASE_DIR / "backups" / f"icdsite-{stamp}"
        try:
            summary = backup(directory)
        except BackupError as error:
            raise CommandError(str(error)) from None
        write_summary(
            self,
            summary,
            f"Backed up {summary} to {directory}",
            verbosity,
        )


def write_summary(command: BaseCommand, summary: BackupSummary, headline: str, verbosity: int) -> None:
    """The headline, and the rows per table at verbosity 2."""
    if not verbosity:
        return
    command.stdout.write(command.style.SUCCESS(headline))
    if verbosity >= 2:
        for table, count in summary.rows.items():
            command.stdout.write(f"  {table}: {count}")
