"""Load the shipped taxonomy, articles and reader intents into an empty library, and only then.

`make run` calls this on every start: re-loading fixtures over a library that editors
have been working in would overwrite their edits, so a library that already holds
articles is left alone unless `--force` is given.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from library.models import Article

# Intents after the taxonomy: they name its tags (`search` migration 0007 creates them
# on a fresh database before any tag exists; this load links their tags).
SHIPPED_FIXTURES = ("taxonomy", "articles", "intents")


class Command(BaseCommand):
    help = "Load the shipped fixtures (taxonomy, articles, intents) if the library is empty."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Load even if articles exist (updates them)."
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        if Article.objects.exists() and not force:
            self.stdout.write("The library already holds articles; shipped content not reloaded.")
            return
        call_command("loaddata", *SHIPPED_FIXTURES, verbosity=options["verbosity"])
