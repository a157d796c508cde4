"""manage.py load_sample_content: the sample articles and synonyms (running it again adds nothing)."""

from django.core.management.base import BaseCommand

from conditions.sample_content import load_sample_content


class Command(BaseCommand):
    help = "Load the sample plain-language articles and lay-term synonyms, published through the services."

    def handle(self, *args, **options):
        summary = load_sample_content()
        if options["verbosity"] >= 2:
            for code in summary.skipped:
                self.stdout.write(f"  {code}: an article exists already, left as it is")
        self.stdout.write(
            f"Sample content: {len(summary.created)} article(s) published"
            f"{' (' + ', '.join(summary.created) + ')' if summary.created else ''}, "
            f"{len(summary.skipped)} already present, {summary.synonyms_created} synonym(s) added."
        )
