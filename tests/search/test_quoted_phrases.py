"""Quoted words in a reader's prose (issue 19): a phrase no article has is searched as
its words, saying so; a phrase that finds articles stays exact; an excluded phrase is
untouched. Runs on Whoosh and on PostgreSQL (in `make test`'s PostgreSQL pass), through
the search contract and through the results page and the JSON API.
"""

from __future__ import annotations

import re

import pytest

from search.backends.base import SearchQuery
from search.synonyms import synonym_groups

LUPUS = "stem-cell-therapy-research-in-lupus"
CORD_BLOOD = "umbilical-cord-blood-therapy-uses-research-and-limits"
MS = "stem-cell-research-in-multiple-sclerosis"
REMISSION = "what-remission-and-success-rates-mean"  # the article that answers GO_AWAY
# A real reader's question (tests/search/real_questions.py): phones type “ ” for ".
GO_AWAY = (
    "My doctor told me last week that she has seen lupus go away in some patients. She said "
    "she thinks I am one of them. Is this true? Can lupus “go away”?"
)


@pytest.fixture
def library(shipped_library):
    return shipped_library


def search(backend, text: str, **kwargs):
    """As the results page searches: with the synonyms and the answer stage's vocabulary."""
    from search.vocabulary import current_vocabulary

    return backend.search(
        SearchQuery(text=text, synonyms=synonym_groups(), vocabulary=current_vocabulary(), **kwargs)
    )


def slugs(page) -> list[str]:
    return [hit.slug for hit in page.hits]


def test_a_quoted_phrase_no_article_has_is_searched_as_its_words(library):
    page = search(library, GO_AWAY)
    as_words = search(library, GO_AWAY.replace("“", "").replace("”", ""))

    assert page.loosened == ["go away"]
    assert REMISSION in slugs(page)
    assert slugs(page) == slugs(as_words)  # ranked as the same words unquoted
    assert as_words.loosened == []


def test_the_loosened_phrase_s_words_are_never_corrected(library):
    page = search(library, 'lupus "remision xyzzyq"')

    assert page.corrected is None
    assert page.loosened == ["remision xyzzyq"]
    assert LUPUS in slugs(page)


def test_a_phrase_that_finds_articles_stays_exact(library):
    phrase = search(library, '"cord blood"')
    stem_cells = search(library, 'lupus "stem cell"')

    assert phrase.loosened == stem_cells.loosened == []
    assert CORD_BLOOD in slugs(phrase)
    assert MS not in slugs(phrase)  # it has "spinal cord" and "blood tests", never together
    assert LUPUS in slugs(stem_cells)


def test_an_excluded_phrase_is_untouched(library):
    lupus = search(library, "lupus")
    without = search(library, 'lupus -"go away"')
    without_cord_blood = search(library, 'stem cell -"cord blood"')

    assert without.loosened == without_cord_blood.loosened == []
    assert slugs(without) == slugs(lupus)  # no article has the phrase to exclude
    assert CORD_BLOOD not in slugs(without_cord_blood)


def test_the_api_names_the_loosened_phrases(client, library):
    loosened = client.get("/api/search/", {"q": GO_AWAY}).json()
    exact = client.get("/api/search/", {"q": '"cord blood"'}).json()

    assert loosened["loosened"] == ["go away"]
    assert REMISSION in [result["slug"] for result in loosened["results"]]
    assert exact["loosened"] == []


def test_the_results_page_says_the_phrase_was_searched_as_words(client, library):
    response = client.get("/articles/", {"q": GO_AWAY})
    html = response.content.decode()
    exact = client.get("/articles/", {"q": '"cord blood"'}).content.decode()

    assert response.status_code == 200
    assert (
        "No article matches the exact phrase “go away”, so these results contain its words."
        in " ".join(re.sub(r"<[^>]+>", "", html).split())
    )
    assert REMISSION in re.findall(r'<article class="card" data-slug="([^"]+)"', html)
    assert "data-loosened" not in exact
