"""`visible_on`: scheduled documents are in the index but match nothing before their date.

The same search contract runs on the in-memory fake and on Whoosh; suggestions and
related articles are Whoosh's own.
"""

from __future__ import annotations

import datetime

import pytest

from search.backends.base import SearchQuery
from tests.search.fake_backend import use_backend
from tests.search.test_whoosh_backend import doc

BEFORE, LAUNCH = datetime.date(2026, 3, 9), datetime.date(2026, 3, 10)


@pytest.fixture(params=["memory", "whoosh"])
def backend(request, settings, search_index_dir):
    backend = use_backend(request.param, settings, search_index_dir).backend
    backend.index(
        [
            doc(
                1,
                "Lupus trial results",
                diseases=("lupus",),
                published_on=datetime.date(2025, 1, 1),
            ),
            doc(2, "Lupus zebrafish study", diseases=("lupus",), published_on=LAUNCH),
        ]
    )
    return backend


def test_search_hides_documents_published_after_visible_on(backend):
    def found(day):
        page = backend.search(SearchQuery(text="lupus", visible_on=day))
        return sorted(hit.id for hit in page.hits), page.total

    assert found(BEFORE) == ([1], 1)
    assert found(LAUNCH) == ([1, 2], 2)
    assert found(None) == ([1, 2], 2)  # no date: the index's whole content


@pytest.fixture
def whoosh(settings, search_index_dir):
    backend = use_backend("whoosh", settings, search_index_dir).backend
    backend.index(
        [
            doc(1, "Lupus trial results", body="lupus kidney nephritis trial"),
            doc(
                2, "Lupus zebrafish study", body="lupus kidney nephritis trial", published_on=LAUNCH
            ),
        ]
    )
    return backend


def test_whoosh_counts_facets_and_browses_without_scheduled_documents(whoosh):
    page = whoosh.search(SearchQuery(ordering="-published_on", visible_on=BEFORE))
    assert [hit.id for hit in page.hits] == [1]
    assert [(f.value, f.count) for f in page.facets["year"]] == [("2024", 1)]


def test_whoosh_suggest_and_related_leave_scheduled_documents_out(whoosh):
    assert whoosh.suggest("zebra", visible_on=BEFORE) == []
    assert whoosh.suggest("zebra", visible_on=LAUNCH) == ["Lupus zebrafish study"]
    assert whoosh.more_like_this(1, visible_on=BEFORE) == []
    assert whoosh.more_like_this(1, visible_on=LAUNCH) == [2]
