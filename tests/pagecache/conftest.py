"""Fixtures of the page cache tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the block's on_commit callbacks as a real commit would: content made in a
    test's transaction must be committed this way before a later change can move the
    generation again (one bump per transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def engine_queries(monkeypatch) -> list:
    """Every `SearchQuery` the site asks the engine to run (none for a page or an answer
    served from the cache), by a spy on the listing's backend."""
    from library import listing
    from search.backends import get_backend

    backend, asked = get_backend(), []

    class Spy:
        def __getattr__(self, name):
            return getattr(backend, name)

        def search(self, query):
            asked.append(query)
            return backend.search(query)

    monkeypatch.setattr(listing, "get_backend", Spy)
    return asked
