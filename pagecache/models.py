"""The content generation: one row whose counters move on every change a reader could see.

Every cached page is stored with the counters it was rendered at, and each request reads
the row once (`Generation.objects.current()`), so all web machines switch to the new
pages at the same instant, with nothing broadcast between them. `epoch` is random, set
when the row is created: a database that is emptied and refilled (a test flush, a
restore into a fresh database) starts a new epoch, and a counter that starts again at 1
cannot meet pages cached under an old 1. Without a row nothing is cached at all.

Three counters, because most edits change what a few pages show, not which articles
the site lists, and change the searches only once the search index holds them:
- `value` moves on every change (`pagecache.signals`). Pages that show something of
  every article and cannot list the rows they showed (the sitemap) are valid only
  under the value they were built at.
- `search` moves on every change except the commit of an article's text edit (and its
  revision row), which moves it once the search index holds the new text: what a
  search finds, in what order and with what scores comes from the index. Results pages
  and the search API are valid under the search counter they were built at *and*
  while every article row they showed is unchanged (as listing pages, below), so
  an edit's commit retires at once the results that show the edited article, and its
  index write retires every search.
- `listing` moves only on changes that can alter which articles a listing holds, in
  what order, or under which terms: an article created, deleted, published or
  unpublished, retitled, re-slugged, re-dated or re-filed, and every taxonomy change.
  A text edit (summary, body, notes, review dates) leaves it. Listing pages (lists,
  topic pages, article pages) are valid under the listing they were built at *and*
  while every article row they showed is unchanged: `current(article_ids)` reads those
  rows' `updated_at` in the same single statement as the counters. Every move of
  `listing` moves `search` too.

The counters move by `bump()`: one UPSERT (`INSERT … ON CONFLICT DO UPDATE`, in SQLite
3.24+ and PostgreSQL), so concurrent bumps never lose one. Callers bump after the change
committed (`pagecache.signals`): see that module for why.
"""

from __future__ import annotations

import contextvars
import datetime
import functools
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connections, models, router
from django.utils import timezone
from django.utils.dateparse import parse_datetime

ROW_ID = 1


@functools.lru_cache(maxsize=1 << 16)
def instant(value: datetime.datetime | str | None) -> str:
    """A stored time as one comparable text, whatever the driver returned (PostgreSQL an
    aware datetime, SQLite's raw cursor a naive UTC text), to the microsecond.

    Remembered per value (equal values give equal texts): every cache hit compares the
    rows its page showed, the same few thousand times over, and this spares parsing and
    formatting each of them on every request."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    return value.astimezone(datetime.UTC).isoformat()


@dataclass(frozen=True)
class State:
    """What the site's reader pages were built from: the counters, when they last moved,
    and the `updated_at` of the article rows asked for (by id, as `instant()` text)."""

    epoch: str
    value: int
    listing: int
    changed_at: datetime.datetime
    rows: dict[int, str] = field(default_factory=dict)
    search: int = 0

    @property
    def token(self) -> str:
        """Every change: the key of pages built from all articles' text."""
        return f"{self.epoch}.{self.value}"

    @property
    def listing_token(self) -> str:
        """Listing changes only: with the rows a page showed, the key of listing pages."""
        return f"{self.epoch}.L{self.listing}"

    @property
    def search_token(self) -> str:
        """Changes to what the index finds: with the rows a page showed, the key of
        results pages and search answers."""
        return f"{self.epoch}.S{self.search}"


#: The generation the page cache's middleware read for the request being served, so that
#: code keyed on it during that request (`search.vocabulary`) does not read it again.
request_state: contextvars.ContextVar[State | None] = contextvars.ContextVar(
    "request_generation", default=None
)


class GenerationManager(models.Manager):
    def current(self, article_ids: Iterable[int] = ()) -> State | None:
        """The counters and these articles' `updated_at`, in one query; None if the row
        does not exist (cache nothing). A deleted article is simply absent from `rows`.

        Read from the database that `router.db_for_read(Generation)` names ("default"
        without a router): it must be the one the rest of the request reads its pages
        from, or a page could be built from older rows than the generation says.
        """
        using = router.db_for_read(self.model)
        connection = connections[using]
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        ids = sorted({int(pk) for pk in article_ids})
        columns = "g.epoch, g.value, g.listing, g.changed_at, g.search"
        if ids:
            article = apps.get_model("library", "Article")._meta.db_table
            marks = ", ".join(["%s"] * len(ids))
            sql = (
                f"SELECT {columns}, a.id, a.updated_at FROM {table} g "
                f"LEFT JOIN {quote(article)} a ON a.id IN ({marks}) WHERE g.id = %s"
            )
        else:
            sql = f"SELECT {columns} FROM {table} g WHERE g.id = %s"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*ids, ROW_ID])
            found = cursor.fetchall()
        if not found:
            return None
        epoch, value, listing, changed_at, search = found[0][:5]
        if isinstance(changed_at, str):
            changed_at = parse_datetime(changed_at)
        if timezone.is_naive(changed_at):
            changed_at = timezone.make_aware(changed_at, datetime.UTC)
        rows = {row[5]: instant(row[6]) for row in found if ids and row[5] is not None}
        return State(epoch, int(value), int(listing), changed_at, rows, int(search))

    def bump(self, using: str | None = None, *, listing: bool = True, search: bool = True) -> None:
        """Move `value` by one now, `search` and `listing` too unless told otherwise (a
        listing move is always a search move), creating the row with a new epoch if
        missing."""
        using = using or router.db_for_write(self.model)
        connection = connections[using]
        table = connection.ops.quote_name(self.model._meta.db_table)
        step = 1 if listing else 0
        search_step = 1 if search or listing else 0
        sql = (
            f"INSERT INTO {table} (id, epoch, value, listing, search, changed_at) "
            "VALUES (%s, %s, 1, 1, 1, %s) "
            f"ON CONFLICT (id) DO UPDATE SET value = {table}.value + 1, "
            f"listing = {table}.listing + {step}, search = {table}.search + {search_step}, "
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
    listing = models.BigIntegerField(default=1)
    search = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)

    objects = GenerationManager()

    def __str__(self) -> str:
        return (
            f"content generation {self.value}, listing {self.listing}, search {self.search} "
            f"({self.epoch})"
        )
