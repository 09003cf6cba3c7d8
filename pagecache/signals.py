"""Move the content generation after every change a reader could see, once it committed.

What moves it:
- saves and deletions of any model of the content apps (`CONTENT_APPS`: articles,
  diseases, therapies, tags, tag redirects, revisions, and whatever models those apps
  gain, such as search intents or editors' picks), raw (fixture) saves included, so a
  `loaddata` or a revision revert moves it too; models that only record reader
  activity or index bookkeeping (`NOT_CONTENT`) do not;
- many-to-many changes of those apps, from either side;
- `library.signals.articles_bulk_changed` (bulk publish) and
  `library.signals.content_written` (`QuerySet.update()`, `bulk_create()`,
  `bulk_update()` of articles and terms, which send no model signals);
- `search.index.index_changed`: the search index was written (after an editor's save,
  `update_index`, `rebuild_index`, `check_index --fix`);
- `post_migrate` (a migration may rewrite content).
A scheduled article's day arriving needs no bump: the day is part of every cache key
(`pagecache.middleware`).

Why after the commit: a reader who read the new generation must find the new rows. If
the counter moved inside the editor's transaction, a reader could read it after that
commit but search a Whoosh index that is only updated after the commit, and cache the
old results under the new generation for good. So the bump is a `transaction.on_commit`
callback (one per transaction, however many rows change), and the index sync bumps
once the index is written: the last bump always follows every write a page reads (and
when the index sync bumped after the commit, the transaction's own callback need not). A
reader who read the old generation and then renders new rows stores a newer page under
the older key, which no request made after the bump asks for. A rolled-back
transaction never bumps. Outside a transaction the bump is immediate.
"""

from __future__ import annotations

import logging
import threading

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from library.signals import articles_bulk_changed, content_written
from pagecache.models import Generation
from search.index import index_changed

logger = logging.getLogger(__name__)

CONTENT_APPS = ("library", "search")
# Written while readers read (search terms) or by the index bookkeeping: never shown
# on a reader page, so their writes must not empty the cache.
NOT_CONTENT = {"search.searchterm", "search.pendingindexupdate", "search.indexstate"}

_state = threading.local()  # connections are per thread, so pending bumps are too


class _Bump:
    """The one on_commit callback of a transaction on one database.

    If the generation already moved in this thread since the callback was registered,
    that move came after the commit (callbacks only run once it is done), typically
    from the index sync that ran first: one move per save is enough.
    """

    def __init__(self, using: str) -> None:
        self.using = using
        self.done = False
        self.moves_seen = _moves()

    def __call__(self) -> None:
        self.done = True
        if _moves() == self.moves_seen:
            bump_now(self.using)

    def is_waiting(self) -> bool:
        """Still registered with the open transaction (a rolled-back savepoint drops it)."""
        connection = connections[self.using]
        return (
            not self.done
            and connection.in_atomic_block
            and any(func is self for _sids, func, _robust in connection.run_on_commit)
        )


def _moves() -> int:
    """How many times this thread has moved the generation."""
    return _state.__dict__.get("moves", 0)


def bump_now(using: str = DEFAULT_DB_ALIAS) -> None:
    """Move the generation at once; a failure is logged, never raised into a save."""
    try:
        Generation.objects.bump(using)
        _state.moves = _moves() + 1
    except Exception:
        logger.exception("Could not move the content generation: cached pages may be stale")


def bump_after_commit(using: str = DEFAULT_DB_ALIAS) -> None:
    """Move the generation when the current transaction commits (at once outside one)."""
    pending = _state.__dict__.setdefault("pending", {})
    bump = pending.get(using)
    if bump is not None and bump.is_waiting():
        return
    bump = pending[using] = _Bump(using)
    transaction.on_commit(bump, using=using)


def is_content(model) -> bool:
    meta = model._meta
    return meta.app_label in CONTENT_APPS and meta.label_lower not in NOT_CONTENT


def model_changed(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if is_content(sender):
        bump_after_commit(using)


def relation_changed(sender, action: str, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if action.startswith("post_") and is_content(sender):
        bump_after_commit(using)


def changed(sender=None, using: str | None = None, **kwargs) -> None:
    bump_after_commit(using or DEFAULT_DB_ALIAS)


def migrated(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if sender.label in CONTENT_APPS:
        bump_after_commit(using)


def connect() -> None:
    """Called once from `PageCacheConfig.ready()`. Model signals are connected per content
    model (not to every sender) so that other models keep Django's fast deletes."""
    for label in CONTENT_APPS:
        for model in apps.get_app_config(label).get_models():
            if is_content(model):
                uid = f"pagecache.{model._meta.label_lower}"
                post_save.connect(model_changed, sender=model, dispatch_uid=f"{uid}.saved")
                post_delete.connect(model_changed, sender=model, dispatch_uid=f"{uid}.deleted")
    m2m_changed.connect(relation_changed, dispatch_uid="pagecache.relation_changed")
    articles_bulk_changed.connect(changed, dispatch_uid="pagecache.articles_bulk_changed")
    content_written.connect(changed, dispatch_uid="pagecache.content_written")
    index_changed.connect(changed, dispatch_uid="pagecache.index_changed")
    post_migrate.connect(migrated, dispatch_uid="pagecache.migrated")
