"""Spelling correction inside longer queries, on the shipped content (issue 19).

PubMed's safety rules: a misspelt word is corrected wherever it stands in the query,
but never a word shorter than 5 letters, a known English word (the shipped list) or a
word the library contains. When the reader's own query finds little and the corrected
one finds more articles with every word, the corrected results are served. Runs on
Whoosh and on PostgreSQL (in `make test`'s PostgreSQL pass), through the search
contract, as `test_relevance.py` does.
"""

from __future__ import annotations

import pytest

from search.backends import query
from search.backends.base import SearchQuery
from search.synonyms import synonym_groups

LUPUS = "stem-cell-therapy-research-in-lupus"
MS = "stem-cell-research-in-multiple-sclerosis"


@pytest.fixture
def library(shipped_library):
    return shipped_library


def search(backend, text: str, **kwargs):
    return backend.search(SearchQuery(text=text, synonyms=synonym_groups(), **kwargs))


def slugs(page) -> list[str]:
    return [hit.slug for hit in page.hits]


@pytest.mark.parametrize(
    ("typed", "corrected", "article", "within"),
    [
        ("stem cell for lupis", "stem cell for lupus", LUPUS, 1),
        ("lupis stem cell", "lupus stem cell", LUPUS, 1),
        ("hsct for multipel sclerosis", "hsct for multiple sclerosis", MS, 3),
        (
            "is stem cell treatment safe for lupis",
            "is stem cell treatment safe for lupus",
            LUPUS,
            3,
        ),
    ],
)
def test_a_misspelt_word_anywhere_in_the_query_is_corrected(
    library, typed, corrected, article, within
):
    page = search(library, typed)

    assert (page.corrected, page.suggestion) == (corrected, None)
    assert article in slugs(page)[:within]
    assert slugs(page) == slugs(search(library, corrected))


def test_the_reader_s_own_query_relaxed_before_the_correction(library):
    # What the reader would have got: most articles, none with "lupis".
    as_typed = search(library, "stem cell for lupis", correct_spelling=False)
    corrected = search(library, "stem cell for lupis")

    assert (as_typed.match, as_typed.not_found, as_typed.corrected) == ("most", ["lupis"], None)
    assert corrected.match == "all"
    assert corrected.total < as_typed.total


def test_a_word_shorter_than_five_letters_is_never_corrected(library, monkeypatch):
    page = search(library, "stem cels")
    assert (page.corrected, page.suggestion) == (None, None)
    assert page.not_found == ["cels"]
    # Only the length rule keeps it: a 4-letter limit would correct it.
    monkeypatch.setattr(query, "MIN_CORRECTABLE", 4)
    assert search(library, "stem cels").corrected == "stem cell"


def test_an_english_word_the_library_lacks_is_never_corrected(library, monkeypatch):
    for text in ("stem cell for dogs", "stem cell for horses", "stem cell brood"):
        page = search(library, text)
        assert (page.corrected, page.suggestion) == (None, None), text
    # Only the English list keeps "brood" (one edit from the library's "blood").
    monkeypatch.setattr(query, "english_words", frozenset)
    assert search(library, "stem cell brood").corrected == "stem cell blood"


def test_a_word_the_library_contains_is_never_corrected(library):
    # Neither is an English word, and each is one edit from a commoner library word
    # ("hematopoietic", "starts"): only the library's own vocabulary keeps them.
    assert not query.is_english_word("haematopoietic") and not query.is_english_word("starms")
    for text in ("haematopoietic", "starms trial", "mesenchymal stem cell for lupus"):
        page = search(library, text)
        assert (page.corrected, page.suggestion) == (None, None), text
        assert page.not_found == [], text


def test_the_english_word_list_is_read_once_and_holds_no_misspellings():
    words = query.english_words()

    assert query.english_words() is words  # cached for the process
    assert {"horses", "daughter", "husband", "kitten", "brood"} <= words
    assert not {"lupis", "multipel", "sclerodema", "celss", "lupsu"} & words
    assert min(len(word) for word in words) == query.MIN_CORRECTABLE
    assert all(word.isascii() and word.isalpha() and word.islower() for word in words)


def test_a_corrected_question_is_read_as_corrected(library):
    """The answer stage reads the question the page is for: after `lupis` is corrected,
    the page is about lupus and ranks as the corrected question does."""
    from search.vocabulary import current_vocabulary

    vocabulary = current_vocabulary()
    typed = search(library, "is stem cell treatment safe for lupis", vocabulary=vocabulary)
    corrected = search(library, "is stem cell treatment safe for lupus", vocabulary=vocabulary)

    assert typed.corrected == "is stem cell treatment safe for lupus"
    assert [t.slug for t in typed.understood.topics] == ["lupus"]
    assert "safety" in [i.slug for i in typed.understood.intents]
    assert (slugs(typed), typed.answer) == (slugs(corrected), corrected.answer)
