"""Keeping the search index in step with the database, whatever engine is configured.

How a change reaches the index
------------------------------
Signal handlers (`search.signals`) only *record* which articles changed, through
`record_change()`. The first record in a transaction registers one
`transaction.on_commit` callback; everything recorded until the commit joins that
batch. After the commit the callback re-reads those articles from the database and
indexes the published ones and removes the rest (deleted, drafts) in one batch. A
rolled-back transaction (or savepoint) discards its callback, so the index never sees
rows that never existed. A `loaddata` of a thousand records is one batch.

Code that changes articles without signals - `QuerySet.update()`, `bulk_create()`,
raw SQL - must call `record_change(ids)` itself, in the same transaction. Prefer
also setting `updated_at` in such updates: `update_index` and `check_index` use it to
find stale documents.

Last save wins
--------------
Two processes saving the same article could otherwise read the database and write the
index in crossed order (P1 reads v1, P2 reads and writes v2, P1 writes v1). Every
"read the database, write the index" step therefore runs under the backend's sync lock
(`SearchBackend.sync_lock`: an `flock` in the index directory for Whoosh, advisory
locks for PostgreSQL), so whoever writes last also read last, after every commit
that preceded it. A Whoosh save that folds small segments re-reads their articles
through the same step (`documents_for`, passed to `SearchBackend.index` as its
`source`), under the same lock, so they are as current as the saved ones.

One batch per transaction, whatever the engine
----------------------------------------------
PostgreSQL keeps its index in the site's database, yet it syncs exactly as Whoosh
does: after the commit, in one batch. Syncing inside the saving transaction, once per
signal, cost up to four index writes per article of a `loaddata` (the article's raw
save, then its diseases, therapies and tags) and one transaction-scoped advisory lock
per article, every one held until the load's single transaction ended: a large
enough fixture ran out of PostgreSQL's shared lock table ("out of shared memory ...
max_locks_per_transaction"). Now the load's transaction takes no index lock at all,
and the after-commit sync locks at most one chunk (`CHUNK_SIZE` articles) at a time,
each chunk in its own short transaction.

Rebuilds while editors save
---------------------------
`rebuild()` builds a new index aside through the backend's atomic `rebuild()` without
holding the lock (editors' saves would wait for minutes otherwise). While it runs,
every sync also records its article ids in the backend's journal (deletions and
many-to-many changes included). After the swap, under the lock, the rebuild
re-syncs the journal, the queued failures and every article with `updated_at >= start`,
so nothing saved during the rebuild is lost.

Failures
--------
An index error never breaks an editor's save: the after-commit sync logs it
(logger "search") and stores the article ids as `PendingIndexUpdate` rows for the index
that failed (`SearchBackend.identity`: with Whoosh, each machine's own), which
`update_index` and `check_index --fix` retry and the admin counts with
`pending_update_count()`. The rows are written *before* the sync waits for the lock
and deleted once it succeeds, so a timeout, an error or a worker killed mid-wait
(gunicorn's timeout) still leaves the articles queued. A save waits at most
`SEARCH_REQUEST_LOCK_WAIT` seconds for the lock (and for the engine's own lock),
well under the web server's timeout; commands wait up to `LOCK_TIMEOUT`.

Killed rebuilds
---------------
A rebuild killed with SIGKILL leaves its marker and journal (and, in the backend, a
half-built index). `remove_abandoned()` - run by `rebuild_index`, `update_index` and
`check_index`, which print what it removed - deletes them once their owning process
is dead, and a sync that finds a dead owner's marker stops journaling.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.dispatch import Signal
from django.utils import timezone

from library.models import Article
from search.backends import get_backend
from search.backends.base import (
    SearchDocument,
    SearchUnavailable,
    waiting_at_most,
)
from search.backends.files import (  # noqa: F401 (re-exported: raised by index_lock, tests)
    LOCK_FILE,
    REBUILD_JOURNAL,
    REBUILD_MARKER,
    IndexLockTimeout,
)
from search.documents import CHUNK_SIZE, documents_for, iter_documents
from search.models import IndexState, PendingIndexUpdate

logger = logging.getLogger("search")

#: How long a command's sync waits for another process's sync before giving up.
LOCK_TIMEOUT = 60.0
#: The default of `settings.SEARCH_REQUEST_LOCK_WAIT`: how long a save's after-commit
#: sync waits for the locks before it gives up and leaves the articles queued.
REQUEST_LOCK_WAIT = 3.0


#: Sent (with `using` and `after_commit`) after the index was written: cached reader
#: pages move on (`pagecache.signals`).
index_changed = Signal()

# --- Recording changes -------------------------------------------------------

_state = threading.local()  # database connections are per thread, so batches are too


class _Batch:
    """The article ids recorded in one transaction, flushed by one on_commit callback."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.ids: set[int] = set()
        self.done = False

    def __call__(self) -> None:
        self.done = True
        ids, self.ids = self.ids, set()
        if ids:
            sync_after_commit(ids, using=self.using)

    def is_waiting(self) -> bool:
        """Whether our callback is still registered with the open transaction.

        Rolling back a savepoint discards the callbacks registered inside it; the ids
        recorded since then belong to the rolled-back work, so a fresh batch starts.
        """
        if self.done:
            return False
        connection = connections[self.using]
        return connection.in_atomic_block and any(
            func is self for _sids, func, _robust in connection.run_on_commit
        )


def record_change(article_ids: Iterable[int], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Note that these articles changed; they are re-indexed after the transaction commits.

    Call this after any change that sends no model signals, such as the admin's bulk
    publish action (`queryset.update(status=...)`) or `bulk_create()`. Outside a
    transaction (autocommit) the articles are synced at once. Never raises because of
    the index.
    """
    ids = {int(pk) for pk in article_ids if pk is not None}
    if not ids:
        return
    batches = _state.__dict__.setdefault("batches", {})
    batch = batches.get(using)
    if batch is not None and batch.is_waiting():
        batch.ids |= ids
        return
    batch = batches[using] = _Batch(using)
    batch.ids |= ids
    transaction.on_commit(batch, using=using)


def request_lock_wait() -> float:
    """Seconds a save waits for the index locks (`SEARCH_REQUEST_LOCK_WAIT`)."""
    return float(getattr(settings, "SEARCH_REQUEST_LOCK_WAIT", REQUEST_LOCK_WAIT))


def sync_after_commit(article_ids: Iterable[int], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """`update_articles()`, but an index failure is logged and queued instead of raised.

    The articles are queued first, so that nothing is lost if this process dies
    while it waits; waiting is bounded by `request_lock_wait()`.
    """
    ids = set(article_ids)
    _queue(ids, "", using=using)
    wait = request_lock_wait()
    try:
        with waiting_at_most(wait):
            update_articles(ids, using=using, lock_wait=wait, after_commit=True)
    except Exception as exc:
        logger.exception(
            "Search index update failed for %d article(s) %s; queued for update_index",
            len(ids),
            _sample(ids),
        )
        _remember_failure(ids, exc, using=using)


def _remember_failure(ids: set[int], exc: Exception, *, using: str) -> None:
    _queue(ids, f"{type(exc).__name__}: {exc}"[:2000], using=using)


def _queue(ids: set[int], error: str, *, using: str) -> None:
    """Upsert `PendingIndexUpdate` rows; an empty error means "sync under way"."""
    now = timezone.now()
    try:
        index = get_backend().identity
        PendingIndexUpdate.objects.using(using).bulk_create(
            [
                PendingIndexUpdate(index=index, article_id=pk, failed_at=now, error=error)
                for pk in ids
            ],
            update_conflicts=True,
            unique_fields=["index", "article_id"],
            update_fields=["failed_at", "error"],
        )
    except Exception:
        logger.exception("Could not queue articles %s for re-indexing", _sample(ids))


def pending_update_count(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """How many articles wait for a failed update of this machine's index (for the admin)."""
    return _pending(using).count()


def pending_article_ids(*, using: str = DEFAULT_DB_ALIAS) -> set[int]:
    return set(_pending(using).values_list("article_id", flat=True))


def _pending(using: str):
    """The queued failures of the configured index, not of another machine's."""
    return PendingIndexUpdate.objects.using(using).filter(index=get_backend().identity)


# --- The lock ------------------------------------------------------------------


@contextlib.contextmanager
def index_lock(timeout: float | None = None, ids: Iterable[int] | None = None) -> Iterator[None]:
    """Hold the backend's cross-process sync lock; re-entrant within a thread.

    Waits up to `timeout` seconds (default `LOCK_TIMEOUT`), then raises
    `IndexLockTimeout` so a stuck process cannot hang every web worker. `ids` lets
    a backend lock only those articles.
    """
    if getattr(_state, "lock_depth", 0):
        _state.lock_depth += 1
        try:
            yield
        finally:
            _state.lock_depth -= 1
        return
    with get_backend().sync_lock(ids, LOCK_TIMEOUT if timeout is None else timeout):
        _state.lock_depth = 1
        try:
            yield
        finally:
            _state.lock_depth = 0


# --- Syncing -------------------------------------------------------------------


@dataclass
class SyncResult:
    indexed: int = 0
    removed: int = 0

    def __iadd__(self, other: SyncResult) -> SyncResult:
        self.indexed += other.indexed
        self.removed += other.removed
        return self


def update_articles(
    article_ids: Iterable[int],
    *,
    using: str = DEFAULT_DB_ALIAS,
    chunk_size: int | None = None,
    lock_wait: float | None = None,
    after_commit: bool = False,
) -> SyncResult:
    """Make the index agree with the database for these articles; raise on index errors.

    Published articles are (re)indexed from their current database state; every other
    id (deleted, draft) is removed. The ids go in chunks of `chunk_size` (default
    `CHUNK_SIZE`): each chunk reads and writes under the sync lock for just its own
    articles, waiting for it up to `lock_wait` seconds (default `LOCK_TIMEOUT`), so
    however many articles changed, a sync locks at most one chunk of them at a time.
    Successfully synced ids leave the pending queue, except rows queued after this
    sync read the database (a save committed meanwhile, whose own sync will clear them).
    `index_changed` is sent once any chunk was written, even if a later one failed,
    with `after_commit` as given (`sync_after_commit`: the sync of the transaction that
    just committed in this thread).
    """
    chunk_size = chunk_size or CHUNK_SIZE
    ids = sorted({int(pk) for pk in article_ids if pk is not None})
    backend = get_backend()
    result = SyncResult()
    written = False
    try:
        for start in range(0, len(ids), chunk_size):
            chunk = ids[start : start + chunk_size]
            with index_lock(lock_wait, ids=chunk):
                read_at = timezone.now()
                documents = list(documents_for(chunk, chunk_size=chunk_size))
                gone = set(chunk) - {doc.id for doc in documents}
                if documents:
                    result.indexed += backend.index(documents, source=documents_for)
                if gone:
                    result.removed += backend.remove(sorted(gone))
                backend.journal(chunk)
            written = True
            _pending(using).filter(article_id__in=chunk, failed_at__lte=read_at).delete()
    finally:
        if written:
            index_changed.send(sender=update_articles, using=using, after_commit=after_commit)
    return result


# --- Comparing database and index ---------------------------------------------


@dataclass
class IndexDiff:
    """How the index differs from the published articles in the database."""

    database_count: int
    index_count: int
    missing: set[int] = field(default_factory=set)  # published, not indexed
    stale: set[int] = field(default_factory=set)  # indexed with another updated_at
    orphaned: set[int] = field(default_factory=set)  # indexed, not published (or gone)
    index_exists: bool = True
    damage: str | None = None  # why the index cannot be read, when it cannot
    damaged_files: list[str] = field(default_factory=list)  # read around (`damaged_files`)

    @property
    def in_sync(self) -> bool:
        return (
            self.index_exists
            and self.damage is None
            and not (self.missing or self.stale or self.orphaned or self.damaged_files)
        )

    @property
    def ids(self) -> set[int]:
        return self.missing | self.stale | self.orphaned


def _as_utc(value: datetime.datetime) -> datetime.datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    return value.astimezone(datetime.UTC)


def same_instant(a: datetime.datetime | None, b: datetime.datetime | None) -> bool:
    """Equal to the millisecond, whatever time zone (or none) each side carries.

    Engines store times at different precisions; a millisecond is finer than any two
    saves of one article by a person or a script worth telling apart.
    """
    if a is None or b is None:
        return a is b
    return abs(_as_utc(a) - _as_utc(b)) < datetime.timedelta(milliseconds=1)


def compare() -> IndexDiff:
    """Published articles in the database against the documents in the index.

    An index that exists but cannot be read (a truncated or missing file) is not an
    error here: the diff says so in `damage`, for the commands to report; nor is a file
    that searches read around (`SearchBackend.damaged_files`), listed in `damaged_files`.
    """
    backend = get_backend()
    damage = None
    damaged_files: list[str] = []
    with index_lock():
        database = dict(
            Article.objects.published(include_scheduled=True).values_list("pk", "updated_at")
        )
        exists = backend.exists()
        try:
            indexed = backend.indexed() if exists else {}
            damaged_files = backend.damaged_files() if exists else []
        except SearchUnavailable as exc:
            damage = str(exc.__cause__ or exc) or type(exc).__name__
            indexed = {}
    if damage is not None:
        return IndexDiff(database_count=len(database), index_count=0, damage=damage)
    return IndexDiff(
        database_count=len(database),
        index_count=len(indexed),
        missing=set(database) - set(indexed),
        stale={
            pk
            for pk, updated_at in indexed.items()
            if pk in database and not same_instant(updated_at, database[pk])
        },
        orphaned=set(indexed) - set(database),
        index_exists=exists,
        damaged_files=damaged_files,
    )


def update_changed(since: datetime.datetime | None = None) -> SyncResult:
    """Bring the index up to date without rebuilding it.

    Re-syncs the queued failures, every article saved at or after `since` (even if
    the index looks current: that is what asking for a date means), and whatever
    `compare()` finds missing, stale or orphaned. Raises `IndexDamaged` when the index
    cannot be read (only a rebuild can repair that).
    """
    ids = pending_article_ids()
    if since is not None:
        ids |= set(Article.objects.filter(updated_at__gte=since).values_list("pk", flat=True))
    diff = compare()
    if diff.damage is not None:
        raise IndexDamaged(diff.damage)
    ids |= diff.ids
    return update_articles(ids)


class IndexDamaged(SearchUnavailable):
    """The index cannot be read, so it cannot be updated in place: it must be rebuilt."""

    def __str__(self) -> str:
        return (
            f"the search index is damaged and cannot be read ({self.args[0]}); "
            "run `python manage.py check_index --fix` (or `rebuild_index`) to rebuild it"
        )


def mark_updated(when: datetime.datetime) -> None:
    """Remember when the last full update started, for the next `update_index`."""
    IndexState.objects.update_or_create(pk=1, defaults={"last_update_at": when})


def last_updated() -> datetime.datetime | None:
    return IndexState.objects.filter(pk=1).values_list("last_update_at", flat=True).first()


# --- Rebuilding ------------------------------------------------------------------


@dataclass
class RebuildResult:
    indexed: int
    seconds: float
    caught_up: SyncResult

    @property
    def rate(self) -> float:
        return self.indexed / self.seconds if self.seconds > 0 else float(self.indexed)


def rebuild(progress: Callable[[int], None] | None = None) -> RebuildResult:
    """Replace the index with every published article, then catch up with saves made
    meanwhile. `progress` is called with the number of documents built so far."""
    backend = get_backend()
    with index_lock():
        started = timezone.now()
        backend.start_journal()
    began = time.monotonic()
    try:
        documents: Iterator[SearchDocument] = iter_documents()
        if progress is not None:
            documents = _reporting(documents, progress)
        count = backend.rebuild(documents)
        index_changed.send(sender=rebuild, using=DEFAULT_DB_ALIAS)
        seconds = time.monotonic() - began
        with index_lock():
            ids = backend.read_journal() | pending_article_ids()
            ids |= set(Article.objects.filter(updated_at__gte=started).values_list("pk", flat=True))
            # Deliberately no compare(): every recorded change is in the journal, and
            # reading the whole index here would cost a full scan (and keep a reader
            # open in this process). Unrecorded changes are check_index's job.
            caught_up = update_articles(ids)
            backend.end_journal()
    except BaseException:
        with index_lock():
            backend.end_journal()
        raise
    mark_updated(started)
    return RebuildResult(indexed=count, seconds=seconds, caught_up=caught_up)


def _reporting(
    documents: Iterator[SearchDocument], progress: Callable[[int], None]
) -> Iterator[SearchDocument]:
    for count, document in enumerate(documents, start=1):
        yield document
        if count % 100 == 0:
            progress(count)


def advice() -> list[str]:
    """The backend's suggestions for a working index (`SearchBackend.advice`); none
    when the index cannot be read, which `compare()` reports instead."""
    try:
        return get_backend().advice()
    except SearchUnavailable:
        return []


def remove_abandoned() -> list[str]:
    """Remove what a rebuild killed mid-way left: its journal (the backend's: files or
    rows), and the backend's half-built index. Returns one line per thing removed,
    for the commands.

    Only leftovers whose process is dead on this machine are removed; the live index
    is the old, complete one, so nothing needs replaying.
    """
    removed = []
    with index_lock():
        line = get_backend().clear_abandoned_rebuild()
        if line:
            removed.append(line)
    removed += get_backend().remove_abandoned()
    for line in removed:
        logger.warning("Removed %s", line)
    return removed


def _sample(ids: Iterable[int], limit: int = 20) -> str:
    ordered = sorted(ids)
    text = ", ".join(map(str, ordered[:limit]))
    return text + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")
