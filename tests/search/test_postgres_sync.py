"""The PostgreSQL backend syncs once per transaction, after the commit, as Whoosh does.

Every path by which content changes (saves, deletes, taxonomy changes from both sides,
bulk changes, `loaddata`, rollbacks, failures) is tested on every engine in
`test_signals.py`. Here: what is PostgreSQL's own. A load of many articles takes no
index lock inside its transaction and writes the index in a few chunks after it
commits, each chunk locking only its own articles (the per-signal, in-transaction
sync this replaced held one advisory lock per article until the load ended, and ran
out of PostgreSQL's shared lock table on large fixtures); an admin save is searchable
when the request returns; a sync waits a bounded time for another's locks; failures
are queued for the shared index, which any machine may retry.
"""

from __future__ import annotations

import math
import threading
import time

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from library.models import Article
from pagecache.signals import _Bump
from search import index
from search.backends import get_backend
from search.backends.base import SearchQuery
from search.backends.postgres import _CLEAN_PENDING, LOCK_NAMESPACE
from search.models import PendingIndexUpdate
from tests.conftest import make_article, make_disease
from tests.search.engines import POSTGRES, empty_postgres_index

pytestmark = POSTGRES

UPSERT = "INSERT INTO search_entry"


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


def held_locks() -> dict[str, int]:
    """The locks this connection holds now, by type (`pg_locks`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT locktype, count(*) FROM pg_locks WHERE pid = pg_backend_pid() GROUP BY locktype"
        )
        return dict(cursor.fetchall())


# --- An editor's save --------------------------------------------------------------


def test_an_admin_save_is_searchable_when_the_request_returns_after_one_index_write(
    backend, editor_client, django_capture_on_commit_callbacks
):
    lupus = make_disease("Lupus", slug="lupus")
    form = {
        "title": "Kidney care in lupus",
        "slug": "kidney",
        "summary": "A summary.",
        "body": "A body about nephritis.",
        "status": "published",
        "published_on": "2025-05-01",
        "diseases": [lupus.pk],
    }
    with (
        CaptureQueriesContext(connection) as statements,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = editor_client.post("/admin/library/article/add/", form)
    assert response.status_code == 302
    # The article's save and its diseases are one transaction: one batch, one write.
    assert len(callbacks) == 1
    assert sum(UPSERT in q["sql"] for q in statements) == 1
    assert found(backend, "nephritis") == ["kidney"]
    assert found(backend, diseases=("lupus",)) == ["kidney"]
    reader = editor_client.get("/api/search/", {"q": "kidney"}).json()
    assert [result["slug"] for result in reader["results"]] == ["kidney"]


def test_nothing_is_written_to_the_index_before_the_commit(
    backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        make_article("Lupus and stem cells", slug="lupus-stem")
        assert found(backend, "lupus") == []
        assert held_locks().get("advisory", 0) == 0
    # One callback for the index, besides the page cache's generation move.
    (sync,) = [c for c in callbacks if not isinstance(c, _Bump)]
    sync()
    assert found(backend, "lupus") == ["lupus-stem"]


@pytest.mark.django_db(transaction=True)  # another connection holds the lock
def test_a_held_article_lock_delays_a_save_at_most_the_request_wait_then_queues_it(
    backend, settings, clean_index
):
    settings.SEARCH_REQUEST_LOCK_WAIT = 0.5
    article = make_article("Lupus", slug="lupus")  # autocommit: synced at once
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"],
        password=db["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip
    with other:  # another machine's sync of the same article, stuck
        other.execute("SET lock_timeout = '5s'")
        other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, article.pk])
        started = time.monotonic()
        article.title = "Psoriasis"
        article.save()  # never raises because of the index
        waited = time.monotonic() - started
    assert 0.5 <= waited < 5
    queued = PendingIndexUpdate.objects.get()
    assert queued.article_id == article.pk and "IndexLockTimeout" in queued.error
    assert found(backend, "psoriasis") == []
    call_command("update_index", verbosity=0)
    assert found(backend, "psoriasis") == ["lupus"]
    assert index.pending_update_count() == 0


def test_an_index_error_never_breaks_the_save_and_is_queued_for_the_shared_index(
    backend, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(documents, **kwargs):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(backend, "index", broken)
    with django_capture_on_commit_callbacks(execute=True):
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


def test_rebuild_replaces_everything_and_journals_nothing_afterwards(
    backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_article("Lupus", slug="lupus")
    result = index.rebuild()
    assert result.indexed == 1
    assert backend.read_journal() == set()
    assert found(backend, "lupus") == ["lupus"]


def pending_pages() -> int:
    """Pages the search table's GIN indexes hold in their pending lists (merging them
    returns how many it merged, so this also empties them)."""
    with connection.cursor() as cursor:
        cursor.execute(_CLEAN_PENDING)
        return sum(merged for (merged,) in cursor.fetchall())


def maintenance_runs() -> int:
    """How many times the search table has been vacuumed and analysed, by anyone."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # the statistics as they are now
        cursor.execute(
            "SELECT coalesce(vacuum_count, 0) + coalesce(analyze_count, 0)"
            " FROM pg_stat_user_tables WHERE relname = 'search_entry'"
        )
        return cursor.fetchone()[0]


def test_a_rebuild_leaves_no_entries_pending_in_the_word_index(
    backend, django_capture_on_commit_callbacks
):
    """While entries wait in the GIN pending list, PostgreSQL may find a search's words
    through another index and read every vector; a rebuild merges them at once."""
    with django_capture_on_commit_callbacks(execute=True):  # ordinary saves: entries pending
        for n in range(30):
            make_article(f"Lupus {n}", slug=f"lupus-{n}")
    assert pending_pages() > 0

    index.rebuild()

    assert pending_pages() == 0
    assert len(found(backend, "lupus")) == 30  # every article, from the new rows


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_outside_a_transaction_vacuums_and_analyses_the_search_table(backend):
    before = maintenance_runs()
    make_article("Lupus", slug="lupus")

    index.rebuild()

    assert maintenance_runs() >= before + 2  # one VACUUM (ANALYZE): a vacuum and an analyse
    assert pending_pages() == 0
    assert found(backend, "lupus") == ["lupus"]


# --- A large load ----------------------------------------------------------------------


class LockSampler:
    """Samples the locks the loading connection holds: while `loaddata` saves
    articles (inside its transaction), and each time the sync writes the index."""

    def __init__(self, backend, every: int = 10) -> None:
        self.during_load: list[dict[str, int]] = []
        self.during_sync: list[dict[str, int]] = []
        self.saves = 0
        self.every = every
        write = backend.index

        def sampled_write(documents, **kwargs):
            self.during_sync.append(held_locks())
            return write(documents, **kwargs)

        backend.index = sampled_write

    def __call__(self, sender, instance, raw: bool = False, **kwargs) -> None:
        if raw and sender is Article:
            self.saves += 1
            if self.saves % self.every == 1:
                self.during_load.append(held_locks())


@pytest.mark.django_db(transaction=True)
def test_a_large_load_takes_no_index_lock_in_its_transaction_and_few_after_it(
    backend, tmp_path, monkeypatch, clean_index
):
    """120 articles, synced in chunks of 25: the load's own transaction (committed
    for real here) holds the same locks after its last article as after its tenth and
    no advisory lock at all; the sync after the commit writes the index once per
    chunk and holds at most one chunk's article locks at a time."""
    chunk = 25
    monkeypatch.setattr(index, "CHUNK_SIZE", chunk)
    call_command("loaddata", "taxonomy", verbosity=0)
    fixture = tmp_path / "load.json"
    call_command("generate_articles", count=120, seed=7, fixture=str(fixture), verbosity=0)
    sampler = LockSampler(backend)
    post_save.connect(sampler, sender=Article, dispatch_uid="test.lock_sampler")
    try:
        with CaptureQueriesContext(connection) as statements:
            call_command("loaddata", str(fixture), verbosity=0)
    finally:
        post_save.disconnect(sender=Article, dispatch_uid="test.lock_sampler")

    assert sampler.saves == 120
    during_load = [sum(locks.values()) for locks in sampler.during_load]
    assert all(locks.get("advisory", 0) == 0 for locks in sampler.during_load)
    assert max(during_load) <= during_load[1] + 5, during_load  # flat, not per article
    assert len(sampler.during_sync) == math.ceil(120 / chunk)
    assert all(locks.get("advisory", 0) <= chunk for locks in sampler.during_sync)
    assert sum(UPSERT in q["sql"] for q in statements) == math.ceil(120 / chunk)

    # Every published article is indexed and found; nothing else is.
    published = dict(Article.objects.published().values_list("pk", "title"))
    assert set(backend.indexed()) == set(published)
    for pk, title in published.items():
        page = backend.search(SearchQuery(text=f'"{title}"', per_page=100, relax=False))
        assert pk in {hit.id for hit in page.hits}, title
    assert index.compare().in_sync
    call_command("check_index", verbosity=0)  # exits 1 (CommandError) when they differ


@pytest.mark.django_db(transaction=True)
def test_a_failed_large_load_leaves_the_database_and_the_index_as_they_were(
    backend, tmp_path, clean_index
):
    call_command("loaddata", "taxonomy", verbosity=0)
    kept = make_article("Lupus kept", slug="kept")
    before = backend.indexed()
    fixture = tmp_path / "load.json"
    call_command("generate_articles", count=60, seed=8, fixture=str(fixture), verbosity=0)
    bad = tmp_path / "bad.xml"  # fails inside Django's load, after the 60 raw saves
    bad.write_text(
        '<?xml version="1.0"?><django-objects version="1.0">'
        '<object model="library.article"><field name="title" type="CharField">x</field>'
        '<field name="published_on" type="DateField">not-a-date</field></object>'
        "</django-objects>"
    )
    with pytest.raises((DeserializationError, ValidationError)):
        call_command("loaddata", str(fixture), str(bad), verbosity=0)
    assert list(Article.objects.values_list("slug", flat=True)) == ["kept"]
    assert backend.indexed() == before == {kept.pk: before[kept.pk]}
    assert index.pending_update_count() == 0
    assert index.compare().in_sync


@pytest.fixture
def clean_index():
    """A test that commits leaves the backend's tables (created by a migration, so
    not flushed by Django) empty for the next one."""
    yield
    empty_postgres_index()


@pytest.mark.django_db(transaction=True)  # another connection holds a lock
def test_two_syncs_of_different_articles_do_not_wait_for_each_other(backend, clean_index):
    first = make_article("Lupus", slug="lupus")
    second = make_article("Psoriasis", slug="psoriasis")
    db = connection.settings_dict
    done = threading.Event()

    def hold_first() -> None:
        with psycopg.connect(
            host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"],
            password=db["PASSWORD"] or None, autocommit=True,
        ) as other:  # fmt: skip
            other.execute("SET lock_timeout = '5s'")
            other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, first.pk])
            done.wait(10)

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        index.update_articles([second.pk], lock_wait=5)
        assert time.monotonic() - started < 2
    finally:
        done.set()
        holder.join()
