"""Import the CMS ICD-10-CM tabular XML: ``manage.py import_icd10cm [--source PATH]``."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from conditions import coding_sources, icd10cm
from conditions.loading import import_coding_data, import_tabular
from conditions.models import Chapter, CodeFacts


class Command(BaseCommand):
    help = "Import (or update to) an ICD-10-CM release from the CMS tabular XML file."

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            help="CMS tabular XML file (default: the April 1 2026 file shipped in simple-icd-10-cm).",
        )
        parser.add_argument(
            "--code-list",
            help="Official code list used to decide which 7th-character codes exist "
            "(default: the package's list when --source is not given).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when codes are already loaded.",
        )

    def handle(self, *args, source=None, code_list=None, if_empty=False, verbosity=1, **options):
        if if_empty and Chapter.objects.exists():
            if verbosity:
                self.stdout.write("Codes already loaded; skipping import.")
            if not CodeFacts.objects.exists():
                self._import_coding_data(verbosity)
            return
        if source and not code_list and verbosity:
            self.stderr.write(
                "No --code-list given: every 7th character defined for a category is applied "
                "to each code below it (the official list may exclude some)."
            )
        show_progress = verbosity >= 1 and sys.stdout.isatty()
        try:
            summary = import_tabular(
                source,
                code_list=code_list,
                progress=self._progress if show_progress else None,
            )
        except icd10cm.SourceError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"{source}: {error.strerror}") from None
        if show_progress:
            self.stdout.write("")
        if verbosity:
            counts = summary.counts
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported {counts['chapter']} chapters, {counts['block']} blocks, "
                    f"{counts['code']} codes ({counts['billable']} billable) in {summary.seconds:.1f} s."
                )
            )
            for label, changes in (
                ("inserted", summary.inserted),
                ("updated", summary.updated),
                ("deleted", summary.deleted),
            ):
                if verbosity >= 2 or any(changes.values()):
                    detail = ", ".join(
                        f"{table.removeprefix('conditions_')} {n}" for table, n in changes.items()
                    )
                    self.stdout.write(f"  {label}: {detail}")
            if not summary.changed:
                self.stdout.write("  No changes: the database already held this release.")
        self._import_coding_data(verbosity)

    def _import_coding_data(self, verbosity):
        """CC/MCC, code edits, HCC, chronic indicator, GEMs and history, keyed to the codes just loaded."""
        started = time.monotonic()
        try:
            counts = import_coding_data()
        except coding_sources.SourceMissing as error:
            raise CommandError(str(error)) from None
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported coding data for {counts['facts']} codes, {counts['retired']} retired codes, "
                    f"{counts['icd9']} ICD-9-CM codes, {counts['pdx_collections']} PDX collections "
                    f"in {time.monotonic() - started:.1f} s."
                )
            )

    def _progress(self, stage, done, total):
        if stage == "read":
            self.stdout.write(f"\rReading XML: {done} entries", ending="")
        else:
            width = 30
            filled = width * done // total
            self.stdout.write(f"\rWriting [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stdout.flush()
