"""The content generation: one row whose counter moves on every change a reader could see.

Every cached page is stored under the generation it was rendered at, and each request
reads the row once (`Generation.objects.current()`), so all web machines switch to the
new pages at the same instant, with nothing broadcast between them. `epoch` is random,
set when the row is created: a database that is emptied and refilled (a test flush, a
restore into a fresh database) starts a new epoch, and a counter that starts again at 1
cannot meet pages cached under an old 1. Without a row nothing is cached at all.

The counter moves by `bump()`: one UPSERT (`INSERT … ON CONFLICT DO UPDATE`, in SQLite
3.24+ and PostgreSQL), so concurrent bumps never lose one. Callers bump after the change
committed (`pagecache.signals`): see that module for why.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.db import connections, models, router
from django.utils import timezone

ROW_ID = 1


@dataclass(frozen=True)
class State:
    """What the site's reader pages were built from: the counter and when it last moved."""

    epoch: str
    value: int
    changed_at: datetime.datetime

    @property
    def token(self) -> str:
        return f"{self.epoch}.{self.value}"


class GenerationManager(models.Manager):
    def current(self) -> State | None:
        """The generation, in one query; None if the row does not exist (cache nothing).

        Read from the database that `router.db_for_read(Generation)` names ("default"
        without a router): it must be the one the rest of the request reads its pages
        from, or a page could be built from older rows than the generation says.
        """
        using = router.db_for_read(self.model)
        row = self.db_manager(using).filter(pk=ROW_ID).values_list("epoch", "value", "changed_at")
        found = list(row)
        return State(*found[0]) if found else None

    def bump(self, using: str | None = None) -> None:
        """Move the counter by one now (creating the row with a new epoch if missing)."""
        using = using or router.db_for_write(self.model)
        connection = connections[using]
        table = connection.ops.quote_name(self.model._meta.db_table)
        sql = (
            f"INSERT INTO {table} (id, epoch, value, changed_at) VALUES (%s, %s, 1, %s) "
            f"ON CONFLICT (id) DO UPDATE SET value = {table}.value + 1, "
            "changed_at = excluded.changed_at"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [ROW_ID, new_epoch(), timezone.now()])


def new_epoch() -> str:
    return secrets.token_hex(8)


class Generation(models.Model):
    """A single row (id 1): the content generation."""

    epoch = models.CharField(max_length=32, default=new_epoch)
    value = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)

    objects = GenerationManager()

    def __str__(self) -> str:
        return f"content generation {self.value} ({self.epoch})"
