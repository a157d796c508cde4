"""Import the CMS ICD-10-CM tabular XML: ``manage.py import_icd10cm [--source PATH] [--dry-run]``."""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand, CommandError

from conditions import coding_sources, icd10cm
from conditions.loading import (
    RETIRE_LIMIT,
    ImportSummary,
    RetireRefused,
    import_coding_data,
    import_tabular,
)
from conditions.models import Chapter


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
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what the import would add, change and retire, and write nothing.",
        )
        parser.add_argument(
            "--allow-retire",
            action="store_true",
            help=f"Import even when the release retires more than {RETIRE_LIMIT:.0%} of the codes "
            "(a partial file does: it is refused without this).",
        )

    def handle(
        self,
        *args,
        source=None,
        code_list=None,
        if_empty=False,
        dry_run=False,
        allow_retire=False,
        verbosity=1,
        **options,
    ):
        if if_empty and Chapter.objects.exists():
            if verbosity:
                self.stdout.write("Codes already loaded; skipping import.")
            # Written again only when their sources changed or the tables were emptied or damaged.
            self._import_coding_data(verbosity)
            return
        if source and not code_list and verbosity:
            self.stderr.write(
                "No --code-list given: every 7th character defined for a category is applied "
                "to each code below it (the official list may exclude some)."
            )
        show_progress = verbosity >= 1 and sys.stdout.isatty()
        # The coding data's package files are read in a thread while PostgreSQL writes the code set.
        with ThreadPoolExecutor(max_workers=1) as pool:
            self._import(source, code_list, show_progress, allow_retire, dry_run, pool, verbosity)

    def _import(self, source, code_list, show_progress, allow_retire, dry_run, pool, verbosity):
        sources = []
        try:
            summary = import_tabular(
                source,
                code_list=code_list,
                progress=self._progress if show_progress else None,
                allow_retire=allow_retire,
                dry_run=dry_run,
                meanwhile=None if dry_run else lambda: sources.append(pool.submit(coding_sources.read_all)),
            )
        except RetireRefused as refused:
            if verbosity:
                self._report_changes(refused.summary, verbosity)
            raise CommandError(f"{refused} Nothing was written.") from None
        except icd10cm.SourceError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"{source}: {error.strerror}") from None
        if show_progress:
            self.stdout.write("")
        if not dry_run:
            self._import_coding_data(verbosity, sources[0] if sources else None)
        if not verbosity:
            return
        counts = summary.counts
        read = (
            f"{counts['chapter']} chapters, {counts['block']} blocks, "
            f"{counts['code']} codes ({counts['billable']} billable)"
        )
        if dry_run:
            self.stdout.write(f"Dry run: the release holds {read}; nothing was written.")
        elif summary.unchanged:
            self.stdout.write(
                f"Code set unchanged: {read} already imported from this release file, tables intact "
                f"(checked in {summary.seconds:.1f} s)."
            )
            self._report_phases(summary.phases, verbosity)
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported {read} in {summary.seconds:.1f} s."))
            self._report_phases(summary.phases, verbosity)
        self._report_changes(summary, verbosity)
        if summary.refused:
            self.stdout.write(self.style.WARNING(f"  The import would be refused: {RetireRefused(summary)}"))
        if not summary.changed:
            self.stdout.write("  No changes: the database already held this release.")
        if summary.rebuilt:
            self.stdout.write(f"  Article text and flag rebuilt on {summary.rebuilt} codes.")

    def _report_changes(self, summary: ImportSummary, verbosity: int) -> None:
        """Counts per table and change, the first examples, and the editor content of retired codes."""
        verb = "" if summary.written else "would be "
        for label, changes in (
            ("added", summary.inserted),
            ("changed", summary.updated),
            ("retired", summary.deleted),
        ):
            if verbosity < 2 and not any(changes.values()):
                continue
            detail = ", ".join(f"{table.removeprefix('conditions_')} {n}" for table, n in changes.items())
            self.stdout.write(f"  {verb}{label}: {detail}")
            for table, n in changes.items():
                examples = summary.examples.get(table, {}).get(label)
                if n and examples and (verbosity >= 2 or table == "conditions_code"):
                    more = ", ..." if n > len(examples) else ""
                    name = table.removeprefix("conditions_")
                    self.stdout.write(f"    {name}: {', '.join(examples)}{more}")
        for code, title, status in summary.retired_articles:
            self.stdout.write(
                self.style.WARNING(
                    f"  Article on retired code {code} kept ({status}): {title}. Move it to a current code."
                )
            )
        for term, code in summary.retired_synonyms:
            self.stdout.write(self.style.WARNING(f"  Search synonym '{term}' points at retired code {code}."))

    def _import_coding_data(self, verbosity, sources=None):
        """CC/MCC, code edits, HCC, chronic indicator, GEMs and history, keyed to the codes just loaded.

        ``sources``: a future of ``coding_sources.read_all()`` started during the code set's import.
        """
        started = time.monotonic()
        try:
            summary = import_coding_data(sources=sources.result if sources else None)
        except coding_sources.SourceMissing as error:
            raise CommandError(str(error)) from None
        if verbosity:
            counts = summary.counts
            what = (
                f"coding data for {counts['facts']} codes, {counts['retired']} retired codes, "
                f"{counts['icd9']} ICD-9-CM codes, {counts['pdx_collections']} PDX collections, "
                f"{counts['next_year']} codes of the next release"
            )
            seconds = time.monotonic() - started
            if summary.written:
                self.stdout.write(self.style.SUCCESS(f"Imported {what} in {seconds:.1f} s."))
            else:
                self.stdout.write(
                    f"Coding data unchanged (same sources and code set, tables intact): kept {what}; "
                    f"checked in {seconds:.1f} s."
                )
            self._report_phases(summary.phases, verbosity)

    def _report_phases(self, phases, verbosity):
        """Seconds per phase, at --verbosity 2 (bench/import_bench.py prints them)."""
        if verbosity >= 2 and phases:
            self.stdout.write(
                "  phases: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())
            )

    def _progress(self, stage, done, total):
        if stage == "read":
            self.stdout.write(f"\rReading XML: {done} entries", ending="")
        else:
            width = 30
            filled = width * done // total
            self.stdout.write(f"\rWriting [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stdout.flush()
