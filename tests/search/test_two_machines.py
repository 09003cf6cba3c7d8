"""Two web machines, one PostgreSQL database: what an editor does through one, readers
see through the other at once.

Two gunicorn processes on loopback ports stand for two machines behind a load
balancer; they share nothing but the test database (`SEARCH_BACKEND=postgres`). An
editor signs in to machine A's admin; a reader searches machine B's JSON API.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection

from library.models import Article
from tests.conftest import make_disease
from tests.search.engines import empty_postgres_index

# Committed for real: the two servers read what this test writes.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ("--workers", "1", "--timeout", "30", "--bind")
WITHIN = 1.0  # seconds a change may take to show through the other machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "")
    password = ":" + urllib.parse.quote(db["PASSWORD"]) if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT']}/{db['NAME']}"


@contextlib.contextmanager
def machine(tmp_path: Path, name: str, extra_env: dict[str, str] | None = None):
    """One gunicorn 'machine' on a free port; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "SEARCH_BACKEND": "postgres",
        "DATABASE_CONN_MAX_AGE": "0",
        "DJANGO_HTTPS": "0",
        # Only so the admin's static URLs need no collectstatic manifest.
        "DJANGO_DEBUG": "1",
        "SEARCH_INDEX_DIR": str(tmp_path / f"{name}-unused-index"),
        **(extra_env or {}),
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "stemsite.wsgi", *GUNICORN, f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/api/suggest/?q=", timeout=5).read()
                break
            except OSError:  # refused, reset or timed out while it boots
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / f"{name}.log").read_text()) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


class Editor:
    """A signed-in admin session on one machine."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})

    def _token(self, path: str) -> str:
        page = self.opener.open(self.base + path, timeout=10).read().decode()
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def post(self, path: str, fields: dict) -> str:
        data = {"csrfmiddlewaretoken": self._token(path), **fields}
        body = urllib.parse.urlencode(data, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=body)
        request.add_header("Referer", self.base + path)
        page = self.opener.open(request, timeout=10).read().decode()
        errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
        assert not errors and "errornote" not in page, (path, errors)
        return page


def article_form(**fields) -> dict:
    form = {
        "title": "",
        "slug": "",
        "summary": "A short summary.",
        "body": "Some body text.",
        "status": "published",
        "published_on": "2025-01-01",
        "source_name": "",
        "source_url": "",
        "_save": "Save",
    }
    return form | fields


def search(base: str, text: str) -> list[str]:
    url = f"{base}/api/search/?" + urllib.parse.urlencode({"q": text})
    return [
        r["slug"] for r in json.loads(urllib.request.urlopen(url, timeout=10).read())["results"]
    ]


def eventually(check, within: float = WITHIN):
    """`check()` becomes true within `within` seconds; returns how long it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not seen through the other machine within {within}s")
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
def clean_index():
    yield
    # The test's flush empties only managed tables: leave no index for the next test.
    empty_postgres_index()


def test_changes_through_one_machine_are_seen_through_the_other(tmp_path, clean_index):
    User.objects.create_superuser("editor", "editor@example.org", "a-long-test-password")
    lupus = make_disease("Lupus", slug="lupus")
    with machine(tmp_path, "a") as a, machine(tmp_path, "b") as b:
        editor = Editor(a, "editor", "a-long-test-password")

        editor.post(
            "/admin/library/article/add/",
            article_form(title="Kidney care in lupus", slug="kidney", diseases=[lupus.pk]),
        )
        article = Article.objects.get(slug="kidney")
        eventually(lambda: search(b, "kidney") == ["kidney"])

        editor.post(
            f"/admin/library/article/{article.pk}/change/",
            article_form(title="Renal care in lupus", slug="kidney", diseases=[lupus.pk]),
        )
        eventually(lambda: search(b, "renal") == ["kidney"] and search(b, "kidney") == [])

        editor.post(
            f"/admin/library/disease/{lupus.pk}/change/",
            {"name": "Lupus", "slug": "lupus", "aliases": "SLE", "description": "", "_save": "1"},
        )
        eventually(lambda: search(b, "SLE") == ["kidney"])

        editor.post(
            f"/admin/library/article/{article.pk}/change/",
            article_form(title="Renal care in lupus", slug="kidney", status="draft"),
        )
        eventually(lambda: search(b, "renal") == [])

        editor.post(
            f"/admin/library/article/{article.pk}/change/",
            article_form(title="Renal care in lupus", slug="kidney"),
        )
        eventually(lambda: search(b, "renal") == ["kidney"])
        editor.post(f"/admin/library/article/{article.pk}/delete/", {"post": "yes"})
        eventually(lambda: search(b, "renal") == [])
        assert not Article.objects.filter(pk=article.pk).exists()
