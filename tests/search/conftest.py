"""Fixtures shared by the search tests."""

from __future__ import annotations

import pytest

from search.backends import reset_backends
from search.documents import iter_documents
from tests.search.engines import POSTGRES, engine_backend
from tests.search.fake_backend import BACKENDS, use_backend


@pytest.fixture(params=[*sorted(BACKENDS), pytest.param("postgres", marks=POSTGRES)])
def sync_backend(request, settings, search_index_dir):
    """Each after-commit sync test runs on the in-memory fake, on Whoosh and (in the
    PostgreSQL pass) on PostgreSQL: every engine syncs once per transaction."""
    return use_backend(request.param, settings, search_index_dir)


@pytest.fixture(params=sorted(BACKENDS))
def directory_sync_backend(request, settings, search_index_dir):
    """The engines whose rebuild journal and marker are files in the index directory."""
    return use_backend(request.param, settings, search_index_dir)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the block's on_commit callbacks as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(params=["whoosh", pytest.param("postgres", marks=POSTGRES)])
def shipped_library(request, settings, search_index_dir, shipped_content):
    """The shipped content indexed into each engine in turn (PostgreSQL in its pass)."""
    backend = engine_backend(request, settings, search_index_dir)
    backend.rebuild(iter_documents())
    yield backend
    reset_backends()
