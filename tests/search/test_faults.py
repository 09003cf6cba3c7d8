"""What readers, editors and operators get when the index is damaged, locked or left
half-built: search degrades to a message, saves still succeed and are queued, and the
commands say in plain words what is wrong and repair it.

The damage tests read the truncated index in this process: that is safe only because
index files are never memory-mapped (a truncated mapping is SIGBUS, which would kill
pytest), and the first test fails if they ever are.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from library.models import Article
from search import index
from search.backends import get_backend, reset_backends
from search.models import PendingIndexUpdate
from tests.conftest import make_article

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _directory_index(whoosh_index):
    """Locks held by other processes, damaged segments and dead rebuilds' files are
    the Whoosh directory index's faults; the PostgreSQL pass runs them on Whoosh too."""
    return whoosh_index


ROOT = Path(__file__).resolve().parents[2]
LUPUS_ARTICLE = "Stem Cell Therapy Research in Lupus"
WARNING = "could not be updated in the search index"


def search_titles(client, query: str) -> list[str]:
    response = client.get("/api/search/", {"q": query})
    assert response.status_code == 200, response.content
    return [result["title"] for result in response.json()["results"]]


def largest_segment(index_dir: Path) -> Path:
    live = index_dir / (index_dir / "CURRENT").read_text().strip()
    return max(live.glob("*.seg"), key=lambda path: path.stat().st_size)


def run_command(name: str, *args: str) -> tuple[str, CommandError | None]:
    """A command's output and the CommandError it ended with (what manage.py prints
    without a traceback); any other exception fails the test."""
    from io import StringIO

    out = StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


# --- A damaged index ------------------------------------------------------------------


def test_index_files_are_never_memory_mapped(client, indexed_library, search_index_dir):
    assert search_titles(client, "lupus")
    maps = Path("/proc/self/maps").read_text()
    assert str(search_index_dir) not in maps


def truncate(segment: Path) -> None:
    os.truncate(segment, segment.stat().st_size // 2)


def delete(segment: Path) -> None:
    segment.unlink()
    reset_backends()  # a worker started after the damage (a live one keeps the open file)


@pytest.mark.parametrize("damage", [truncate, delete], ids=["truncated", "deleted"])
def test_a_damaged_segment_degrades_search_and_check_index_fix_rebuilds_it(
    client, indexed_library, search_index_dir, damage, caplog
):
    before = search_titles(client, "lupus stem cell")
    assert LUPUS_ARTICLE in before
    damage(largest_segment(search_index_dir))

    # Readers: search says it is unavailable, everything else still works.
    page = client.get("/articles/", {"q": "lupus"})
    assert page.status_code == 200
    assert "Search is temporarily unavailable" in page.content.decode()
    browse = client.get("/articles/", {"disease": "lupus"}).content.decode()
    assert LUPUS_ARTICLE in browse  # browsing (filtered: 26 articles fill more than a page)
    # falls back to the database
    assert LUPUS_ARTICLE in client.get("/diseases/lupus/").content.decode()
    article = Article.objects.get(title=LUPUS_ARTICLE)
    assert LUPUS_ARTICLE in client.get(article.get_absolute_url()).content.decode()
    api = client.get("/api/search/", {"q": "lupus"})
    assert api.status_code == 503
    assert "temporarily unavailable" in api.json()["error"]
    suggest = client.get("/api/suggest/", {"q": "lup"})  # answers, from what it can read
    assert suggest.status_code == 200
    assert isinstance(suggest.json()["suggestions"], list)

    # Operators: plain words, a non-zero exit, and a command to run; one line, and no
    # logged traceback for the damage the command diagnoses.
    reset_backends()  # check_index runs in a process of its own, opening the index afresh
    caplog.clear()
    out, error = run_command("check_index")
    assert error is not None and error.returncode == 1
    (line,) = out.splitlines()
    assert line.startswith("The search index cannot be read: it is damaged")
    assert "check_index --fix" in str(error)
    assert not [record for record in caplog.records if record.exc_info]
    out, error = run_command("update_index")
    assert error is not None
    assert "damaged and cannot be read" in str(error)
    assert "check_index --fix" in str(error)

    out, error = run_command("check_index", "--fix")
    assert error is None, error
    assert "now matches the database" in out
    assert search_titles(client, "lupus stem cell") == before
    assert run_command("check_index")[1] is None


# --- A held lock ------------------------------------------------------------------------


@pytest.fixture
def hold_lock(search_index_dir):
    """Start another process that holds the sync lock; returns how to release it."""
    holders = []

    def hold():
        search_index_dir.mkdir(parents=True, exist_ok=True)
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import fcntl, sys\n"
                "handle = open(sys.argv[1], 'a+b')\n"
                "fcntl.flock(handle, fcntl.LOCK_EX)\n"
                "print('held', flush=True)\n"
                "sys.stdin.read()\n",
                str(search_index_dir / index.LOCK_FILE),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout.readline().strip() == "held"

        def release() -> None:
            if holder.poll() is None:
                holder.stdin.close()
                holder.wait(timeout=30)

        holders.append(release)
        return release

    yield hold
    for release in holders:
        release()


def test_a_held_lock_never_turns_a_bulk_publish_into_an_error(
    editor_client, settings, hold_lock, django_capture_on_commit_callbacks
):
    settings.SEARCH_REQUEST_LOCK_WAIT = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        make_article("Nephritis in lupus: what transplants changed")
        draft = make_article("Mesenchymal cells in lupus nephritis", status=Article.Status.DRAFT)
    release = hold_lock()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            "/admin/library/article/", {"action": "publish", "_selected_action": [draft.pk]}
        )
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert elapsed < 10  # bounded by the setting, far below gunicorn's 30 s timeout
    draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED
    pending = PendingIndexUpdate.objects.get(article_id=draft.pk)
    assert "IndexLockTimeout" in pending.error
    page = editor_client.get("/admin/library/article/").content.decode()
    assert f"1 article(s) {WARNING}" in page
    assert search_titles(editor_client, "nephritis") == [
        "Nephritis in lupus: what transplants changed"
    ]

    release()
    with django_capture_on_commit_callbacks(execute=True):  # the command commits
        out, error = run_command("update_index")
    assert error is None, error
    assert "1 failed update(s) retried" in out
    assert sorted(search_titles(editor_client, "nephritis")) == [
        "Mesenchymal cells in lupus nephritis",
        "Nephritis in lupus: what transplants changed",
    ]
    assert not PendingIndexUpdate.objects.exists()
    assert WARNING not in editor_client.get("/admin/library/article/").content.decode()


def test_a_save_is_queued_before_its_sync_waits(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    """A worker killed while waiting (gunicorn's timeout raises SystemExit in it)
    must leave the article queued."""

    def killed(*args, **kwargs):
        raise SystemExit(1)

    monkeypatch.setattr(index, "update_articles", killed)
    with pytest.raises(SystemExit), django_capture_on_commit_callbacks(execute=True):
        article = make_article()
    assert list(PendingIndexUpdate.objects.values_list("article_id", flat=True)) == [article.pk]


# --- An unwritable index directory ----------------------------------------------------------


def test_an_unwritable_index_never_breaks_an_editors_save(
    editor_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        article = make_article("Cord blood banking", summary="Old summary.")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # even root cannot create a directory under a file
    settings.SEARCH_INDEX_DIR = blocker / "index"
    settings.SEARCH_BACKENDS = {
        "default": {"BACKEND": "search.backends.whoosh.WhooshBackend", "PATH": blocker / "index"}
    }
    reset_backends()

    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            f"/admin/library/article/{article.pk}/change/",
            {
                "title": "Cord blood banking",
                "slug": article.slug,
                "summary": "New summary.",
                "body": article.body,
                "status": "published",
                "published_on": "2025-01-01",
                "source_name": "",
                "source_url": "",
            },
        )

    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert article.summary == "New summary."
    assert PendingIndexUpdate.objects.filter(article_id=article.pk).exists()
    assert (
        f"1 article(s) {WARNING}" in editor_client.get("/admin/library/article/").content.decode()
    )


# --- A killed rebuild -------------------------------------------------------------------------


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def test_commands_remove_what_a_dead_rebuild_left(indexed_library, search_index_dir):
    marker = search_index_dir / index.REBUILD_MARKER
    journal = search_index_dir / index.REBUILD_JOURNAL
    owner = f"{dead_pid()} {socket.gethostname()} 2026-01-01T00:00:00\n"
    for command in ("check_index", "update_index", "rebuild_index"):
        marker.write_text(owner)
        journal.write_text("1\n2\n")
        out, error = run_command(command)
        assert error is None, error
        assert "Removed the marker and journal of a rebuild that died" in out, command
        assert not marker.exists() and not journal.exists()


def test_a_save_stops_journaling_for_a_dead_rebuild(
    db, search_index_dir, django_capture_on_commit_callbacks
):
    search_index_dir.mkdir(parents=True)
    marker = search_index_dir / index.REBUILD_MARKER
    marker.write_text(f"{dead_pid()} {socket.gethostname()} 2026-01-01T00:00:00\n")
    (search_index_dir / index.REBUILD_JOURNAL).write_text("")
    with django_capture_on_commit_callbacks(execute=True):
        article = make_article("Saved after the rebuild died")
    assert not marker.exists()
    assert article.pk in get_backend().indexed()
    assert not (search_index_dir / index.REBUILD_JOURNAL).exists()


def test_a_rebuild_killed_with_sigkill_leaves_no_processes_and_is_cleaned_up(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stemsite.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "STEMSITE_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SECRET_KEY": "faults-test-secret-key-0123456789-abcdefghijklmnopqrstuv",
        "DJANGO_HTTPS": "0",
        "DJANGO_DEBUG": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
    }

    def manage(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        return done

    for args in (
        ("migrate", "--noinput", "-v0"),
        ("loaddata", "taxonomy", "-v0"),
        ("generate_articles", "--count", "300"),
    ):
        done = manage(*args)
        assert done.returncode == 0, done.stderr
    assert manage("rebuild_index").returncode == 0
    index_dir = tmp_path / "index"
    live = (index_dir / "CURRENT").read_text()

    rebuild = subprocess.Popen(
        [sys.executable, "manage.py", "rebuild_index"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        writers: list[psutil.Process] = []
        while time.monotonic() < deadline and rebuild.poll() is None:
            writers = psutil.Process(rebuild.pid).children()
            if len(writers) >= 2 and list(index_dir.glob("gen-*/.building")):
                break
            time.sleep(0.05)
        assert len(writers) >= 2, "the rebuild never started its writer processes"
        rebuild.send_signal(signal.SIGKILL)
        rebuild.wait(timeout=30)
    finally:
        if rebuild.poll() is None:
            rebuild.kill()
    half_built = [p.parent.name for p in index_dir.glob("gen-*/.building")]
    assert half_built and (index_dir / index.REBUILD_MARKER).exists()

    gone_by = time.monotonic() + 15
    while time.monotonic() < gone_by and any(_alive(w) for w in writers):
        time.sleep(0.1)
    survivors = [w for w in writers if _alive(w)]
    for writer in survivors:  # never leave them behind, even when the test fails
        writer.kill()
    assert not survivors, "writer processes outlived the rebuild"

    checked = manage("check_index")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Removed the marker and journal of a rebuild that died" in checked.stdout
    assert f"Removed the half-built index {half_built[0]}" in checked.stdout
    assert "matches the database" in checked.stdout
    assert not (index_dir / half_built[0]).exists()
    assert not (index_dir / index.REBUILD_MARKER).exists()
    assert not (index_dir / index.REBUILD_JOURNAL).exists()
    assert (index_dir / "CURRENT").read_text() == live


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
