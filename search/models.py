"""What the index sync must remember between processes and runs.

Kept to two small tables: the articles whose last index update failed (so the failure
is repaired by `update_index` or `check_index --fix`, and shown in the admin), and the
time of the last successful `update_index` or `rebuild_index`.

`SearchEntry` describes the PostgreSQL backend's table (`search.backends.postgres`);
it is unmanaged because the table, its GIN indexes and the text-search configuration
exist only on PostgreSQL (migration 0002 creates them there and nothing on SQLite).
"""

from __future__ import annotations

from django.db import models
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


class SearchEntry(models.Model):
    """One published article in the PostgreSQL backend's index (read-only from Django).

    `vector` holds the weighted sections (title A, summary B, taxonomy names, aliases
    and tag names C, body D); the arrays are the facet slugs; `spelling` the folded,
    unstemmed words of the title (did-you-mean); `complete` the same words as one
    string (autocomplete); `summary` and `body` the text highlights are cut from.
    """

    article_id = models.BigIntegerField(primary_key=True)
    slug = models.TextField()
    title = models.TextField()
    published_on = models.DateField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "search_entry"

    def __str__(self) -> str:
        return self.title
