"""What the index sync must remember between processes and runs.

Kept to two small tables: the articles whose last index update failed (so the failure
is repaired by `update_index` or `check_index --fix`, and shown in the admin), and the
time of the last successful `update_index` or `rebuild_index`.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PendingIndexUpdate(models.Model):
    """An article whose index update failed after its transaction committed.

    `article_id` is not a foreign key: the failed update may be the removal of an
    article that no longer exists.
    """

    article_id = models.BigIntegerField(unique=True)
    failed_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["failed_at"]

    def __str__(self) -> str:
        return f"article {self.article_id} (failed {self.failed_at:%Y-%m-%d %H:%M})"


class IndexState(models.Model):
    """A single row: when the index was last brought up to date by a command."""

    last_update_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"index updated {self.last_update_at or 'never'}"
