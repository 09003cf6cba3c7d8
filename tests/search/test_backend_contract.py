"""The backend contract, run against every real engine (Whoosh and PostgreSQL):
matching rules, ranking, facets, pages, highlights, suggestions, autocomplete,
related articles and the index's life cycle (replace, remove, clear, rebuild).

Documents are built directly as SearchDocuments. The PostgreSQL runs need a
PostgreSQL database: `make test` runs them in its PostgreSQL pass (see
tests/pg_cluster.py); on SQLite they are deselected, never skipped.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections import Counter

import pytest

from search.backends.base import SearchDocument, SearchQuery
from tests.search.engines import POSTGRES, SYNONYMS, UPDATED, doc, engine_backend, found, ids


@pytest.fixture(params=["whoosh", pytest.param("postgres", marks=POSTGRES)])
def backend(request, settings, search_index_dir):
    return engine_backend(request, settings, search_index_dir)


# --- Matching rules -----------------------------------------------------------------


def test_stemming_matches_other_forms_of_a_word(backend):
    backend.index([doc(1, body="Autologous transplantation was used."), doc(2, body="Diet.")])
    assert found(backend, "transplants") == {1}
    assert found(backend, "transplanted") == {1}


def test_case_and_accents_are_folded(backend):
    backend.index([doc(1, "Living with Guillain-Barré syndrome"), doc(2, "Lupus")])
    assert found(backend, "guillain barre") == {1}
    assert found(backend, "GUILLAIN-BARRE") == {1}
    assert found(backend, "Guillain Barré") == {1}


@pytest.mark.parametrize("written", ["Crohn's disease", "Crohn\u2019s disease", "Crohns disease"])
def test_crohns_matches_every_apostrophe(backend, written):
    backend.index([doc(1, body=f"Living with {written} day to day."), doc(2, body="Lupus.")])
    assert found(backend, "crohns") == {1}
    assert found(backend, "Crohn's") == {1}
    assert found(backend, "crohn\u2019s") == {1}


def test_a_phrase_needs_its_words_adjacent_and_in_order(backend):
    backend.index(
        [
            doc(1, body="Umbilical cord blood is collected at birth."),
            doc(2, body="An injury to the spinal cord. Later, blood tests were normal."),
            doc(3, body="Blood cord."),
        ]
    )
    assert found(backend, '"cord blood"') == {1}
    assert found(backend, "cord blood") == {1, 2, 3}
    # Plain words that spell a synonym stay loose; the synonym's members are phrases.
    cord_blood = (("Umbilical cord blood therapy", "cord blood", "UCB"),)
    assert found(backend, '"cord blood"', synonyms=cord_blood) == {1}
    assert found(backend, "cord blood", synonyms=cord_blood) == {1, 2, 3}


def test_every_word_must_match_across_fields(backend):
    backend.index(
        [
            doc(1, "Lupus explained", body="Stem cells were studied."),
            doc(2, "Lupus explained", body="Diet and exercise."),
        ]
    )
    assert found(backend, "lupus stem") == {1}


def test_minus_excludes_a_word_or_a_phrase(backend):
    backend.index(
        [
            doc(1, body="Lupus and steroids."),
            doc(2, body="Lupus and bone marrow."),
            doc(3, body="Lupus and marrow of bone."),
        ]
    )
    assert found(backend, "lupus -steroids") == {2, 3}
    assert found(backend, 'lupus -"bone marrow"') == {1, 3}
    assert found(backend, "lupus NOT steroids") == {2, 3}


def test_a_query_of_only_exclusions_means_everything_else(backend):
    backend.index([doc(1, body="Lupus."), doc(2, body="Psoriasis."), doc(3, body="Diet.")])
    assert found(backend, "-lupus") == {2, 3}


def test_or_matches_either_word(backend):
    backend.index(
        [doc(1, body="Lupus."), doc(2, body="Psoriasis."), doc(3, body="Lupus and psoriasis.")]
    )
    assert found(backend, "lupus OR psoriasis") == {1, 2, 3}
    assert found(backend, "lupus psoriasis") == {3}
    # Lower-case "or" is an ordinary (stop) word, not the operator.
    assert found(backend, "lupus or psoriasis") == {3}


def test_a_single_word_alias_finds_the_spelled_out_name(backend):
    backend.index([doc(1, body="Living with multiple sclerosis."), doc(2, body="Lupus.")])
    assert found(backend, "MS", synonyms=SYNONYMS) == {1}
    assert found(backend, "MS stem", synonyms=SYNONYMS) == set()
    assert found(backend, "MS") == set()  # synonyms come with the query


def test_a_name_finds_its_alias_and_multi_word_aliases_match_as_phrases(backend):
    backend.index(
        [
            doc(1, body="Scleroderma affects the skin."),
            doc(2, body="Systemic sclerosis affects the skin."),
            doc(3, body="Sclerosis that is systemic in a loose sense."),
        ]
    )
    assert found(backend, "scleroderma", synonyms=SYNONYMS) == {1, 2}
    # Quoted, it is searched exactly as typed: no synonyms.
    assert found(backend, '"systemic sclerosis"', synonyms=SYNONYMS) == {2}
    # Unquoted, the words may also stand apart, as any plain words may.
    assert found(backend, "systemic sclerosis", synonyms=SYNONYMS) == {1, 2, 3}


def test_british_spelling_finds_american_spelling(backend):
    backend.index(
        [
            doc(1, body="Hematopoietic stem cell transplantation for MS."),
            doc(2, body="Stem cell research in general."),
        ]
    )
    query = "haematopoietic stem cell transplantation"
    assert found(backend, query, synonyms=SYNONYMS) == {1}
    assert found(backend, "HSCT", synonyms=SYNONYMS) == {1}


def test_synonym_runs_match_longest_first_among_other_words(backend):
    backend.index(
        [
            doc(1, body="Bone marrow transplant outcomes in multiple sclerosis."),
            doc(2, body="HSCT outcomes in MS."),
            doc(3, body="Bone density outcomes."),
        ]
    )
    assert found(backend, "bone marrow transplant outcomes MS", synonyms=SYNONYMS) == {1, 2}


def test_synonym_groups_are_read_per_query(backend):
    backend.index([doc(1, body="Regional enteritis.")])
    assert found(backend, "crohns") == set()
    groups = (("Crohn's disease", "regional enteritis", "Crohn's"),)
    assert found(backend, "crohns", synonyms=groups) == {1}


# --- Ranking and ordering -----------------------------------------------------------


def test_a_title_match_outranks_a_body_only_match(backend):
    backend.index(
        [
            doc(1, "Diet and exercise", body="Psoriasis is mentioned once in this body."),
            doc(2, "Psoriasis treatments", body="Creams and light."),
            doc(3, "Other", summary="A summary about psoriasis.", body="Nothing else."),
        ]
    )
    assert ids(backend, "psoriasis") == [2, 3, 1]


def test_orderings(backend):
    backend.index(
        [
            doc(1, "Banana lupus", published_on=datetime.date(2022, 5, 1)),
            doc(2, "apple lupus", published_on=datetime.date(2024, 5, 1)),
            doc(3, "Cherry lupus", published_on=datetime.date(2023, 5, 1)),
        ]
    )
    assert ids(backend, "lupus", ordering="-published_on") == [2, 3, 1]
    assert ids(backend, "lupus", ordering="published_on") == [1, 3, 2]
    assert ids(backend, "lupus", ordering="title") == [2, 1, 3]
    # With no words, relevance means newest first.
    assert ids(backend, "", ordering="relevance") == [2, 3, 1]
    assert ids(backend, "", ordering="nonsense") == [2, 3, 1]


# --- Filters, facets and pages ------------------------------------------------------


def _corpus() -> list[SearchDocument]:
    rng = random.Random(7)
    docs = []
    for n in range(1, 61):
        docs.append(
            doc(
                n,
                f"Article {n}",
                body=" ".join(rng.sample(["lupus", "stem", "cell", "diet", "trial", "skin"], 3)),
                diseases=tuple(
                    rng.sample(["lupus", "psoriasis", "multiple-sclerosis"], rng.randint(0, 2))
                ),
                therapies=tuple(rng.sample(["hsct", "msc"], rng.randint(0, 1))),
                tags=tuple(rng.sample(["trials", "guide", "news"], rng.randint(0, 2))),
                published_on=datetime.date(rng.choice([2021, 2022, 2023]), 1 + n % 12, 1),
            )
        )
    return docs


def _brute_force_facets(docs: list[SearchDocument]) -> dict[str, list[tuple[str, int]]]:
    counters = {
        "disease": Counter(s for d in docs for s in d.diseases),
        "therapy": Counter(s for d in docs for s in d.therapies),
        "tag": Counter(s for d in docs for s in d.tags),
        "year": Counter(str(d.published_on.year) for d in docs),
    }
    return {
        facet: sorted(counter.items(), key=lambda item: (-item[1], item[0]))
        for facet, counter in counters.items()
    }


@pytest.mark.parametrize(
    ("text", "filters"),
    [
        ("", {}),
        ("lupus", {}),
        ("stem cell", {"diseases": ("lupus",)}),
        ("", {"diseases": ("lupus", "psoriasis"), "tags": ("guide",)}),
        ("diet", {"year": 2022, "therapies": ("hsct",)}),
        ("-skin", {}),
    ],
)
def test_facet_counts_and_totals_equal_brute_force_counts(backend, text, filters):
    docs = _corpus()
    backend.index(docs)
    words = [w for w in text.split() if not w.startswith("-")]
    excluded = [w[1:] for w in text.split() if w.startswith("-")]

    def matches(d: SearchDocument) -> bool:
        body = d.body.split()
        return (
            all(w in body for w in words)
            and not any(w in body for w in excluded)
            and set(filters.get("diseases", ())) <= set(d.diseases)
            and set(filters.get("therapies", ())) <= set(d.therapies)
            and set(filters.get("tags", ())) <= set(d.tags)
            and filters.get("year", d.published_on.year) == d.published_on.year
        )

    expected = [d for d in docs if matches(d)]
    page = backend.search(SearchQuery(text=text, **filters))
    assert page.total == len(expected)
    actual = {f: [(c.value, c.count) for c in counts] for f, counts in page.facets.items()}
    assert actual == _brute_force_facets(expected)


def test_facet_counts_follow_edits_and_removals_between_searches(backend):
    docs = _corpus()
    backend.index(docs)
    backend.search(SearchQuery(text="lupus"))  # the engine may keep what it read
    edited = [
        dataclasses.replace(d, diseases=("psoriasis",), tags=("news", "guide")) for d in docs[:10]
    ]
    backend.index(edited)
    backend.remove([d.id for d in docs[10:15]])
    now = edited + docs[15:]
    for text in ("lupus", ""):
        page = backend.search(SearchQuery(text=text))
        expected = [d for d in now if not text or text in d.body.split()]
        assert page.total == len(expected)
        actual = {f: [(c.value, c.count) for c in counts] for f, counts in page.facets.items()}
        assert actual == _brute_force_facets(expected)


def test_filters_are_conjunctive(backend):
    backend.index(
        [
            doc(1, diseases=("lupus",), tags=("guide",)),
            doc(2, diseases=("lupus", "psoriasis"), tags=("guide",)),
            doc(3, diseases=("psoriasis",)),
        ]
    )
    assert set(ids(backend, diseases=("lupus", "psoriasis"))) == {2}
    assert set(ids(backend, diseases=("lupus",), tags=("guide",))) == {1, 2}
    assert ids(backend, diseases=("unknown-slug",)) == []


def test_year_filter_is_exact(backend):
    backend.index(
        [
            doc(1, published_on=datetime.date(2023, 12, 31)),
            doc(2, published_on=datetime.date(2024, 1, 1)),
        ]
    )
    assert ids(backend, year=2024) == [2]


def test_pages_are_clamped_and_counted(backend):
    backend.index(
        [doc(n, body="lupus", published_on=datetime.date(2020, 1, n)) for n in range(1, 26)]
    )
    first = backend.search(SearchQuery(text="", per_page=10))
    assert (first.total, first.num_pages, first.page) == (25, 3, 1)
    assert [h.id for h in first.hits] == list(range(25, 15, -1))
    last = backend.search(SearchQuery(per_page=10, page=99))
    assert last.page == 3
    assert [h.id for h in last.hits] == [5, 4, 3, 2, 1]
    assert backend.search(SearchQuery(per_page=10, page=-4)).page == 1
    all_pages = [
        h.id
        for p in (1, 2, 3)
        for h in backend.search(SearchQuery("lupus", per_page=10, page=p)).hits
    ]
    assert sorted(all_pages) == list(range(1, 26))


def test_no_results_page(backend):
    backend.index([doc(1, body="lupus")])
    page = backend.search(SearchQuery(text="psoriasis"))
    assert (page.total, page.num_pages, page.page, page.hits) == (0, 1, 1, [])


# --- Highlights ---------------------------------------------------------------------


def test_highlight_marks_stemmed_matches_and_escapes_everything_else(backend):
    backend.index(
        [
            doc(
                1,
                summary="Short summary without the word.",
                body="<script>alert('x')</script> Two transplants & one transplantation.",
            )
        ]
    )
    (hit,) = backend.search(SearchQuery(text="transplant")).hits
    assert "<script>" not in hit.highlight
    assert "&lt;script&gt;" in hit.highlight
    assert "&amp;" in hit.highlight
    assert "<mark>transplants</mark>" in hit.highlight
    assert "<mark>transplantation</mark>" in hit.highlight


def test_highlight_marks_synonym_matches_in_a_window_of_a_long_body(backend):
    body = "Filler sentence about diet. " * 200 + "Results in multiple sclerosis were good. "
    body += "More filler. " * 100
    backend.index([doc(1, body=body)])
    (hit,) = backend.search(SearchQuery(text="MS", synonyms=SYNONYMS)).hits
    assert "<mark>multiple sclerosis</mark>" in hit.highlight
    assert len(hit.highlight) < 400
    assert hit.highlight.startswith("…")


def test_without_words_the_highlight_is_the_escaped_start_of_the_summary(backend):
    backend.index([doc(1, summary="Tom & Jerry <b>" + " more" * 100)])
    (hit,) = backend.search(SearchQuery()).hits
    assert hit.highlight.startswith("Tom &amp; Jerry &lt;b&gt;")
    assert "<mark>" not in hit.highlight
    assert len(hit.highlight) < 300


# --- Suggestions and unmatched words --------------------------------------------------


def test_did_you_mean_uses_the_index_vocabulary(backend):
    backend.index(
        [
            doc(1, "Lupus and stem cells", taxonomy=("Lupus", "systemic lupus erythematosus")),
            doc(2, "Multiple sclerosis", taxonomy=("Multiple sclerosis",)),
        ]
    )
    # The reader's query finds nothing and the correction does: its results are shown.
    page = backend.search(SearchQuery(text="lupis"))
    assert (page.corrected, page.suggestion, [h.id for h in page.hits]) == ("lupus", None, [1])
    # A misspelt word among others: the reader's query only finds articles with some of
    # its words, the corrected one finds one with all of them, so that is served.
    page = backend.search(SearchQuery(text="multiple sclerosus"))
    assert (page.corrected, page.suggestion, page.match) == ("multiple sclerosis", None, "all")
    assert [h.id for h in page.hits] == [2]
    assert backend.search(SearchQuery(text='"stem cells" lupis')).corrected == '"stem cells" lupus'


def test_when_the_query_finds_plenty_a_correction_is_only_offered(backend):
    backend.index([doc(n, f"Psoriasis {n}") for n in (1, 2, 3)] + [doc(4, "Scleroderma")])

    page = backend.search(SearchQuery(text="psoriasis OR sclerodema"))

    assert (page.suggestion, page.corrected) == ("psoriasis OR scleroderma", None)
    assert sorted(h.id for h in page.hits) == [1, 2, 3]


def test_known_words_and_short_words_are_never_corrected(backend):
    backend.index(
        [
            doc(1, "Cord blood", body="The cost of care is high; is it safe?"),
            doc(2, "SLE and MSC", taxonomy=("SLE", "MSC")),
            doc(3, "CAR T cells", body="Cars and carts."),
            doc(4, "Lichen sclerosus"),
            doc(5, "Systemic sclerosis"),
            doc(6, "Multiple sclerosis"),
        ]
    )
    # Short words ("cels" is one edit from "cells"), the library's own words
    # ("sclerosus", though "sclerosis" is commoner) and English words ("brood", one
    # edit from "blood") stay as the reader typed them.
    for text in (
        *("how much does it cost", "is it safe", "cure", "much", "cels"),
        *("sclerosus", "brood", "cord brood"),
    ):
        page = backend.search(SearchQuery(text=text))
        assert (page.suggestion, page.corrected) == (None, None), text


def test_spelling_off_searches_the_words_as_typed(backend):
    backend.index([doc(1, "Lupus and stem cells"), doc(2, "Stem cells")])

    page = backend.search(SearchQuery(text="stem cells lupis", correct_spelling=False))

    assert (page.corrected, page.suggestion, page.match) == (None, None, "most")
    assert page.not_found == ["lupis"]
    assert backend.search(SearchQuery(text="stem cells lupis")).corrected == "stem cells lupus"


def test_no_suggestion_when_the_query_is_fine(backend):
    backend.index([doc(n, "Lupus and stem cells") for n in range(1, 6)])
    page = backend.search(SearchQuery(text="lupus"))
    assert page.suggestion is None
    assert page.unmatched_terms == []


def test_unmatched_terms_lists_words_found_nowhere(backend):
    backend.index([doc(1, body="Lupus and psoriasis.")])
    page = backend.search(SearchQuery(text="lupus zzyzx qwertyuiop"))
    assert [h.id for h in page.hits] == [1]
    assert page.match == "most"
    assert page.unmatched_terms == page.not_found == ["zzyzx", "qwertyuiop"]
    assert backend.search(SearchQuery(text="lupus zzyzx", relax=False)).total == 0


# --- Autocomplete and related articles ------------------------------------------------


def test_suggest_completes_titles_and_taxonomy_names(backend):
    backend.index(
        [
            doc(1, "Multiple pathways to remission", taxonomy=("Multiple sclerosis", "MS")),
            doc(2, "Living with MS", taxonomy=("Multiple sclerosis", "MS")),
            doc(3, "Lupus basics", taxonomy=("Lupus",)),
        ]
    )
    completions = backend.suggest("mult")
    assert completions[0] == "Multiple sclerosis"
    assert set(completions) == {"Multiple sclerosis", "Multiple pathways to remission"}
    assert backend.suggest("MULTIPLE scl") == ["Multiple sclerosis"]
    assert backend.suggest("remis") == ["Multiple pathways to remission"]
    assert backend.suggest("mult", limit=1) == ["Multiple sclerosis"]
    assert backend.suggest("") == []
    assert backend.suggest("*?!") == []


def test_more_like_this_finds_similar_articles_but_never_itself(backend):
    backend.index(
        [
            doc(1, "Stem cell transplants in lupus", body="lupus transplant stem cell kidney " * 5),
            doc(2, "Lupus kidney transplant", body="lupus kidney transplant stem " * 5),
            doc(3, "Gardening", body="tomatoes roses compost soil " * 5),
        ]
    )
    related = backend.more_like_this(1)
    assert 1 not in related
    assert related[0] == 2
    assert backend.more_like_this(999) == []


# --- Index life cycle ---------------------------------------------------------------


def test_reindexing_replaces_in_place(backend):
    backend.index([doc(1, "Old title about lupus")])
    later = UPDATED + datetime.timedelta(hours=1)
    backend.index([doc(1, "New title about psoriasis", updated_at=later)])
    backend.index([doc(1, "New title about psoriasis", updated_at=later)])
    assert backend.search(SearchQuery()).total == 1
    assert found(backend, "lupus") == set()
    assert found(backend, "psoriasis") == {1}
    assert backend.indexed() == {1: later}


def test_taxonomy_vocabulary_never_surfaces_as_a_result(backend):
    tagged = ("Multiple sclerosis", "MS", "disseminated sclerosis")
    backend.index([doc(1, taxonomy=tagged), doc(2, taxonomy=tagged)])
    backend.rebuild([doc(1, taxonomy=tagged), doc(2, taxonomy=tagged), doc(3)])
    page = backend.search(SearchQuery())
    assert (page.total, sorted(h.id for h in page.hits)) == (3, [1, 2, 3])
    assert found(backend, "disseminated") == {1, 2}
    assert set(backend.indexed()) == {1, 2, 3}
    assert backend.suggest("dissem") == ["disseminated sclerosis"]
    # Nothing found, and the correction finds articles: its results are shown directly.
    assert backend.search(SearchQuery(text="dissemenated")).corrected == "disseminated"


def test_remove_and_clear(backend):
    backend.index([doc(1), doc(2), doc(3)])
    assert set(backend.indexed()) == {1, 2, 3}  # a searcher is open from here on
    assert backend.remove([2, 99]) == 1
    assert set(backend.indexed()) == {1, 3}
    assert backend.search(SearchQuery()).total == 2
    backend.clear()
    assert backend.exists()
    assert backend.indexed() == {}
    assert backend.index([doc(4)]) == 1
    assert set(backend.indexed()) == {4}
