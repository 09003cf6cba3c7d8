"""rebuild_index, update_index and check_index: what they report and how they exit."""

from __future__ import annotations

import datetime
import io
import re
import socket
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from library.models import Article
from search import index
from search.backends import files, get_backend
from search.models import PendingIndexUpdate
from tests.conftest import make_article, make_disease

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(name: str, *args: str, stdout=None) -> str:
    out = stdout or io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def drift(commit):
    """An index that differs from the database in each of the three ways, plus one
    article that is fine. Changes are made with `update()`, which sends no signals."""
    with commit():
        fine = make_article(slug="fine")
        stale = make_article(slug="stale")
        orphan = make_article(slug="orphan")
    missing = make_article(slug="missing")  # never committed: never indexed
    Article.objects.filter(pk=stale.pk).update(
        title="Edited behind the index's back", updated_at=timezone.now()
    )
    Article.objects.filter(pk=orphan.pk).update(status=Article.Status.DRAFT)
    return fine, stale, orphan, missing


# --- rebuild_index -------------------------------------------------------------------


def test_rebuild_index_reports_count_time_and_rate(sync_backend):
    for _ in range(3):
        make_article()
    make_article(status=Article.Status.DRAFT)
    output = run("rebuild_index")
    assert re.fullmatch(r"Indexed 3 articles in \d+\.\d s \(\d+ docs/s\)\n", output)
    assert len(sync_backend.indexed()) == 3


def test_rebuild_index_shows_progress_only_on_a_terminal(sync_backend):
    for _ in range(150):
        Article.objects.create(title="t", slug=f"a-{_}", summary="s", body="b", status="published")
    assert "\r" not in run("rebuild_index")
    on_terminal = run("rebuild_index", stdout=Terminal())
    assert "\r[" in on_terminal and "100/150" in on_terminal and "docs/s" in on_terminal
    assert "\r" not in run("rebuild_index", "--verbosity=0", stdout=Terminal())


def test_rebuild_index_quiet_prints_nothing(sync_backend):
    make_article()
    assert run("rebuild_index", "--quiet", stdout=Terminal()) == ""
    assert len(sync_backend.indexed()) == 1


def test_rebuild_index_drops_what_the_database_no_longer_has(sync_backend, commit):
    _fine, _stale, _orphan, _missing = drift(commit)
    run("rebuild_index")
    assert set(sync_backend.indexed()) == set(
        Article.objects.published().values_list("pk", flat=True)
    )
    assert index.compare().in_sync


def test_rebuild_keeps_saves_made_while_it_ran(sync_backend, commit):
    """Editors save (and their after-commit syncs run) between the rebuild reading the
    database and swapping the new index in; those saves must survive the swap."""
    with commit():
        edited, deleted, linked = make_article(), make_article(), make_article()
    disease = make_disease(slug="lupus")
    deleted_pk = deleted.pk
    real_rebuild = sync_backend.backend.rebuild

    def rebuild_while_editors_save(documents):
        documents = list(documents)  # the rebuild has read every article
        Article.objects.filter(pk=edited.pk).update(title="Edited", updated_at=timezone.now())
        deleted.delete()
        linked.diseases.add(disease)  # no updated_at change: only the journal knows
        index.update_articles([edited.pk, deleted_pk, linked.pk])  # their after-commit syncs
        return real_rebuild(documents)

    sync_backend.backend.rebuild = rebuild_while_editors_save
    output = run("rebuild_index")

    assert "Caught up with changes made during the rebuild" in output
    edited.refresh_from_db()
    indexed = sync_backend.indexed()
    assert deleted_pk not in indexed
    assert index.same_instant(indexed[edited.pk], edited.updated_at)
    assert sync_backend.found(diseases=["lupus"]) == {linked.pk}
    assert index.compare().in_sync


def test_a_failed_rebuild_is_a_command_error_and_leaves_no_journal(sync_backend, search_index_dir):
    make_article()
    sync_backend.fail = True
    with pytest.raises(CommandError, match="Rebuilding the search index failed"):
        run("rebuild_index")
    assert not (search_index_dir / files.REBUILD_MARKER).exists()


def test_update_index_clears_the_journal_of_a_killed_rebuild(
    directory_sync_backend, search_index_dir
):
    search_index_dir.mkdir(parents=True, exist_ok=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    marker = f"{dead.stdout.strip()} {socket.gethostname()} then\n"
    (search_index_dir / files.REBUILD_MARKER).write_text(marker)
    (search_index_dir / files.REBUILD_JOURNAL).write_text("1\n")
    run("update_index")
    assert not (search_index_dir / files.REBUILD_MARKER).exists()
    assert not (search_index_dir / files.REBUILD_JOURNAL).exists()


# --- update_index ---------------------------------------------------------------------


def test_update_index_repairs_drift_and_removes_orphans(sync_backend, commit):
    _fine, stale, _orphan, missing = drift(commit)
    sync_backend.reset()
    output = run("update_index")
    assert "2 indexed, 1 removed" in output
    assert sorted(sync_backend.calls_to("index")[0]) == sorted([stale.pk, missing.pk])
    assert index.compare().in_sync
    assert index.last_updated() is not None


def test_update_index_since_a_date_reindexes_everything_saved_since(sync_backend, commit):
    with commit():
        old = make_article()
        recent = make_article()
    Article.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=30)
    )
    with commit():
        old.refresh_from_db()
        index.record_change([old.pk])
    sync_backend.reset()
    since = (timezone.now() - datetime.timedelta(days=1)).date().isoformat()
    output = run("update_index", "--since", since)
    assert sync_backend.calls_to("index") == [[recent.pk]]
    assert f"since {since}" in output and "1 indexed" in output


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "01/02/2025", ""])
def test_update_index_rejects_a_bad_since_naming_the_option(sync_backend, value):
    with pytest.raises(CommandError, match="--since") as raised:
        run("update_index", "--since", value) if value else run("update_index", "--since=x")
    assert "YYYY-MM-DD" in str(raised.value)


def test_update_index_retries_failed_updates(sync_backend, commit):
    sync_backend.fail = True
    with commit():
        article = make_article()
    sync_backend.fail = False
    assert "1 failed update(s) retried" in run("update_index")
    assert not PendingIndexUpdate.objects.exists()
    assert article.pk in sync_backend.indexed()


# --- check_index ------------------------------------------------------------------------


def test_check_index_passes_when_in_sync(sync_backend, commit):
    with commit():
        make_article()
    assert "The search index matches the database: 1 published articles indexed." in run(
        "check_index"
    )


def test_check_index_reports_each_difference_by_slug_and_exits_1(sync_backend, commit):
    _fine, stale, orphan, missing = drift(commit)
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        run("check_index", stdout=out)
    assert raised.value.returncode == 1
    assert "1 missing, 1 stale, 1 orphaned" in str(raised.value)
    report = out.getvalue()
    assert f"Missing from the index (1): missing (#{missing.pk})" in report
    assert f"Stale in the index (older than the article) (1): stale (#{stale.pk})" in report
    assert f"Orphaned in the index (not a published article) (1): orphan (#{orphan.pk})" in (report)
    assert "fine" not in report


def test_check_index_counts_failed_updates_as_a_difference(sync_backend, commit):
    with commit():
        article = make_article(slug="queued")
    PendingIndexUpdate.objects.create(
        index=get_backend().identity, article_id=article.pk, error="boom"
    )
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        run("check_index", stdout=out)
    assert raised.value.returncode == 1
    assert "Failed updates waiting to be retried (1): queued" in out.getvalue()


def test_check_index_fix_repairs_and_exits_0(sync_backend, commit):
    drift(commit)
    output = run("check_index", "--fix")
    assert "Fixed: 2 indexed, 1 removed." in output
    assert output.rstrip().endswith("The search index now matches the database.")
    run("check_index")  # and stays fixed


def test_check_index_on_a_missing_index_exits_1_and_fix_builds_it(sync_backend):
    make_article()
    with pytest.raises(CommandError, match="the index does not exist") as raised:
        run("check_index")
    assert raised.value.returncode == 1
    assert "now matches" in run("check_index", "--fix")
    assert len(sync_backend.indexed()) == 1
