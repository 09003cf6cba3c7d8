"""What the index sync must remember between processes and runs.

Kept to small tables: the articles whose last index update failed (so the failure
is repaired by `update_index` or `check_index --fix`, and shown in the admin), and the
time of the last successful `update_index` or `rebuild_index`; and the aggregated
search terms editors use to keep synonyms (`SearchTerm`).

The PostgreSQL backend's own tables (`search_entry` and the rest) have no models: only
`search.backends.postgres` reads or writes them, in SQL that Django's expressions cannot
say (an upsert of whole chunks from arrays, per-unit tsqueries); migration 0003 creates
them on PostgreSQL only, and 0004 dropped an unused, partial model of `search_entry`.
"""

from __future__ import annotations

import datetime

from django.db import connections, models
from django.utils import timezone


class PendingIndexUpdate(models.Model):
    """An article whose index update failed after its transaction committed.

    `article_id` is not a foreign key: the failed update may be the removal of an
    article that no longer exists.
    """

    # The index the update failed for (`SearchBackend.identity`): with Whoosh each web
    # machine has its own index, so one machine's failure is not another's to retry.
    index = models.CharField(max_length=200, default="default")
    article_id = models.BigIntegerField()
    failed_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["failed_at"]
        constraints = [
            models.UniqueConstraint(fields=["index", "article_id"], name="search_pending_per_index")
        ]

    def __str__(self) -> str:
        return f"article {self.article_id} (failed {self.failed_at:%Y-%m-%d %H:%M})"


class IndexState(models.Model):
    """A single row: when the index was last brought up to date by a command."""

    last_update_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"index updated {self.last_update_at or 'never'}"


# --- What readers search for (issue 10) -------------------------------------------

MAX_TERM_LENGTH = 200


def normalise_query(text: str) -> str:
    """The form searches are aggregated under: case-folded, spaces collapsed, cut."""
    return " ".join((text or "").casefold().split())[:MAX_TERM_LENGTH]


class SearchTermQuerySet(models.QuerySet):
    def record(self, text: str, results: int) -> None:
        """Count one search for `text` that found `results` articles: one UPSERT.

        `INSERT … ON CONFLICT DO UPDATE` exists in SQLite (3.24+) and PostgreSQL; the
        increment happens in the database, so concurrent searches never lose a count.
        """
        query = normalise_query(text)
        if not query:
            return
        connection = connections[self.db]
        table = connection.ops.quote_name(self.model._meta.db_table)
        now = timezone.now()
        sql = (
            f"INSERT INTO {table} (query, count, zero_result_count, last_results, last_seen) "
            "VALUES (%s, 1, %s, %s, %s) ON CONFLICT (query) DO UPDATE SET "
            f"count = {table}.count + 1, "
            f"zero_result_count = {table}.zero_result_count + excluded.zero_result_count, "
            "last_results = excluded.last_results, last_seen = excluded.last_seen"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [query, int(results == 0), results, now])

    def older_than(self, days: int) -> SearchTermQuerySet:
        return self.filter(last_seen__lt=timezone.now() - datetime.timedelta(days=days))


class SearchTerm(models.Model):
    """How often readers searched for one normalised query, and whether it found anything.

    Aggregates only: no IP address, user, session or time of each search is stored
    (health searches are sensitive). Rows not seen for `SEARCH_TERMS_RETENTION_DAYS`
    are deleted by `prune_search_terms`.
    """

    query = models.CharField(max_length=MAX_TERM_LENGTH, unique=True)
    count = models.PositiveIntegerField(default=0, db_index=True)
    zero_result_count = models.PositiveIntegerField(
        default=0, help_text="How many of those searches found nothing."
    )
    last_results = models.PositiveIntegerField(default=0, help_text="Articles found the last time.")
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    objects = SearchTermQuerySet.as_manager()

    class Meta:
        ordering = ["-count", "query"]

    def __str__(self) -> str:
        return self.query
