"""Fixtures shared by the search tests."""

from __future__ import annotations

import pytest

from tests.search.engines import POSTGRES
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
