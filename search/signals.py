"""Signal handlers that note which articles a change touches; nothing more.

They never index: `search.index.record_change` batches the ids into one after-commit
sync per transaction. Raw (fixture) saves are recorded like any other, so a
`loaddata` ends in one batch after it commits, and a failed load, rolled back,
leaves the index untouched.

Not covered by model signals, so callers must record them: `QuerySet.update()`,
`bulk_create()`, `bulk_update()` and raw SQL. Either call `search.index.record_change(ids)`
or send `library.signals.articles_bulk_changed(sender=Article, article_ids=ids)` (which
ends up in the same place) in the same transaction.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from library.models import Article, Disease, Tag, Therapy
from library.signals import articles_bulk_changed
from search.index import record_change

TAXONOMY_MODELS = (Disease, Therapy, Tag)


def article_saved(sender, instance: Article, using: str, **kwargs) -> None:
    record_change([instance.pk], using=using)


def article_deleted(sender, instance: Article, using: str, **kwargs) -> None:
    record_change([instance.pk], using=using)


def article_taxonomy_changed(
    sender, instance, action: str, reverse: bool, pk_set, using: str, **kwargs
) -> None:
    """Both sides: `article.diseases.add(d)` and `disease.articles.add(article)`."""
    if action == "pre_clear" and reverse:
        # After the clear the relation is gone and pk_set is None: ask now, record
        # after (a backend syncing at once must see the relation already cleared).
        instance._search_clearing = _article_ids(instance, using)
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        record_change([instance.pk], using=using)
    elif action == "post_clear":
        record_change(instance.__dict__.pop("_search_clearing", ()), using=using)
    else:
        record_change(pk_set or (), using=using)


def articles_changed_in_bulk(sender, article_ids, using: str | None = None, **kwargs) -> None:
    record_change(article_ids, using=using or DEFAULT_DB_ALIAS)


def term_saved(sender, instance, created: bool, using: str, **kwargs) -> None:
    """A renamed term, a new alias or slug changes every document that carries it."""
    if not created:
        record_change(_article_ids(instance, using), using=using)


def term_deleting(sender, instance, using: str, **kwargs) -> None:
    # The through rows are deleted without m2m_changed; collect the ids while they exist.
    instance._search_deleting = _article_ids(instance, using)


def term_deleted(sender, instance, using: str, **kwargs) -> None:
    record_change(instance.__dict__.pop("_search_deleting", ()), using=using)


def _article_ids(term, using: str) -> list[int]:
    return list(term.articles.using(using).values_list("pk", flat=True))


def connect() -> None:
    """Called once from `SearchConfig.ready()`."""
    post_save.connect(article_saved, sender=Article, dispatch_uid="search.article_saved")
    post_delete.connect(article_deleted, sender=Article, dispatch_uid="search.article_deleted")
    for field_name in ("diseases", "therapies", "tags"):
        m2m_changed.connect(
            article_taxonomy_changed,
            sender=getattr(Article, field_name).through,
            dispatch_uid=f"search.article_{field_name}_changed",
        )
    articles_bulk_changed.connect(
        articles_changed_in_bulk, dispatch_uid="search.articles_changed_in_bulk"
    )
    for model in TAXONOMY_MODELS:
        label = model._meta.model_name
        post_save.connect(term_saved, sender=model, dispatch_uid=f"search.{label}_saved")
        pre_delete.connect(term_deleting, sender=model, dispatch_uid=f"search.{label}_deleting")
        post_delete.connect(term_deleted, sender=model, dispatch_uid=f"search.{label}_deleted")
