"""The PostgreSQL backend keeps its index inside the saving transaction.

A save, an edit, a taxonomy change, an unpublish or a delete is searchable in the same
transaction and commits or rolls back with it; an index error rolls back only the
index write (a savepoint) and queues the article, never the editor's save. Queued
failures belong to the shared index, so any machine may retry them.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction

from library.models import Article
from pagecache.signals import _Bump
from search import index
from search.backends import get_backend
from search.backends.base import SearchQuery
from search.models import PendingIndexUpdate
from tests.conftest import make_article, make_disease
from tests.search.engines import POSTGRES

pytestmark = POSTGRES


@pytest.fixture
def backend(settings, search_index_dir):
    from search.backends import reset_backends
    from tests.search.engines import engine_config

    settings.SEARCH_BACKENDS = {"default": engine_config("postgres", search_index_dir)}
    reset_backends()
    return get_backend()


def found(backend, text: str = "", **filters) -> list[str]:
    page = backend.search(SearchQuery(text=text, per_page=100, **filters))
    return sorted(hit.slug for hit in page.hits)


def test_a_save_is_searchable_inside_its_transaction_without_any_commit_callback(
    backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        make_article("Lupus and stem cells", slug="lupus-stem")
        assert found(backend, "lupus") == ["lupus-stem"]
    # Nothing deferred for the index: nothing to lose between commit and sync (only the
    # page cache's generation move waits for the commit, by design).
    assert [c for c in callbacks if not isinstance(c, _Bump)] == []


def test_edit_unpublish_and_delete_are_seen_at_once(backend):
    article = make_article("Lupus and stem cells", slug="lupus-stem")
    article.title = "Psoriasis and stem cells"
    article.save()
    assert found(backend, "lupus") == []
    assert found(backend, "psoriasis") == ["lupus-stem"]
    article.status = Article.Status.DRAFT
    article.save()
    assert found(backend, "psoriasis") == []
    article.status = Article.Status.PUBLISHED
    article.save()
    article.delete()
    assert found(backend) == []
    assert backend.indexed() == {}


def test_taxonomy_changes_from_either_side_reach_the_index(backend):
    lupus = make_disease("Lupus", slug="lupus", aliases="SLE")
    article = make_article("Living well", slug="living")
    article.diseases.add(lupus)
    assert found(backend, diseases=("lupus",)) == ["living"]
    lupus.aliases = "SLE, systemic lupus erythematosus"
    lupus.save()
    assert found(backend, '"systemic lupus erythematosus"') == ["living"]
    lupus.articles.clear()
    assert found(backend, diseases=("lupus",)) == []


def test_a_rolled_back_transaction_or_savepoint_leaves_the_index_as_it_was(backend):
    kept = make_article("Lupus kept", slug="kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        make_article("Lupus lost", slug="lost")
        kept.title = "Renamed"
        kept.save()
        raise RuntimeError("editor's save failed")
    assert found(backend, "lupus") == ["kept"]
    assert {doc for doc in backend.indexed()} == {kept.pk}


def test_an_index_error_never_breaks_the_save_and_is_queued_for_the_shared_index(
    backend, monkeypatch, caplog
):
    def broken(documents):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(backend, "index", broken)
    article = make_article("Lupus", slug="lupus")  # no exception reaches the editor
    assert Article.objects.filter(pk=article.pk).exists()
    assert "queued for update_index" in caplog.text
    queued = PendingIndexUpdate.objects.get()
    assert (queued.index, queued.article_id) == ("postgres:default", article.pk)
    assert index.pending_update_count() == 1

    monkeypatch.undo()
    call_command("update_index", verbosity=0)
    assert found(backend, "lupus") == ["lupus"]
    assert index.pending_update_count() == 0


def test_another_machines_whoosh_failures_are_not_ours_to_retry(backend):
    PendingIndexUpdate.objects.create(index="web-2:/srv/index", article_id=7, error="x")
    assert index.pending_update_count() == 0
    assert index.pending_article_ids() == set()


def test_loading_the_shipped_fixtures_makes_them_searchable(backend, shipped_content):
    published = Article.objects.published().count()
    assert backend.search(SearchQuery()).total == published
    assert index.compare().in_sync


def test_rebuild_replaces_everything_and_journals_nothing_afterwards(backend):
    make_article("Lupus", slug="lupus")
    result = index.rebuild()
    assert result.indexed == 1
    assert backend.read_journal() == set()
    assert found(backend, "lupus") == ["lupus"]


def test_deleting_a_term_reindexes_its_articles_without_it(backend):
    lupus = make_disease("Lupus", slug="lupus")
    make_article("Living well", slug="living", diseases=[lupus])
    assert found(backend, "lupus") == ["living"]
    lupus.delete()
    assert found(backend, "lupus") == []
    assert found(backend, "living") == ["living"]
