"""How the PostgreSQL backend writes a query for matching, and that it matches the same.

A synonym's phrase that contains a shorter alternative of the same unit (a word, or a
phrase, in order) or every word of a loose one is left out of the query that selects
articles: any article it would match, that alternative matches already. The GIN index
cannot answer a phrase alone (it holds no word positions), so PostgreSQL rechecks it
in every article that has its words; leaving it out saves that work and changes no
result. Ranking still counts every alternative.
"""

from __future__ import annotations

import dataclasses
import datetime
import runpy
import threading

import numpy as np
import pytest
from django.conf import settings as site_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from search.backends import get_backend, reset_backends
from search.backends.base import SearchDocument, SearchQuery
from search.backends.postgres import (
    FRESH_MAX,
    RANK_WEIGHTS,
    PostgresOperations,
    quote,
    to_tsquery_text,
    unit_tsquery,
)
from search.backends.query import Unit, parse_query
from search.planner import Ordering
from tests.search.engines import (
    POSTGRES,
    doc,
    empty_postgres_index,
    engine_backend,
    engine_config,
)

HSCT = Unit(
    alternatives=(
        ("hsct",),
        ("autolog", "hsct"),
        ("stem", "cell", "transplant"),
        ("peripher", "blood", "stem", "cell", "transplant"),
        ("bone", "marrow", "transplant"),
    ),
    source=("HSCT",),
)


def test_a_phrase_containing_a_shorter_alternative_is_left_out_of_matching_not_ranking():
    assert unit_tsquery(HSCT) == (
        "('hsct' | ('stem' <-> 'cell' <-> 'transplant') | ('bone' <-> 'marrow' <-> 'transplant'))"
    )
    assert unit_tsquery(HSCT, ranked=True).count("<->") == 2 + 4 + 1 + 2


def test_a_phrase_with_every_word_of_a_loose_alternative_is_left_out_of_matching():
    unit = Unit(
        alternatives=(("stem", "cell", "transplant"), ("hsct",)),
        loose=(("stem", "cell", "transplant"),),
        source=("stem", "cell", "transplant"),
    )
    assert unit_tsquery(unit) == "('hsct' | ('stem' & 'cell' & 'transplant'))"


SYNONYMS = (
    (
        "HSCT",
        "autologous HSCT",
        "stem cell transplant",
        "peripheral blood stem cell transplant",
        "bone marrow transplant",
    ),
)
TEXTS = {
    1: "Autologous HSCT was offered.",
    2: "A peripheral blood stem cell transplant was offered.",
    3: "Stem cells were collected before the transplant.",
    4: "A bone marrow transplant was offered.",
    5: "Bone density and marrow were measured before a kidney transplant.",
    6: "Haematopoietic stem cell transplantation was offered.",
    7: "Nothing of the kind.",
}


@pytest.fixture(params=[pytest.param("postgres", marks=POSTGRES)])
def engine(request, settings, search_index_dir):
    return engine_backend(request, settings, search_index_dir)


@pytest.mark.parametrize("text", ["HSCT", "bone marrow transplant"])
def test_leaving_phrases_out_never_changes_which_articles_match(engine, text):
    engine.index([doc(n, body=body) for n, body in TEXTS.items()])
    compiled = engine._compile(parse_query(text), SYNONYMS)
    units = compiled.countable_units() or compiled.must_units()

    def matching(query: str) -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT article_id FROM search_entry WHERE vector @@ %s::tsquery", [query]
            )
            return {row[0] for row in cursor.fetchall()}

    pruned, full = to_tsquery_text(units), to_tsquery_text(units, ranked=True)
    assert pruned != full
    assert matching(pruned) == matching(full)
    page = engine.search(SearchQuery(text=text, synonyms=SYNONYMS, per_page=100, relax=False))
    assert {hit.id for hit in page.hits} == matching(full)


def test_a_fresh_process_analyses_a_query_and_its_synonyms_in_one_statement(engine):
    # The synonym index reads each phrase as written and casefolded: both are analysed
    # with the query's words, not one statement per phrase the first time it is used.
    engine._lexemes.clear()
    with CaptureQueriesContext(connection) as captured:
        compiled = engine._compile(parse_query("HSCT"), SYNONYMS)

    units = compiled.countable_units() or compiled.must_units()
    assert "'bone' <-> 'marrow' <-> 'transplant'" in to_tsquery_text(units)  # synonyms applied
    assert len([q for q in captured if "to_tsvector" in q["sql"]]) == 1


def test_a_phrase_page_analyses_the_words_between_its_words_in_the_pages_one_batch(engine):
    # The highlighter asks whether the words between two of the phrase's words are
    # index words (then the two are not the phrase): those words go in the page's one
    # batch with the candidate words, not one statement each.
    body = (
        "Clinical research in several hospitals, then trials. Clinical work and new "
        "trials. Two clinical trials were offered. Clinical notes, early trials."
    )
    engine.index([doc(1, body=body), doc(2, body="Nothing of the kind.")])
    engine._lexemes.clear()
    with CaptureQueriesContext(connection) as captured:
        page = engine.search(SearchQuery(text='"clinical trials"', per_page=10))

    assert [hit.id for hit in page.hits] == [1]
    assert len([q for q in captured if "to_tsvector" in q["sql"]]) == 2  # query, page


# Where a phrase's words stand: the title, summary and topics (each article's small
# `head`, tested first), the body, both, or apart.
PLACES = {
    1: doc(1, "Clinical trials of stem cells"),
    2: doc(2, summary="What clinical trials found.", body="Trials were clinical."),
    3: doc(3, body="Two clinical trials were run."),
    4: doc(4, "Clinical care", body="Trials of new drugs."),  # across title and body
    5: doc(5, "Clinical notes", summary="Early trials.", body="Clinical work, then trials."),
    6: doc(6, taxonomy=("Clinical trials",), body="Nothing of the kind."),
    7: doc(7, "Trials and clinical work", body="No phrase here, clinical or trials."),
    8: doc(8, body="Nothing of the kind."),
    9: doc(9, "Notes on clinical", summary="Trials ahead."),  # across title and summary
    # Stop words between a phrase's words are not words of the index (dropped before
    # analysis, as Whoosh drops them): the words either side stand next to each other.
    20: doc(20, body="The effects of the treatment lasted."),
    21: doc(21, "Effects of treatment"),
    22: doc(22, body="Side effects, and then a treatment."),  # "then" stands between
    23: doc(23, "Lasting effects", summary="Of the treatment."),  # across, stop words between
}


@pytest.mark.parametrize(
    "text",
    [
        '"clinical trials"',
        '"clinical trials" -drugs',
        '"effects of the treatment"',
        "HSCT",
        "stem cell transplant",
        "stem -transplant",
        "trial -stem",
    ],
)
def test_phrases_and_exclusions_match_what_each_articles_vector_matches(engine, text):
    # A phrase is looked up by its words and tested on each article's title, summary
    # and topics before its whole text; a word excluded is the index's own answer.
    # Neither may change which articles match.
    engine.index([*PLACES.values(), *(doc(10 + n, body=body) for n, body in TEXTS.items())])
    compiled = engine._compile(parse_query(text), SYNONYMS)
    query = " & ".join(
        part
        for part in (
            to_tsquery_text(compiled.countable_units() or compiled.must_units(), ranked=True),
            compiled.excluded and "!(" + to_tsquery_text(compiled.excluded, " | ") + ")",
        )
        if part
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT article_id FROM search_entry WHERE vector @@ %s::tsquery", [query])
        expected = {row[0] for row in cursor.fetchall()}

    page = engine.search(SearchQuery(text=text, synonyms=SYNONYMS, per_page=100, relax=False))
    assert expected  # the texts hold an answer for every query
    assert {hit.id for hit in page.hits} == expected


def test_a_quoted_phrase_skips_stop_words_in_every_section(engine):
    # What a reader sees for a quoted phrase with stop words: the articles holding its
    # other words side by side, in the body, the title, or across title and summary.
    engine.index(list(PLACES.values()))
    page = engine.search(SearchQuery(text='"effects of the treatment"', per_page=100, relax=False))
    assert sorted(hit.id for hit in page.hits) == [20, 21, 23]


def test_a_word_only_a_scheduled_article_holds_is_not_found_before_its_date(engine):
    # Which of the reader's words no visible article holds: each word's articles come
    # from the index, and the date is tested on those.
    launch = datetime.date(2026, 3, 10)
    engine.index(
        [
            doc(1, "Lupus trial results", published_on=datetime.date(2025, 1, 1)),
            doc(2, "Lupus zebrafish study", published_on=launch),
        ]
    )

    def search(day: datetime.date):
        return engine.search(SearchQuery(text="lupus zebrafish", visible_on=day))

    before = search(launch - datetime.timedelta(days=1))
    assert ([hit.id for hit in before.hits], before.not_found) == ([1], ["zebrafish"])
    after = search(launch)
    assert ([hit.id for hit in after.hits], after.not_found) == ([2, 1], [])


@pytest.mark.parametrize("zero", [False, True])
def test_a_histogram_within_a_phrase_match_counts_each_articles_words(engine, zero):
    # A question's topic with phrase synonyms ("recovery after HSCT") narrows the
    # histogram of how many of its words each article matches: an article counts
    # when it matches the topic (its phrases rechecked), by every word it matches.
    texts = {
        **TEXTS,
        8: "Recovery after a bone marrow transplant.",
        9: "Recovery after surgery.",
        10: "Recovery: stem cells, then a transplant.",  # the words, not the phrase
    }
    engine.index([doc(n, body=body) for n, body in texts.items()])
    compiled = engine._compile(parse_query("recovery HSCT"), SYNONYMS)
    units = compiled.countable_units()
    with connection.cursor() as cursor:
        operations = PostgresOperations(engine, cursor)
        candidates = operations.candidates(compiled, SearchQuery(text="recovery HSCT"))
        within = operations.strict(candidates, units[1:])
        histogram = operations.coverage_counts(within, units, zero=zero)
        both = operations.at_least(within, units, 2)
        rows, _facets = operations.page(both, Ordering("relevance", units, units), 0, 10)

    assert histogram == {2: 1, 1: 4}  # 8; then 1, 2, 4 and 6 ("transplantation")
    assert [row.ref for row in rows] == [8]


@pytest.fixture
def committed_engine(settings, search_index_dir, transactional_db):
    """The PostgreSQL backend on a database whose writes commit, emptied afterwards:
    a search then sees only what was committed before it started."""
    settings.SEARCH_BACKENDS = {"default": engine_config("postgres", search_index_dir)}
    reset_backends()
    yield get_backend()
    empty_postgres_index()


@pytest.mark.postgres
@pytest.mark.parametrize("fresh_max", [FRESH_MAX, 2])
def test_facet_counts_follow_committed_edits_between_searches(
    committed_engine, monkeypatch, fresh_max
):
    # The backend keeps each article's facets between searches; an article re-indexed
    # or removed afterwards, in another transaction, must count as it is now, whether
    # the page reads the edited rows itself or the kept facets are read again.
    monkeypatch.setattr("search.backends.postgres.FRESH_MAX", fresh_max)
    docs = [
        doc(n, f"Lupus article {n}", diseases=("lupus",), tags=("guide",)) for n in range(1, 11)
    ]
    committed_engine.index(docs)

    def facets() -> dict:
        page = committed_engine.search(SearchQuery(text="lupus"))
        return {f: {c.value: c.count for c in counts} for f, counts in page.facets.items()}

    assert facets()["disease"] == {"lupus": 10}
    committed_engine.index(
        [dataclasses.replace(d, diseases=("psoriasis",), tags=()) for d in docs[:4]]
    )
    committed_engine.remove([10])
    for _ in range(2):  # the edited rows read by the page, then (fresh_max 2) read again
        assert facets()["disease"] == {"lupus": 5, "psoriasis": 4}
        assert facets()["tag"] == {"guide": 5}


@pytest.mark.postgres
def test_a_web_worker_reads_the_kept_entries_before_its_first_reader(committed_engine):
    # gunicorn calls `post_worker_init` in each worker once the site is loaded: the
    # backend then reads what it keeps between searches in a thread of its own, and
    # the first reader's results page does not read it again.
    committed_engine.index([doc(1, "Lupus guide"), doc(2, "Kidney notes")])
    hooks = runpy.run_path(str(site_settings.BASE_DIR / "gunicorn.conf.py"))
    hooks["post_worker_init"](None)
    for thread in threading.enumerate():
        if thread.name == "search-warm-up":
            thread.join(timeout=60)
    with CaptureQueriesContext(connection) as captured:
        page = committed_engine.search(SearchQuery(text="lupus"))

    assert [hit.id for hit in page.hits] == [1]
    assert not [q for q in captured if "pg_snapshot_xmin" in q["sql"]]  # no second read


def titled(n: int, title: str, published_on: datetime.date | None = None) -> SearchDocument:
    """An article that mentions lupus in its body, whatever its title."""
    return doc(
        n,
        title,
        body=f"Notes on lupus and kidneys, number {n}.",
        published_on=published_on or datetime.date(2024, 1, n),
    )


@pytest.mark.postgres
@pytest.mark.parametrize("fresh_max", [FRESH_MAX, 2])
# Every word; the most words; the most words of articles without another word.
@pytest.mark.parametrize("text", ["lupus", "lupus zebra", "lupus zebra -giraffe"])
def test_relevance_order_follows_committed_title_edits_between_searches(
    committed_engine, monkeypatch, fresh_max, text
):
    # The backend keeps each article's title, summary and topic words (what chooses the
    # articles ranked by their whole text) between searches. With room for only two,
    # the two whose titles name lupus lead; a title edited or an article removed in
    # another transaction afterwards must count as it is now. No article has "zebra":
    # that search matches the articles with the most of its words.
    monkeypatch.setattr("search.backends.postgres.FRESH_MAX", fresh_max)
    monkeypatch.setattr("search.backends.postgres.RANK_POOL", 2)
    titles = {1: "Lupus guide", 2: "Lupus care", 3: "Kidney notes", 4: "Diet", 5: "Sleep"}
    committed_engine.index([titled(n, title) for n, title in titles.items()])

    def first_two() -> set[int]:
        page = committed_engine.search(SearchQuery(text=text, per_page=2))
        assert page.total == len(titles) - removed
        assert page.match == ("all" if text == "lupus" else "most")
        return {hit.id for hit in page.hits}

    removed = 0
    assert first_two() == {1, 2}
    edited = {1: "Diet and kidneys", 2: "Care at home", 4: "Lupus diet", 5: "Lupus sleep"}
    committed_engine.index([titled(n, title) for n, title in edited.items()])
    for _ in range(2):  # the edited rows read by the count, then (fresh_max 2) read again
        assert first_two() == {4, 5}
    committed_engine.remove([4])
    removed = 1
    for _ in range(2):
        assert 5 in first_two() and 4 not in first_two()


@pytest.mark.postgres
@pytest.mark.parametrize("fresh_max", [FRESH_MAX, 2])
def test_date_and_title_orders_follow_committed_edits_between_searches(
    committed_engine, monkeypatch, fresh_max
):
    # Newest first and by title are ordered from each article's kept date and title.
    monkeypatch.setattr("search.backends.postgres.FRESH_MAX", fresh_max)
    docs = [titled(n, f"Lupus {letter}") for n, letter in zip(range(1, 6), "abcde", strict=True)]
    committed_engine.index(docs)

    def order(ordering: str) -> list[int]:
        page = committed_engine.search(SearchQuery(text="lupus", ordering=ordering))
        return [hit.id for hit in page.hits]

    assert order("-published_on") == [5, 4, 3, 2, 1]
    assert order("title") == [1, 2, 3, 4, 5]
    committed_engine.index(
        [
            titled(1, "Lupus z", datetime.date(2025, 6, 1)),
            titled(2, "Lupus ca", datetime.date(2023, 6, 1)),  # between two kept titles
            titled(3, "Lupus b"),  # the same title as article 2 had
        ]
    )
    committed_engine.remove([5])
    for _ in range(2):  # the edited rows read by the count, then (fresh_max 2) read again
        assert order("-published_on") == [1, 4, 3, 2]
        assert order("published_on") == [2, 3, 4, 1]
        assert order("title") == [3, 2, 4, 1]


@pytest.mark.postgres
def test_kept_title_and_summary_ranks_are_the_servers_bit_for_bit(committed_engine):
    # The process ranks a match by each article's title, summary and topic words the
    # way PostgreSQL's `ts_rank` does, in the same single-precision arithmetic: any
    # difference could change which articles reach the ranked pool.
    words = ["lupus", "kidney", "stem", "cell", "transplant", "sleep", "diet", "arthritis"]
    docs = []
    for n in range(1, 41):
        picked = [words[(n * k) % len(words)] for k in range(1, 1 + n % 6)]
        docs.append(
            doc(
                n,
                " ".join(picked[:3]) or "Notes",
                summary=" ".join(picked * (n % 4 + 1)),
                taxonomy=tuple(picked[-2:]),
                body="lupus " * n,
            )
        )
    committed_engine.index(docs)
    with connection.cursor() as cursor:
        operations = PostgresOperations(committed_engine, cursor)
        known = operations._kept_entries(reload=True)
        rows = known.rows(np.arange(1, 41))
        for size in range(1, len(words) + 1):
            lexemes = sorted(set(committed_engine.analyse(" ".join(words[:size]))))
            query = " | ".join(quote(lexeme) for lexeme in lexemes)
            cursor.execute(
                f"SELECT ts_rank('{RANK_WEIGHTS}', head, %s::tsquery) FROM search_entry "
                "ORDER BY article_id",
                [query],
            )
            server = np.array([rank for (rank,) in cursor.fetchall()], dtype=np.float32)
            assert server.any()
            assert (known.head_ranks(lexemes)[rows] == server).all(), lexemes
