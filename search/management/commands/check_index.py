"""Compare the search index with the database and report every difference.

Exits with status 1 when they differ, so monitoring and deploy scripts can act on it:
published articles missing from the index, documents older than their article
(stale), documents for articles that are gone or unpublished (orphaned), and updates
that failed after a save and wait to be retried, and files that searches read around
because they fail their checks (a damaged postings file), one line each. `--fix`
repairs all of them: it rebuilds an index that cannot be read at all (a truncated or
missing file), that has damaged files, or that the backend advises rebuilding (such
as postings files of another version), since a rebuild from the database rewrites
every file and trusts none of the old ones. Leftovers of a rebuild that was killed
are removed first, and listed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from library.models import Article
from search import index

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Compare the search index with the published articles; exit 1 if they differ. "
        "--fix repairs the differences."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Repair the differences found, then re-check."
        )

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        try:
            for line in index.remove_abandoned():
                self._say(f"Removed {line}.")
        except Exception as exc:
            raise CommandError(f"Could not check the search index: {exc}") from exc
        diff, pending, advice = self._check()
        if diff.in_sync and not pending and not (options["fix"] and advice):
            self._say(
                self.style.SUCCESS(
                    f"The search index matches the database: {diff.database_count} "
                    "published articles indexed."
                )
            )
            return
        if not options["fix"]:
            raise CommandError(self._summary(diff, pending), returncode=1)
        try:
            if diff.index_exists and diff.damage is None and not diff.damaged_files and not advice:
                result = index.update_changed()
            else:
                rebuilt = index.rebuild()
                result = rebuilt.caught_up
                result.indexed += rebuilt.indexed
        except Exception as exc:
            raise CommandError(f"Repairing the search index failed: {exc}") from exc
        self._say(f"Fixed: {result.indexed} indexed, {result.removed} removed.")
        diff, pending, _advice = self._check()
        if not diff.in_sync or pending:
            raise CommandError(
                "The index still differs after --fix: " + self._summary(diff, pending),
                returncode=1,
            )
        self._say(self.style.SUCCESS("The search index now matches the database."))

    def _check(self) -> tuple[index.IndexDiff, set[int], list[str]]:
        """Compare and report; the diff, the failed updates and the backend's advice."""
        try:
            diff = index.compare()
            pending = index.pending_article_ids()
        except Exception as exc:
            raise CommandError(f"Could not check the search index: {exc}") from exc
        if diff.damage is not None:
            self._say(
                f"The search index cannot be read: it is damaged (a file is missing, "
                f"truncated or corrupt: {diff.damage}). Readers are told search is "
                "temporarily unavailable; browsing still works from the database."
            )
            return diff, pending, []
        self._say(
            f"Database: {diff.database_count} published articles. "
            f"Index: {diff.index_count} documents."
        )
        if not diff.index_exists:
            self._say("The index does not exist yet: run `manage.py rebuild_index`.")
        for line in diff.damaged_files:
            self._say(line)
        advice = index.advice()
        for line in advice:
            self._say(line)
        slugs = dict(Article.objects.filter(pk__in=diff.ids | pending).values_list("pk", "slug"))
        self._list("Missing from the index", diff.missing, slugs)
        self._list("Stale in the index (older than the article)", diff.stale, slugs)
        self._list("Orphaned in the index (not a published article)", diff.orphaned, slugs)
        self._list("Failed updates waiting to be retried", pending, slugs)
        return diff, pending, advice

    def _list(self, title: str, ids: set[int], slugs: dict[int, str]) -> None:
        if not ids:
            return
        ordered = sorted(ids)
        shown = ordered if self.verbosity > 1 else ordered[:SHOWN]
        names = [slugs.get(pk, f"#{pk}") + ("" if pk not in slugs else f" (#{pk})") for pk in shown]
        more = len(ordered) - len(shown)
        self._say(
            f"{title} ({len(ordered)}): {', '.join(names)}" + (f" and {more} more" if more else "")
        )

    def _summary(self, diff: index.IndexDiff, pending: set[int]) -> str:
        parts = [
            f"{len(diff.missing)} missing",
            f"{len(diff.stale)} stale",
            f"{len(diff.orphaned)} orphaned",
            f"{len(pending)} failed update(s) pending",
        ]
        if diff.damage is not None:
            return (
                "The search index is damaged and cannot be read. "
                "Run `manage.py check_index --fix` (or `manage.py rebuild_index`) to rebuild it."
            )
        if diff.damaged_files:
            found = f"{len(diff.damaged_files)} damaged file(s), which searches read around"
            if diff.ids or pending:
                found += f", and differs from the database: {', '.join(parts)}"
            them = "it" if len(diff.damaged_files) == 1 else "them"
            return (
                f"The search index has {found}. "
                f"Run `manage.py check_index --fix` (or `manage.py rebuild_index`) to rewrite {them}."
            )
        prefix = "" if diff.index_exists else "the index does not exist; "
        return (
            f"The search index differs from the database: {prefix}{', '.join(parts)}. "
            "Run `manage.py check_index --fix` or `manage.py update_index`."
        )

    def _say(self, message: str) -> None:
        if self.verbosity > 0:
            self.stdout.write(message)
