"""The JSON search API and autocomplete: their contract, and errors that name the parameter."""

from __future__ import annotations

import pytest
from django.db.models import Count
from django.test import Client

from library.models import Article, Disease, Tag, Therapy

pytestmark = pytest.mark.django_db

RESULT_KEYS = {
    "slug", "title", "url", "summary", "published_on", "score", "highlight",
    "diseases", "therapies", "tags", "section", "pick",
}  # fmt: skip


def search(client, **params):
    response = client.get("/api/search/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_search_returns_the_documented_shape(client, indexed_library):
    data = search(client, q="lupus")

    assert set(data) == {
        "query", "count", "page", "num_pages", "suggestion", "results", "facets",
        "match", "not_found", "expanded", "shortened", "corrected", "understood", "answer",
        "loosened",
    }  # fmt: skip
    assert data["query"] == "lupus"
    assert data["understood"] == {"diseases": ["lupus"], "therapies": [], "intents": []}
    assert data["answer"] == "found"
    assert data["page"] == 1
    assert data["count"] == len(data["results"]) > 0
    first = data["results"][0]
    assert set(first) == RESULT_KEYS
    assert first["url"].startswith("http://testserver/articles/")
    assert isinstance(first["score"], float)
    assert "<mark>" in first["highlight"]
    assert set(data["facets"]) == {"disease", "therapy", "tag", "year"}
    assert {"slug", "name", "count"} == set(data["facets"]["disease"][0])
    assert {"value", "count"} == set(data["facets"]["year"][0])


def test_the_best_match_for_a_disease_is_the_article_about_it(client, indexed_library):
    assert search(client, q="lupus")["results"][0]["slug"] == "stem-cell-therapy-research-in-lupus"
    assert search(client, q="Guillain Barre")["results"][0]["slug"].startswith("guillain-barre")


def test_facet_counts_equal_database_counts_for_the_matching_articles(client, indexed_library):
    data = search(client, q="stem cell")
    slugs = [r["slug"] for r in data["results"]]
    for page in range(2, data["num_pages"] + 1):
        slugs += [r["slug"] for r in search(client, q="stem cell", page=page)["results"]]
    assert data["count"] == len(set(slugs))
    matching = Article.objects.filter(slug__in=slugs)

    for name, model in (("disease", Disease), ("therapy", Therapy), ("tag", Tag)):
        terms = model.objects.filter(articles__in=matching).annotate(n=Count("articles"))
        if model is Tag:  # tags are offered as filters only when they are topics
            terms = [t for t in terms if Tag.objects.with_topic_flag().get(pk=t.pk).is_topic]
        expected = {term.slug: term.n for term in terms}
        assert {f["slug"]: f["count"] for f in data["facets"][name]} == expected, name
    years = {}
    for article in matching:
        years[article.published_on.year] = years.get(article.published_on.year, 0) + 1
    assert {f["value"]: f["count"] for f in data["facets"]["year"]} == years


def test_choosing_a_facet_narrows_to_exactly_its_count(client, indexed_library):
    data = search(client, q="stem cell")
    option = next(f for f in data["facets"]["therapy"] if f["count"] < data["count"])

    narrowed = search(client, q="stem cell", therapy=option["slug"])

    assert narrowed["count"] == option["count"]
    assert all(option["slug"] in r["therapies"] for r in narrowed["results"])


def test_without_a_query_it_browses_newest_first(client, indexed_library):
    data = search(client)

    dates = [r["published_on"] for r in data["results"]]
    assert data["count"] == Article.objects.published().count()
    assert dates == sorted(dates, reverse=True)
    assert data["suggestion"] is None


def test_misspellings_are_corrected_or_get_a_suggestion(client, indexed_library):
    # Nothing found: the corrected query's results are served, saying so.
    data = search(client, q="lupis")
    assert (data["corrected"], data["suggestion"]) == ("lupus", None)
    assert data["count"] == search(client, q="lupus")["count"] > 0
    assert search(client, q="sclerosus")["corrected"] == "sclerosis"
    # A misspelt word inside a longer query that finds little: corrected, served.
    data = search(client, q="stem cell for lupis")
    assert (data["corrected"], data["suggestion"]) == ("stem cell for lupus", None)
    assert (data["match"], data["not_found"]) == ("all", [])
    assert data["results"][0]["slug"] == "stem-cell-therapy-research-in-lupus"
    # The reader's own query finds plenty: only a suggestion that finds more.
    data = search(client, q="lupus OR sclerodema")
    assert (data["suggestion"], data["corrected"]) == ("lupus OR scleroderma", None)
    assert data["count"] == search(client, q="lupus")["count"]


def test_spelling_off_searches_the_words_as_typed(client, indexed_library):
    data = search(client, q="stem cell for lupis", spelling="off")

    assert (data["query"], data["corrected"], data["suggestion"]) == (
        "stem cell for lupis",
        None,
        None,
    )
    assert (data["match"], data["not_found"]) == ("most", ["lupis"])
    assert search(client, q="stem cell for lupis", spelling="on")["corrected"] is not None


def test_an_unknown_spelling_value_is_refused_naming_the_parameter(client, indexed_library):
    response = client.get("/api/search/", {"q": "lupis", "spelling": "maybe"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"spelling": ["The spelling parameter takes on or off."]}


def test_questions_report_how_the_words_were_used(client, indexed_library):
    data = search(client, q="my husband has MS, would stem cells help him")
    assert data["match"] == "most"
    assert "husband" in data["not_found"]
    assert "Multiple sclerosis" in data["expanded"]["ms"]
    assert data["results"][0]["slug"] == "stem-cell-research-in-multiple-sclerosis"
    keyword = search(client, q="lupus")
    assert (keyword["match"], keyword["not_found"], keyword["shortened"]) == ("all", [], False)


def test_filters_and_ordering_combine_with_the_query(client, indexed_library):
    data = search(client, q="stem cell", disease="lupus", ordering="-published_on")

    dates = [r["published_on"] for r in data["results"]]
    assert dates == sorted(dates, reverse=True)
    assert all("lupus" in r["diseases"] for r in data["results"])


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"disease": "no-such-disease"}, "disease"),
        ({"therapy": "nope"}, "therapy"),
        ({"tag": "nope"}, "tag"),
        ({"year": "last-year"}, "year"),
        ({"ordering": "random"}, "ordering"),
    ],
)
def test_invalid_parameters_get_a_400_naming_the_parameter(
    client, indexed_library, params, parameter
):
    response = client.get("/api/search/", params)

    assert response.status_code == 400
    body = response.json()
    assert parameter in body["error"]
    assert parameter in body["errors"]


def test_a_page_past_the_end_serves_the_last_page(client, indexed_library):
    data = search(client, q="stem", page="99")

    assert data["page"] == data["num_pages"]
    assert data["results"]


def test_suggest_completes_titles_and_taxonomy_names(client, indexed_library):
    suggestions = client.get("/api/suggest/", {"q": "mult"}).json()["suggestions"]

    assert "Multiple sclerosis" in suggestions
    assert len(suggestions) <= 10
    assert all("mult" in s.lower() for s in suggestions)
    assert client.get("/api/suggest/", {"q": ""}).json()["suggestions"] == []
    assert client.get("/api/suggest/", {"q": "\x00<>*"}).status_code == 200


def test_search_redirects_to_the_results_page(client):
    response = client.get("/search/", {"q": "MS stem cell", "disease": "lupus"})

    assert response.status_code == 302
    assert response["Location"] == "/articles/?q=MS+stem+cell&disease=lupus"


def test_an_unreadable_index_gives_a_503_with_a_message(client, indexed_library, damage_index):
    damage_index()

    response = client.get("/api/search/", {"q": "lupus"})

    assert response.status_code == 503
    assert "temporarily unavailable" in response.json()["error"]


# --- Strict parameters and JSON errors ---------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": "²"}, "page"),  # str.isdigit() says yes, int() says no
        ({"page": "١٢"}, "page"),  # Arabic-Indic digits
        ({"page": "1.5"}, "page"),
        ({"page": " 2"}, "page"),
        ({"page": "-1"}, "page"),
        ({"year": "2025.5"}, "year"),
        ({"year": "2025.0"}, "year"),
        ({"year": "２０２５"}, "year"),
        ({"year": "+2025"}, "year"),
        ({"year": "2_025"}, "year"),
        ({"year": "1e3"}, "year"),
    ],
)
def test_page_and_year_take_ascii_digits_only(client, indexed_library, params, parameter):
    response = client.get("/api/search/", params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == f"Invalid parameter: {parameter}"
    assert list(response.json()["errors"]) == [parameter]


def test_a_huge_page_number_is_past_the_end(client, indexed_library):
    data = search(client, q="stem", page="9" * 5000)  # over int()'s 4,300-digit limit

    assert data["page"] == data["num_pages"]
    assert data["results"]


def test_a_year_in_digits_filters(client, indexed_library):
    data = search(client, year="2026")

    expected = Article.objects.published().filter(published_on__year=2026).count()
    assert data["count"] == expected > 0
    assert all(r["published_on"].startswith("2026-") for r in data["results"])


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("get", "/api/no-such-endpoint/", 404, "Not found: there is no API endpoint at this address."),
        ("post", "/api/search/", 405, "Method not allowed: the API answers GET requests only."),
        ("delete", "/api/suggest/", 405, "Method not allowed: the API answers GET requests only."),
    ],
)  # fmt: skip
def test_errors_under_api_answer_json(client, method, path, status, error):
    response = getattr(client, method)(path)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": error}
    if status == 405:
        assert response["Allow"] == "GET"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/search/", "/api/suggest/"])
def test_writing_methods_answer_405_with_allow_even_with_csrf_checks(db, method, path):
    """As a browser or script meets it: the CSRF check must not answer first (403)."""
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)(path, {"q": "lupus"})

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json() == {"error": "Method not allowed: the API answers GET requests only."}


def test_a_crash_under_api_answers_json_500(client, db, monkeypatch):
    client.raise_request_exception = False
    monkeypatch.setattr(
        "search.views.build_listing", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))
    )

    response = client.get("/api/search/", {"q": "lupus"})

    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error: the problem has been logged."}


def test_the_api_answers_json_503_when_the_database_is_down(client, db, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(*args, **kwargs):
        raise OperationalError("unable to open database file")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    monkeypatch.setattr(CursorWrapper, "executemany", refuse)

    response = client.get("/api/search/")  # browsing: no index, so the database answers

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    assert "database is temporarily unavailable" in response.json()["error"]


def test_errors_outside_api_stay_html(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in response.content.decode()


def test_a_bad_host_under_api_answers_json_400(client, db):
    response = client.get("/api/search/", HTTP_HOST="attacker.example")

    assert response.status_code == 400
    assert response.json() == {"error": "Bad request."}


def test_suggestions_name_articles_and_appear_once(client, indexed_library):
    data = client.get("/api/suggest/", {"q": "crohn"}).json()
    folded = [s.casefold().replace("\u2019", "'") for s in data["suggestions"]]
    assert len(folded) == len(set(folded)), data["suggestions"]
    assert [item["text"] for item in data["items"]] == data["suggestions"]
    articles = {item["text"]: item["url"] for item in data["items"] if item["url"]}
    assert articles == {
        "Crohn's Disease and Stem Cell Therapy: The State of Research": (
            "/articles/crohns-disease-and-stem-cell-therapy/"
        )
    }
    assert client.get("/api/suggest/", {"q": ""}).json() == {
        "query": "",
        "suggestions": [],
        "items": [],
    }
