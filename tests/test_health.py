"""/healthz/ is liveness only; /readyz/ says whether the database and the index can serve."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("unable to open database file")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)


def test_healthz_answers_without_database_or_index(
    client, database_down, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.content == b"ok"


def test_readyz_is_ok_when_database_and_index_answer(client, indexed_library):
    response = client.get("/readyz/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "search_index": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_names_the_database_when_it_is_down(
    client, whoosh_index, indexed_library, database_down
):
    # On a directory index the two fail apart; with the PostgreSQL backend the index is
    # the database, so both would be named.
    response = client.get("/readyz/")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "error": "Not ready: database unavailable.",
        "checks": {"database": "unavailable", "search_index": "ok"},
    }


def test_readyz_names_the_index_when_it_was_never_built(client, whoosh_index, shipped_content):
    # Only a directory index can be "never built": PostgreSQL's is created by `migrate`.
    response = client.get("/readyz/")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "search_index": "not built"}
    assert response.json()["error"] == "Not ready: search index not built."


def test_readyz_names_the_index_when_it_is_damaged(client, indexed_library, damage_index):
    from search.backends import reset_backends

    damage_index()
    reset_backends()  # a fresh worker, which must open the damaged files

    response = client.get("/readyz/")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "search_index": "unreadable"}


def test_readyz_names_the_index_when_the_backend_says_unavailable(client, db, monkeypatch):
    from search.backends import get_backend
    from search.backends.base import SearchUnavailable

    backend = get_backend()
    monkeypatch.setattr(backend, "exists", lambda: True)

    def unavailable(query):
        raise SearchUnavailable("segment missing")

    monkeypatch.setattr(backend, "search", unavailable)

    response = client.get("/readyz/")

    assert response.status_code == 503
    assert response.json()["checks"]["search_index"] == "unreadable"
