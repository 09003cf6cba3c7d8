"""Move the content generation after every change a reader could see, once it committed.

What moves it (`value`, and `search` and `listing` too unless said otherwise; see
`pagecache.models`):
- saves and deletions of any model of the content apps (`CONTENT_APPS`: articles,
  diseases, therapies, tags, tag redirects, revisions, and whatever models those apps
  gain, such as search intents or editors' picks), raw (fixture) saves included, so a
  `loaddata` or a revision revert moves it too; models that only record reader
  activity or index bookkeeping (`NOT_CONTENT`) do not;
- an article saved with only its text changed (`TEXT_FIELDS`: summary, body, notes,
  sources, review dates) and the revision rows written beside every article save
  (`is_text_only`) move `value` alone at their commit: the listings hold the same
  articles in the same order, the search index does not hold the new text yet, and the
  pages that show the edited article (listings and results alike) see its new
  `updated_at`; the index write that follows moves `search` (below);
- many-to-many changes of those apps, from either side;
- `library.signals.articles_bulk_changed` (bulk publish) and
  `library.signals.content_written` (`QuerySet.update()`, `bulk_create()`,
  `bulk_update()` of articles and terms, which send no model signals);
- `search.index.index_changed`: the search index was written (after an editor's save,
  `update_index`, `rebuild_index`, `check_index --fix`): `value` and `search` (and
  `listing` if the transaction changed a listing, or if a command wrote it);
- `post_migrate` (a migration may rewrite content).
A scheduled article's day arriving needs no bump: the day is part of every cache key
(`pagecache.middleware`).

Why after the commit, and after the index: a reader who read the new counters must find
the new rows, in the database and in the search index (browsing and search read the
index; PostgreSQL's is in the same database but, like Whoosh's, written by a sync that
runs after the commit, in transactions of its own: `search.index`). If a counter moved
inside the editor's transaction, a reader could read it after that commit but before
the sync, and cache pages from the old index under the new counters for good. So the
bump is a `transaction.on_commit` callback (one per transaction, however many rows
change), and the index sync's `index_changed` (sent `after_commit=True`) moves the same
counters once the index is written: the last move always follows every write a page
reads, whichever of the two callbacks Django runs first (when the sync ran first, the
transaction's own callback need not move them again). A reader who read the old
counters and then renders new rows stores a newer page under older counters, which no
request made after the bump accepts. A rolled-back transaction never bumps. Outside a
transaction the bump is immediate.
"""

from __future__ import annotations

import logging
import threading

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_migrate,
    post_save,
    pre_save,
)

from library.models import Article
from library.signals import articles_bulk_changed, content_written
from pagecache.models import Generation
from search.index import index_changed

logger = logging.getLogger(__name__)

CONTENT_APPS = ("library", "search")
# Written while readers read (search terms) or by the index bookkeeping: never shown
# on a reader page, so their writes must not empty the cache.
NOT_CONTENT = {"search.searchterm", "search.pendingindexupdate", "search.indexstate"}
# Article fields that no listing reads from the index or sorts or filters by: a save that
# changes only these moves `value` alone. Any other field (and any new one) counts as a
# listing change.
TEXT_FIELDS = frozenset(
    {
        "summary", "body", "editor_note", "key_points", "further_reading", "source_name",
        "source_url", "source_keywords", "update_note", "updated_at", "last_reviewed_on",
        "reviewed_by", "next_review_due",
    }
)  # fmt: skip

_state = threading.local()  # connections are per thread, so pending bumps are too


class _Bump:
    """The one on_commit callback of a transaction on one database.

    If the generation already moved in this thread since the callback was registered
    (and `search` and `listing` too, when this transaction changed them), that move came
    after the commit (callbacks only run once it is done), from the index sync that ran
    first: one move per save is enough.
    """

    def __init__(self, using: str, listing: bool, search: bool) -> None:
        self.using = using
        self.listing = listing
        self.search = search or listing
        self.done = False
        self.moves_seen = _moves()

    def __call__(self) -> None:
        self.done = True
        moved, listing_moved, search_moved = (
            now != then for now, then in zip(_moves(), self.moves_seen, strict=True)
        )
        if not moved or (self.listing and not listing_moved) or (self.search and not search_moved):
            bump_now(self.using, listing=self.listing, search=self.search)

    def is_waiting(self) -> bool:
        """Still registered with the open transaction (a rolled-back savepoint drops it)."""
        connection = connections[self.using]
        return (
            not self.done
            and connection.in_atomic_block
            and any(func is self for _sids, func, _robust in connection.run_on_commit)
        )


def _moves() -> tuple[int, int, int]:
    """How many times this thread has moved the generation, its listing counter and its
    search counter."""
    return _state.__dict__.get("moves", (0, 0, 0))


def bump_now(using: str = DEFAULT_DB_ALIAS, *, listing: bool = True, search: bool = True) -> None:
    """Move the generation at once; a failure is logged, never raised into a save."""
    try:
        Generation.objects.bump(using, listing=listing, search=search)
        moves, listing_moves, search_moves = _moves()
        _state.moves = (
            moves + 1,
            listing_moves + int(listing),
            search_moves + int(search or listing),
        )
    except Exception:
        logger.exception("Could not move the content generation: cached pages may be stale")


def bump_after_commit(
    using: str = DEFAULT_DB_ALIAS, *, listing: bool = True, search: bool = True
) -> None:
    """Move the generation when the current transaction commits (at once outside one)."""
    pending = _state.__dict__.setdefault("pending", {})
    bump = pending.get(using)
    if bump is not None and bump.is_waiting():
        bump.listing |= listing
        bump.search |= search or listing
        return
    bump = pending[using] = _Bump(using, listing, search)
    transaction.on_commit(bump, using=using)


def content_changed(using: str, *, listing: bool = True, search: bool = True) -> None:
    """A change in the current transaction: bump after its commit. A listing change is
    also remembered for the index sync that follows the commit (`index_synced`), which
    must move `listing` again once the index holds it. A text edit (`search=False`)
    leaves `search` to that index sync."""
    if listing:
        _state.listing_pending = True
    bump_after_commit(using, listing=listing, search=search)


def is_content(model) -> bool:
    meta = model._meta
    return meta.app_label in CONTENT_APPS and meta.label_lower not in NOT_CONTENT


def is_text_only(model) -> bool:
    """Revision rows (django-simple-history's `Historical…` models): written with every
    article save, shown only on that article's own page, which its new `updated_at`
    already retires."""
    return model._meta.model_name.startswith("historical")


def model_changed(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if is_content(sender):
        text_only = is_text_only(sender)
        content_changed(using, listing=not text_only, search=not text_only)


def article_saving(sender, instance: Article, raw: bool, using: str, **kwargs) -> None:
    """Note what a listing reads of the article as stored, to compare after the save."""
    instance.__dict__.pop("_pagecache_listed", None)
    if raw or instance._state.adding or instance.pk is None:
        return
    fields = listing_fields()
    stored = Article._base_manager.using(using).filter(pk=instance.pk).values(*fields).first()
    instance._pagecache_listed = stored


def article_saved(
    sender, instance: Article, created: bool, raw: bool, using: str, **kwargs
) -> None:
    stored = instance.__dict__.pop("_pagecache_listed", None)
    listing = (
        raw
        or created
        or stored is None
        or any(getattr(instance, name) != value for name, value in stored.items())
    )
    content_changed(using, listing=listing, search=listing)


def listing_fields() -> list[str]:
    """The article's columns (attnames) other than `TEXT_FIELDS`."""
    return [
        field.attname for field in Article._meta.concrete_fields if field.name not in TEXT_FIELDS
    ]


def relation_changed(sender, action: str, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if action.startswith("post_") and is_content(sender):
        content_changed(using)


def changed(sender=None, using: str | None = None, **kwargs) -> None:
    content_changed(using or DEFAULT_DB_ALIAS)


def index_synced(
    sender=None, using: str | None = None, after_commit: bool = False, **kwargs
) -> None:
    """The index was written. After a transaction's commit, move what that transaction
    changed (`search`, and its listing too if it changed one) now that the index holds
    it; a command's write (`update_index`, `rebuild_index`) may have changed anything."""
    listing = not after_commit or _state.__dict__.pop("listing_pending", False)
    bump_after_commit(using or DEFAULT_DB_ALIAS, listing=listing)


def migrated(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if sender.label in CONTENT_APPS:
        content_changed(using)


def connect() -> None:
    """Called once from `PageCacheConfig.ready()`. Model signals are connected per content
    model (not to every sender) so that other models keep Django's fast deletes."""
    for label in CONTENT_APPS:
        for model in apps.get_app_config(label).get_models():
            if is_content(model):
                uid = f"pagecache.{model._meta.label_lower}"
                if model is not Article:
                    post_save.connect(model_changed, sender=model, dispatch_uid=f"{uid}.saved")
                post_delete.connect(model_changed, sender=model, dispatch_uid=f"{uid}.deleted")
    pre_save.connect(article_saving, sender=Article, dispatch_uid="pagecache.article_saving")
    post_save.connect(article_saved, sender=Article, dispatch_uid="pagecache.article_saved")
    m2m_changed.connect(relation_changed, dispatch_uid="pagecache.relation_changed")
    articles_bulk_changed.connect(changed, dispatch_uid="pagecache.articles_bulk_changed")
    content_written.connect(changed, dispatch_uid="pagecache.content_written")
    index_changed.connect(index_synced, dispatch_uid="pagecache.index_changed")
    post_migrate.connect(migrated, dispatch_uid="pagecache.migrated")
