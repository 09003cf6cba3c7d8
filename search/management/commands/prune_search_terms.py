"""`prune_search_terms`: delete search terms nobody has searched for in a while.

Aggregates are kept `SEARCH_TERMS_RETENTION_DAYS` after a term was last searched for
(or `--days`); run it daily from cron.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from search.models import SearchTerm


class Command(BaseCommand):
    help = "Delete search terms not searched for within the retention period."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep terms seen in the last DAYS days (default: SEARCH_TERMS_RETENTION_DAYS).",
        )

    def handle(self, *args, days: int | None = None, **options) -> None:
        days = settings.SEARCH_TERMS_RETENTION_DAYS if days is None else max(days, 0)
        deleted, _ = SearchTerm.objects.older_than(days).delete()
        if options["verbosity"] > 0:
            self.stdout.write(f"Deleted {deleted} search term(s) not seen in {days} days.")
