"""Bring the search index up to date without rebuilding it.

For cron, or after something changed articles without signals (raw SQL, a bulk
import): re-indexes articles saved since the last run (or `--since`), retries updates
that failed after a save, indexes published articles the index lacks or holds an
older version of, and removes documents for articles that are gone or unpublished.
"""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from search import index


class Command(BaseCommand):
    help = (
        "Re-index what changed since the last run (or --since DATE), retry failed "
        "updates and remove orphaned documents."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--since",
            metavar="YYYY-MM-DD",
            help="Re-index every article saved on or after this date (server time zone).",
        )

    def handle(self, *args, **options) -> None:
        started = timezone.now()
        since = self._parse_since(options["since"]) if options["since"] else index.last_updated()
        pending = index.pending_update_count()
        try:
            for line in index.remove_abandoned():
                self.stdout.write(f"Removed {line}.")
            result = index.update_changed(since=since)
        except index.IndexDamaged as exc:
            raise CommandError(f"Nothing was updated: {exc}.") from exc
        except Exception as exc:
            raise CommandError(f"Updating the search index failed: {exc}") from exc
        index.mark_updated(started)
        if options["verbosity"] > 0:
            since_text = f"since {since:%Y-%m-%d %H:%M}" if since else "(no previous run)"
            self.stdout.write(
                self.style.SUCCESS(
                    f"Updated the search index {since_text}: {result.indexed} indexed, "
                    f"{result.removed} removed, {pending} failed update(s) retried."
                )
            )

    def _parse_since(self, value: str) -> datetime.datetime:
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            raise CommandError(
                f"--since: {value!r} is not a date; use YYYY-MM-DD, e.g. 2025-01-31."
            ) from None
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
