"""Rebuild the search index from the database.

The new index is built aside and swapped in atomically by the backend, so readers keep
searching the old one meanwhile and a killed rebuild leaves it serving. Saves made by
editors during the rebuild are caught up after the swap (see `search.index.rebuild`).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from library.models import Article
from search import index


class Command(BaseCommand):
    help = (
        "Rebuild the search index from every published article, in batches, and swap it "
        "in atomically. Shows progress on a terminal; --quiet prints nothing but errors."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing unless something goes wrong."
        )

    def handle(self, *args, **options) -> None:
        verbosity = 0 if options["quiet"] else options["verbosity"]
        progress = None
        if verbosity > 0 and self.stdout.isatty():
            progress = self._progress_bar(Article.objects.published(include_scheduled=True).count())
        try:
            for line in index.remove_abandoned():
                self.stdout.write(f"Removed {line}.")
            result = index.rebuild(progress=progress)
        except Exception as exc:
            raise CommandError(f"Rebuilding the search index failed: {exc}") from exc
        if progress is not None:
            progress(result.indexed)
            self.stdout.write("")  # end the progress line
        if verbosity > 0:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Indexed {result.indexed} articles in {result.seconds:.1f} s "
                    f"({result.rate:.0f} docs/s)"
                )
            )
            caught_up = result.caught_up
            if verbosity > 1 or caught_up.indexed or caught_up.removed:
                self.stdout.write(
                    f"Caught up with changes made during the rebuild: "
                    f"{caught_up.indexed} re-indexed, {caught_up.removed} removed."
                )

    def _progress_bar(self, total: int):
        started = time.monotonic()
        width = 30

        def progress(done: int) -> None:
            fraction = min(done / total, 1.0) if total else 1.0
            filled = int(width * fraction)
            rate = done / max(time.monotonic() - started, 1e-6)
            bar = "#" * filled + "-" * (width - filled)
            self.stdout.write(
                f"\r[{bar}] {done}/{total} {fraction:4.0%} {rate:6.0f} docs/s", ending=""
            )
            self.stdout.flush()

        return progress
