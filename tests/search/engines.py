"""Configuring a real engine for one test: Whoosh in the test's own directory, or the
PostgreSQL backend on the test database (its tables are rolled back with the test)."""

from __future__ import annotations

import pytest

from search.backends import get_backend, reset_backends
from search.backends.base import SearchBackend

ENGINES = {
    "whoosh": "search.backends.whoosh.WhooshBackend",
    "postgres": "search.backends.postgres.PostgresBackend",
}


def engine_config(name: str, index_dir) -> dict:
    if name == "postgres":
        return {"BACKEND": ENGINES[name], "DATABASE": "default"}
    return {"BACKEND": ENGINES[name], "PATH": index_dir}


def engine_backend(request, settings, index_dir) -> SearchBackend:
    """The configured `default` backend for engine `request.param`."""
    if request.param == "postgres":
        request.getfixturevalue("db")
    settings.SEARCH_BACKENDS = {"default": engine_config(request.param, index_dir)}
    reset_backends()
    return get_backend()


#: Marks for a test parameter that runs on PostgreSQL: deselected on SQLite, and the
#: database set up first (the PostgreSQL backend's tables are in it).
POSTGRES = [pytest.mark.postgres, pytest.mark.django_db]
