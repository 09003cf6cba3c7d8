"""Fixtures shared by the search tests."""

from __future__ import annotations

import pytest

from tests.search.fake_backend import BACKENDS, use_backend


@pytest.fixture(params=sorted(BACKENDS))
def sync_backend(request, settings, search_index_dir):
    """Each after-commit sync test runs on the in-memory fake and on Whoosh. The
    PostgreSQL backend syncs inside the saving transaction instead, a different
    path with its own tests (test_postgres_sync.py)."""
    return use_backend(request.param, settings, search_index_dir)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the block's on_commit callbacks as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
