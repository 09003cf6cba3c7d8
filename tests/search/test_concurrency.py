"""Several writer processes at once never lose an update, and the last save wins.

pytest-django's SQLite test database is in memory and private to this process, so
these tests migrate a SQLite *file* database and run real `django.setup()` processes
against it and a shared index directory, on the real Whoosh backend.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("search.backends.whoosh")

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
ARTICLES_PER_WORKER = 8
SHARED = 5  # articles every worker saves

SETUP = """
import django
django.setup()
"""

WRITER = (
    SETUP
    + """
import random
import sys
import time
from pathlib import Path

from django.db import transaction

import search.index
from library.models import Article, Disease

# Widen the race between reading the database and writing the index, so crossed
# writes would show up as stale documents if the sync lock did not prevent them.
read_articles = search.index.documents_for


def slowly_read_articles(*args, **kwargs):
    documents = list(read_articles(*args, **kwargs))
    time.sleep(random.uniform(0, 0.02))
    return iter(documents)


search.index.documents_for = slowly_read_articles

worker, count, start_at = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
barrier = Path(sys.argv[4])
shared = list(Article.objects.filter(slug__startswith="shared-"))
disease = Disease.objects.get(slug="lupus")
time.sleep(max(0.0, start_at - time.time()))  # start together
for n in range(count):
    article = Article.objects.create(
        title=f"Worker {worker} article {n}", slug=f"w{worker}-{n}",
        summary="s", body="b", status="published",
    )
    for version in range(3):  # quick repeated saves of one article
        article.title = f"Worker {worker} article {n} version {version}"
        article.save()
    if n % 3 == 0:
        disease.articles.add(article)
    if n % 4 == 0:
        with transaction.atomic():
            article.status = Article.Status.DRAFT
            article.save()
    if n % 5 == 0:
        Article.objects.filter(pk=article.pk).delete()
# Then every worker saves the same articles, all at once (after a barrier) and to
# the end: whichever save commits last must be the version left in the index.
(barrier / str(worker)).touch()
while len(list(barrier.iterdir())) < int(sys.argv[5]):
    time.sleep(0.001)
for round in range(3):
    random.shuffle(shared)
    for article in shared:
        article.title = f"Shared, saved by worker {worker} in round {round}"
        article.save()
"""
)

REBUILDER = (
    SETUP
    + """
from django.core.management import call_command
for _ in range(3):
    call_command("rebuild_index", "--quiet")
"""
)

REPORT = (
    SETUP
    + """
import json
from library.models import Article
from search.backends import get_backend
from search.backends.base import SearchQuery
from search.index import same_instant
from search.models import PendingIndexUpdate

database = dict(Article.objects.published().values_list("pk", "updated_at"))
indexed = get_backend().indexed()
print(json.dumps({
    "published": len(database),
    "indexed": len(indexed),
    "missing": sorted(set(database) - set(indexed)),
    "orphaned": sorted(set(indexed) - set(database)),
    "stale": sorted(
        pk for pk in set(database) & set(indexed)
        if not same_instant(database[pk], indexed[pk])
    ),
    "pending": PendingIndexUpdate.objects.count(),
    "lupus": sorted(hit.id for hit in get_backend().search(
        SearchQuery(diseases=("lupus",), per_page=100)).hits),
    "lupus_db": sorted(Article.objects.published().filter(diseases__slug="lupus")
                       .values_list("pk", flat=True)),
}))
"""
)


@pytest.fixture
def site(tmp_path):
    """A migrated SQLite file database and an index directory, and a way to run code
    against them in a fresh process."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stemsite.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "STEMSITE_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SECRET_KEY": "concurrency-test-secret-key-0123456789-abcdefghijklmnop",
        "DJANGO_HTTPS": "0",
        "DJANGO_DEBUG": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        # These writers are scripts saving in tight loops, not web requests: they wait
        # for the lock as long as commands do (a request's bounded wait is tested in
        # test_faults.py).
        "SEARCH_REQUEST_LOCK_WAIT": "60",
    }

    outputs = itertools.count()

    def start(code: str, *args: str) -> subprocess.Popen:
        # Output goes to files, not pipes: a child that logs a lot must never block
        # on a full pipe while the test waits for another child.
        n = next(outputs)
        process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            cwd=ROOT,
            env=env,
            stdout=open(tmp_path / f"out-{n}.txt", "w"),  # noqa: SIM115
            stderr=open(tmp_path / f"err-{n}.txt", "w"),  # noqa: SIM115
        )
        process.out_path, process.err_path = tmp_path / f"out-{n}.txt", tmp_path / f"err-{n}.txt"
        return process

    def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
        process.wait(timeout=timeout)
        return process.out_path.read_text(), process.err_path.read_text()

    def run(code: str, *args: str) -> str:
        out, err = finish(start(code, *args))
        assert err == "", err
        return out

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    migrated = manage("migrate", "--noinput", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    run(
        SETUP
        + """
from library.models import Article, Disease
SHARED = 5
Disease.objects.create(name="Lupus", slug="lupus", aliases="SLE")
for n in range(SHARED):
    Article.objects.create(title="Shared", slug=f"shared-{n}", summary="s", body="b",
                           status="published")
"""
    )
    site = type("Site", (), {})()
    site.start, site.finish, site.run, site.manage = start, finish, run, manage
    site.db = tmp_path / "db.sqlite3"
    site.tmp = tmp_path
    return site


def run_writers(site, extra=()):
    start_at = str(time.time() + 2.0)  # after every process has started Django
    barrier = site.tmp / f"barrier-{time.monotonic_ns()}"
    barrier.mkdir()
    processes = [
        site.start(
            WRITER, str(worker), str(ARTICLES_PER_WORKER), start_at, str(barrier), str(WORKERS)
        )
        for worker in range(WORKERS)
    ]
    processes += [site.start(code) for code in extra]
    for process in processes:
        _out, err = site.finish(process, timeout=600)
        assert process.returncode == 0, err
        assert err == "", err  # no lock error, not even a logged one


def assert_index_matches_database(site):
    report = json.loads(site.run(REPORT))
    expected = SHARED + WORKERS * sum(
        1 for n in range(ARTICLES_PER_WORKER) if n % 4 != 0 and n % 5 != 0
    )
    assert report["published"] == expected
    assert report["missing"] == []
    assert report["orphaned"] == []
    assert report["stale"] == []  # every document is the article's last saved version
    assert report["indexed"] == expected
    assert report["pending"] == 0
    assert report["lupus"] == report["lupus_db"]


def test_concurrent_writers_lose_no_update_and_the_last_save_wins(site):
    run_writers(site)
    assert_index_matches_database(site)

    # The same state through the command operators use, as a real process exit status.
    checked = site.manage("check_index")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "matches the database" in checked.stdout
    with sqlite3.connect(site.db) as connection:  # behind Django's back: no signals
        connection.execute(
            "UPDATE library_article SET title = 'Edited', "
            "updated_at = '2031-01-01 00:00:00' WHERE slug = 'shared-0'"
        )
    checked = site.manage("check_index")
    assert checked.returncode == 1
    assert "Stale in the index (older than the article) (1): shared-0" in checked.stdout
    assert "differs from the database: 0 missing, 1 stale" in checked.stderr
    fixed = site.manage("check_index", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert site.manage("check_index").returncode == 0


def test_rebuilds_while_writers_save_lose_nothing(site):
    run_writers(site, extra=[REBUILDER])
    assert_index_matches_database(site)
