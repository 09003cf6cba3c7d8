"""The search planner: the order it asks an engine for things, on every engine.

`search.planner` builds each results page from the engine's operations; these tests
record which operations a page asked for (wrapping the real engine's, nothing faked)
and check the promises the planner makes about cost: the strict match is counted
first and the histogram is asked only when it finds too few, unknown words are
looked up in one call, nothing is ranked when nothing matched.
"""

from __future__ import annotations

import pytest

from search import planner
from search.backends.base import SearchQuery
from tests.search.engines import POSTGRES, doc, engine_backend


@pytest.fixture(params=["whoosh", pytest.param("postgres", marks=POSTGRES)])
def backend(request, settings, search_index_dir):
    backend = engine_backend(request, settings, search_index_dir)
    backend.rebuild(
        [
            doc(1, "Lupus and stem cells", body="Kidney care in lupus."),
            doc(2, "Stem cells in lupus trials", body="Trials of stem cells."),
            doc(3, "Lupus stem cell research", body="Research on lupus."),
            doc(4, "Scleroderma and stem cells", body="Skin and lungs."),
            doc(5, "Psoriasis care", body="Skin plaques and kidney checks."),
        ]
    )
    return backend


@pytest.fixture
def asked(monkeypatch):
    """The names of the engine operations each page asks for, in order."""
    calls: list[str] = []
    plan = planner.plan_page

    def recording(operations, request):
        class Recorder:
            def __getattr__(self, name):
                method = getattr(operations, name)

                def call(*args, **kwargs):
                    calls.append(name)
                    return method(*args, **kwargs)

                return call

        return plan(Recorder(), request)

    for module in ("search.backends.whoosh.backend", "search.backends.postgres"):
        monkeypatch.setattr(f"{module}.plan_page", recording)
    return calls


def test_a_strict_match_that_finds_enough_never_asks_for_the_histogram(backend, asked):
    page = backend.search(SearchQuery(text="lupus stem cells"))

    assert {hit.id for hit in page.hits} == {1, 2, 3}
    assert page.match == "all"
    assert asked.index("count") < asked.index("page")
    assert "coverage_counts" not in asked
    assert "units_found" not in asked  # every word was found by the strict match


def test_too_few_strict_matches_relax_by_the_histogram(backend, asked):
    page = backend.search(SearchQuery(text="kidney lupus trials"))

    assert page.match == "most"
    assert [hit.id for hit in page.hits][:1] in ([1], [2])  # two of the three words
    assert asked.count("coverage_counts") == 1
    assert asked.index("count") < asked.index("coverage_counts") < asked.index("page")


def test_unknown_words_are_looked_up_in_one_call(backend, asked):
    page = backend.search(SearchQuery(text="lupis stem celss", relax=False))

    assert asked.count("unknown_words") == 1
    assert asked.count("spelling_candidates") == 1
    assert page.corrected == "lupus stem cells"
    assert {hit.id for hit in page.hits} == {1, 2, 3}


def test_nothing_is_ranked_when_nothing_matches(backend, asked):
    page = backend.search(SearchQuery(text="xylophone"))

    assert page.total == 0 and page.hits == []
    assert "page" not in asked
    assert page.facets == {"disease": [], "therapy": [], "tag": [], "year": []}


def test_a_page_past_the_end_is_clamped_before_ranking(backend):
    page = backend.search(SearchQuery(text="stem cells", page=99, per_page=2))

    assert page.total == 4
    assert (page.page, page.num_pages) == (2, 2)
    assert len(page.hits) == 2
