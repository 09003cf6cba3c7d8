"""The search results page (/articles/?q=…) on the shipped content, as a reader sees it."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from library.models import Article, Disease
from tests.conftest import site_queries

pytestmark = pytest.mark.django_db


def result_slugs(client, query: str, **params) -> list[str]:
    response = client.get("/articles/", {"q": query, **params})
    assert response.status_code == 200
    return re.findall(r'<article class="card" data-slug="([^"]+)"', response.content.decode())


# --- Matching rules, each on the shipped articles ----------------------------


def test_an_abbreviation_finds_articles_that_only_write_the_name_out(client, indexed_library):
    spelled_out = (
        Article.objects.filter(body__icontains="multiple sclerosis")
        .exclude(body__regex=r"\bMS\b")
        .exclude(title__regex=r"\bMS\b")
        .exclude(summary__regex=r"\bMS\b")
    )
    spelled_out = spelled_out.exclude(diseases__slug="multiple-sclerosis")
    assert spelled_out.exists(), "the shipped content should have such an article"

    found = result_slugs(client, "MS")

    assert "stem-cell-research-in-multiple-sclerosis" in found[:2]
    for article in spelled_out:
        assert article.slug in found


def test_scleroderma_finds_systemic_sclerosis(client, indexed_library):
    assert (
        result_slugs(client, "scleroderma")[0]
        == "systemic-sclerosis-scleroderma-and-stem-cell-transplantation"
    )


def test_an_alias_edited_in_the_admin_takes_effect_without_a_rebuild(
    client, indexed_library, committed, django_capture_on_commit_callbacks
):
    committed()
    assert result_slugs(client, "zebrafoo") == []
    lupus = Disease.objects.get(slug="lupus")
    lupus.aliases += "\nzebrafoo"
    with django_capture_on_commit_callbacks(execute=True):
        lupus.save()

    assert "stem-cell-therapy-research-in-lupus" in result_slugs(client, "zebrafoo")


def test_british_spelling_finds_the_american_one(client, indexed_library):
    found = result_slugs(client, "haematopoietic stem cell transplantation")

    assert found[0] == "hematopoietic-stem-cell-transplantation-what-it-involves"


def test_stemming_accents_and_apostrophes_are_forgiven(client, indexed_library):
    assert "crohns-disease-and-stem-cell-therapy" in result_slugs(client, "crohns")[:1]
    assert result_slugs(client, "Guillain Barre")[0].startswith("guillain-barre-syndrome")
    assert result_slugs(client, "GUILLAIN-BARRÉ")[0].startswith("guillain-barre-syndrome")
    assert "hematopoietic-stem-cell-transplantation-what-it-involves" in result_slugs(
        client, "transplants"
    )


def test_a_quoted_phrase_needs_the_words_together(client, indexed_library):
    phrase = result_slugs(client, '"cord blood"')
    loose = result_slugs(client, "cord blood")

    assert "umbilical-cord-blood-therapy-uses-research-and-limits" in phrase
    assert "stem-cell-research-in-multiple-sclerosis" in loose  # "spinal cord", "blood tests"
    assert "stem-cell-research-in-multiple-sclerosis" not in phrase


def test_exclusion_and_or(client, indexed_library):
    lupus = set(result_slugs(client, "lupus"))
    without = set(result_slugs(client, "lupus -transplantation"))
    either = set(result_slugs(client, "psoriasis OR scleroderma"))

    assert without < lupus
    assert set(result_slugs(client, "psoriasis")) <= either
    assert set(result_slugs(client, "scleroderma")) <= either


# --- The page ----------------------------------------------------------------


def test_hits_show_highlighted_snippets_dates_and_taxonomy(client, indexed_library):
    page = client.get("/articles/", {"q": "lupus"}).content.decode()

    assert re.search(r'<p class="snippet">[^<]*(?:<[^>]+>[^<]*)*<mark>lupus</mark>', page, re.I)
    assert "<time datetime=" in page
    assert 'class="chip chip-disease"' in page
    assert re.search(r'<h2 id="results-heading"[^>]*>\s*\d+ articles? matching “lupus”', page)


def test_with_a_query_the_default_ordering_is_relevance(client, indexed_library):
    response = client.get("/articles/", {"q": "lupus"})

    assert response.context["listing"].ordering == "relevance"
    assert '<option value="relevance" selected>' in response.content.decode()


def test_a_misspelling_that_finds_nothing_shows_the_corrected_results(client, indexed_library):
    page = client.get("/articles/", {"q": "lupis"}).content.decode()

    assert "Showing results for <strong>lupus</strong>" in page
    assert 'Search instead for <a href="?q=%22lupis%22">lupis</a>' in page
    assert "Stem Cell Therapy Research in Lupus" in page
    exact = client.get("/articles/", {"q": '"lupis"'}).content.decode()
    assert "No articles match “&quot;lupis&quot;”" in exact


def test_misspelling_offers_did_you_mean_as_a_link(client, indexed_library):
    page = client.get("/articles/", {"q": "lupus sclerosus"}).content.decode()

    assert re.search(r'Did you mean <a href="\?q=lupus\+sclerosis"[^>]*>lupus sclerosis</a>', page)
    assert (
        "Showing articles that match most of your words. Not found: <strong>sclerosus</strong>"
        in page
    )


def test_no_results_page_explains_and_offers_ways_on(client, indexed_library):
    page = client.get("/articles/", {"q": "xylophonic quasar"}).content.decode()

    assert "No articles match “xylophonic quasar”" in page
    assert "<strong>xylophonic</strong>" in page
    assert 'href="/diseases/"' in page


@pytest.mark.parametrize(
    "query",
    ['"unclosed', "<script>alert(1)</script>", "title:lupus", "*", "NOT NOT NOT", "((((",
     "a" * 10_000, "lupus\x07\x1b", '-"', "OR OR", "cell*", "?"],
)  # fmt: skip
def test_hostile_queries_get_a_normal_page_with_the_input_escaped(client, indexed_library, query):
    response = client.get("/articles/", {"q": query})

    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    if "<script>" in query:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_results_page_runs_a_fixed_number_of_queries(client, indexed_library, page_cache_off):
    def count(query: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get("/articles/", {"q": query, "disease": "lupus"})
        return len(site_queries(captured))

    assert count("stem cell") == count("lupus")  # 20 hits or 4: the same queries
    assert count("zzzz") <= count("lupus")  # no hits: nothing to load


def test_a_missing_index_still_answers_with_a_clear_message(
    client, whoosh_index, shipped_content, caplog
):
    response = client.get("/articles/", {"q": "lupus"})
    page = response.content.decode()

    assert response.status_code == 200
    assert "Search is temporarily unavailable" in page
    assert "No articles match" not in page
    assert any(record.levelname == "ERROR" for record in caplog.records)


def test_a_damaged_index_answers_with_a_message_and_logs_the_error(
    client, indexed_library, damage_index, caplog
):
    damage_index()

    response = client.get("/articles/", {"q": "lupus"})

    assert response.status_code == 200
    assert "Search is temporarily unavailable" in response.content.decode()
    assert any(record.levelname == "ERROR" for record in caplog.records)


def test_related_articles_come_from_the_index_and_exclude_the_article(client, indexed_library):
    article = Article.objects.get(slug="stem-cell-therapy-research-in-lupus")

    related = client.get(article.get_absolute_url()).context["related"]

    assert related
    assert article not in related


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.text(
        alphabet=st.sampled_from(list('ab lupus MS "-()*?:~^ORNOTAND\\/<>&\t\u00e9\u2019'))
        | st.characters(exclude_categories=("Cs",)),  # a URL cannot carry lone surrogates
        max_size=300,
    )
)
def test_any_query_string_gets_a_page_and_never_an_error(client, indexed_library, query):
    response = client.get("/articles/", {"q": query})
    api = client.get("/api/search/", {"q": query})

    assert response.status_code == 200
    assert api.status_code in (200, 400)  # 400 only for a NUL character, named in the answer
    if api.status_code == 400:
        assert "q" in api.json()["errors"]


# --- Telling the reader what happened, and keeping their place ----------------


def test_a_question_says_which_words_were_not_found(client, indexed_library):
    page = client.get("/articles/", {"q": "my husband has MS, would stem cells help him"})
    text = page.content.decode()
    assert (
        "Showing articles that match most of your words. Not found: <strong>husband</strong>"
        in text
    )
    assert "Also searched: Multiple sclerosis" in text
    assert 'for MS. <a href="?q=my+husband+has+%22MS%22%2C+would+stem+cells+help+him">' in text
    assert result_slugs(client, "my husband has MS, would stem cells help him")[0] == (
        "stem-cell-research-in-multiple-sclerosis"
    )


def test_the_exact_word_link_searches_without_synonyms(client, indexed_library):
    exact = client.get("/articles/", {"q": '"MS"'}).content.decode()
    assert "Also searched" not in exact
    assert len(result_slugs(client, '"MS"')) < len(result_slugs(client, "MS"))


def test_active_filters_are_chips_and_the_heading_names_them(client, indexed_library):
    response = client.get("/articles/", {"q": "stem cell", "disease": "lupus"})
    page = response.content.decode()
    count = len(result_slugs(client, "stem cell", disease="lupus"))
    heading = re.search(r'<h2 id="results-heading"[^>]*>\s*(.*?)\s*</h2>', page, re.S).group(1)
    assert (
        heading
        == f"{count} articles about Lupus (systemic lupus erythematosus) matching “stem cell”"
    )
    assert re.search(
        r'<a class="chip" href="\?q=stem\+cell" data-chip="disease"><span class="visually-hidden">'
        r"Remove filter: </span>Lupus \(systemic lupus erythematosus\)",
        page,
    )
    assert '<a class="clear-filters" href="/articles/?q=stem+cell">Clear all</a>' in page


def test_a_bad_parameter_is_dropped_and_the_search_stays(client, indexed_library):
    response = client.get("/articles/", {"q": "lupus", "ordering": "newest", "disease": "lupus"})
    page = response.content.decode()
    assert "The sort order “newest” could not be used and was ignored" in page
    assert 'value="lupus"' in page  # the search box keeps the query
    assert result_slugs(client, "lupus", ordering="newest", disease="lupus") == result_slugs(
        client, "lupus", disease="lupus"
    )
    assert result_slugs(client, "lupus", disease="lupus")


def test_slugs_are_matched_case_insensitively(client, indexed_library):
    assert result_slugs(client, "stem cell", disease="LUPUS") == result_slugs(
        client, "stem cell", disease="lupus"
    )
    assert "could not be used" not in client.get("/articles/?disease=LUPUS").content.decode()


def test_chips_and_notes_add_no_queries(client, indexed_library, page_cache_off):
    def count(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get("/articles/", params)
        return len(site_queries(captured))  # not the PostgreSQL backend's index queries

    # Fixed counts: session and the vocabulary (diseases and therapies, which are the
    # synonyms too; intents; editors' picks: four), one validation query per filter given,
    # the page's articles with their taxonomy, facet labels; a dropped parameter means the
    # remaining filters are validated once more.
    one_filter = count(q="lupus", disease="lupus")
    # A query alone is a new search: one more statement records it as a search term,
    # after the response (the test client runs that in the request).
    assert count(q="lupus") == (one_filter - 1) + 1
    assert count(q="my husband has MS, would stem cells help him", disease="lupus") == one_filter
    assert count(q="lupus", disease="lupus", therapy="hsct") == one_filter + 1
    assert count(q="lupus", disease="lupus", therapy="hsct", ordering="newest") == one_filter + 3
    # With the page cache's generation read; 11 before the vocabulary's intents and picks.
    assert one_filter == 13


def test_an_or_of_two_words_with_synonyms_gets_a_note_for_each(client, indexed_library):
    """`psoriasis OR scleroderma`: one note per word (not "for psoriasis scleroderma"),
    and each note's "Search only for" link finds articles: that word exactly, or the other
    word with its synonyms."""
    page = client.get("/articles/", {"q": "psoriasis OR scleroderma"}).content.decode()

    found = re.findall(
        r'<p class="search-note" data-expanded>Also searched: (.*?), for (\w+)\. '
        r'<a href="\?q=([^"]+)">Search only for “(\w+)”</a></p>',
        page,
    )
    assert [(words, only) for _names, words, _link, only in found] == [
        ("psoriasis", "psoriasis"),
        ("scleroderma", "scleroderma"),
    ]
    assert "plaque psoriasis" in found[0][0] and "Systemic sclerosis" in found[1][0]
    for _names, word, link, _only in found:
        query = link.replace("+", " ").replace("%22", '"')
        assert query in ('"psoriasis" OR scleroderma', 'psoriasis OR "scleroderma"')
        slugs = result_slugs(client, query)
        assert slugs, f"“Search only for {word}” found nothing"
        assert set(slugs) <= set(result_slugs(client, "psoriasis OR scleroderma"))
    assert "psoriasis-and-stem-cell-research" in result_slugs(client, '"psoriasis" OR scleroderma')


def test_the_api_reports_each_or_words_synonyms_under_that_word(client, indexed_library):
    expanded = client.get("/api/search/", {"q": "psoriasis OR scleroderma"}).json()["expanded"]
    assert set(expanded) == {"psoriasis", "scleroderma"}
    assert "plaque psoriasis" in expanded["psoriasis"]
    assert "Systemic sclerosis" in expanded["scleroderma"]
    assert "Systemic sclerosis" not in expanded["psoriasis"]
