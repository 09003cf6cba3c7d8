"""The results page and the search API share one engine answer per search counter.

Content is made and changed inside `commit()` (pagecache/conftest.py), so the content
generation moves as it does after an editor's save and its index write.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.db import connection
from django.test import Client

from search import index as search_index
from search.index import rebuild
from tests.conftest import make_article

pytestmark = pytest.mark.django_db


def asked(engine_queries: list) -> list[str]:
    """The text of each search the engine was asked to run."""
    return [query.text for query in engine_queries]


@pytest.fixture
def kidney_articles(commit):
    with commit():
        first = make_article("Kidney care in lupus", slug="kidney-care", summary="Kidney care.")
        second = make_article("Kidney tests", slug="kidney-tests", summary="Kidney tests.")
        make_article("Walking and balance", slug="walking", summary="Walking.")
        rebuild()
    return first, second


def slugs_on_page(response) -> list[str]:
    text = response.content.decode()
    return [s for s in ("kidney-care", "kidney-tests", "walking") if f'data-slug="{s}"' in text]


def test_the_api_after_the_results_page_reuses_the_engine_answer(
    client, kidney_articles, engine_queries
):
    page = client.get("/articles/", {"q": "kidney"})
    answer = client.get("/api/search/", {"q": "kidney"})

    assert (page["X-Page-Cache"], answer["X-Page-Cache"]) == ("miss", "miss")
    assert asked(engine_queries) == ["kidney"]
    found = [result["slug"] for result in answer.json()["results"]]
    assert sorted(found) == ["kidney-care", "kidney-tests"]
    assert sorted(slugs_on_page(page)) == sorted(found)


def test_another_query_or_filter_asks_the_engine_again(client, kidney_articles, engine_queries):
    client.get("/articles/", {"q": "kidney"})
    client.get("/api/search/", {"q": "walking"})
    client.get("/api/search/", {"q": "kidney", "ordering": "-published_on"})

    assert asked(engine_queries) == ["kidney", "walking", "kidney"]


def test_an_index_write_retires_the_shared_answer(client, commit, kidney_articles, engine_queries):
    first, _second = kidney_articles
    client.get("/articles/", {"q": "walking"})
    with commit():  # the editor's save, and the index write that follows it
        first.summary = "Kidney care, and walking after a transplant."
        first.save()
        search_index.update_articles([first.pk], after_commit=True)

    answer = client.get("/api/search/", {"q": "walking"})

    assert asked(engine_queries) == ["walking", "walking"]
    assert sorted(r["slug"] for r in answer.json()["results"]) == ["kidney-care", "walking"]


def test_with_the_page_cache_off_every_page_asks_the_engine(
    client, settings, kidney_articles, engine_queries
):
    settings.PAGE_CACHE = False
    client.get("/articles/", {"q": "kidney"})
    client.get("/api/search/", {"q": "kidney"})

    assert asked(engine_queries) == ["kidney", "kidney"]


def test_signed_in_editors_get_a_search_run_for_them(
    client, admin_user, kidney_articles, engine_queries
):
    client.get("/articles/", {"q": "kidney"})
    client.force_login(admin_user)
    page = client.get("/articles/", {"q": "kidney"})

    assert asked(engine_queries) == ["kidney", "kidney"]
    assert sorted(slugs_on_page(page)) == ["kidney-care", "kidney-tests"]


def test_a_text_edit_rebuilds_the_results_page_from_the_same_answer_until_the_index_has_it(
    client, commit, kidney_articles, engine_queries
):
    first, _second = kidney_articles
    before = client.get("/articles/", {"q": "kidney"})
    with mock.patch("search.index.update_articles"), commit():  # the commit alone, first
        first.summary = "Kidney care, reviewed this week."
        first.save()

    after = client.get("/articles/", {"q": "kidney"})

    assert (before["X-Page-Cache"], after["X-Page-Cache"]) == ("miss", "miss")
    assert asked(engine_queries) == ["kidney"]  # the index has not changed: the same answer
    assert sorted(slugs_on_page(after)) == ["kidney-care", "kidney-tests"]
    answer = client.get("/api/search/", {"q": "kidney"}).json()["results"]
    assert {r["slug"]: r["summary"] for r in answer}["kidney-care"] == (
        "Kidney care, reviewed this week."
    )


def read_in_a_thread(path: str, query: dict):
    try:
        return Client().get(path, query)
    finally:
        connection.close()  # this thread's own connection


@pytest.mark.django_db(transaction=True)  # the readers' threads read committed rows
def test_the_results_page_and_the_api_missing_at_once_ask_the_engine_once(monkeypatch):
    """Readers asking one search on both at the instant an index write retired it: one
    engine search serves both, and after the next write both show the new answer."""
    from library import listing
    from search.backends import get_backend

    make_article("Kidney care in lupus", slug="kidney-care", summary="Kidney care.")
    walking = make_article("Walking and balance", slug="walking", summary="Walking.")
    rebuild()
    backend, asked = get_backend(), []

    class SlowEngine:
        def __getattr__(self, name):
            return getattr(backend, name)

        def search(self, query):
            asked.append(query.text)
            time.sleep(0.5)  # long enough for the other reader to arrive meanwhile
            return backend.search(query)

    monkeypatch.setattr(listing, "get_backend", SlowEngine)

    def both_at_once() -> tuple[list[str], list[str]]:
        with ThreadPoolExecutor(2) as pool:
            page = pool.submit(read_in_a_thread, "/articles/", {"q": "kidney"})
            time.sleep(0.1)  # the page's engine search is under way
            answer = pool.submit(read_in_a_thread, "/api/search/", {"q": "kidney"})
            page, answer = page.result(), answer.result()
        assert (page["X-Page-Cache"], answer["X-Page-Cache"]) == ("miss", "miss")
        return slugs_on_page(page), [result["slug"] for result in answer.json()["results"]]

    assert both_at_once() == (["kidney-care"], ["kidney-care"])
    assert asked == ["kidney"]
    walking.summary = "Walking after a kidney transplant."
    walking.save()  # autocommit: the index write and the generation's moves happen now
    page_slugs, api_slugs = both_at_once()
    assert sorted(page_slugs) == sorted(api_slugs) == ["kidney-care", "walking"]
    assert asked == ["kidney", "kidney"]
