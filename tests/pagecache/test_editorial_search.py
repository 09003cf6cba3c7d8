"""Editors' intents and picks reach the next reader's results page at once (issue 19).

Both live in the search app, whose saves move the content generation (pagecache.signals)
like an article's: the next reader's results page is built again, and the search it runs
carries the changed vocabulary. A reader's search being counted (a search term) does not.
"""

from __future__ import annotations

import pytest

from search.backends.base import Pin
from search.index import rebuild
from search.models import EditorsPick, Intent, SearchTerm
from tests.conftest import make_article

pytestmark = pytest.mark.django_db


def results(client) -> str:
    response = client.get("/articles/", {"q": "kidney", "ordering": "newest"})
    assert response.status_code == 200
    return response["X-Page-Cache"]


def test_a_new_pick_rebuilds_the_next_readers_results_with_it(client, commit, engine_queries):
    with commit():
        article = make_article("Kidney care in lupus", slug="kidney")
        rebuild()
    assert [results(client), results(client)] == ["miss", "hit"]
    assert len(engine_queries) == 1 and engine_queries[0].vocabulary.pins == ()

    with commit():
        EditorsPick.objects.create(query="kidney", article=article)

    assert results(client) == "miss"
    assert engine_queries[-1].vocabulary.pins == (Pin("kidney", article.pk),)


def test_an_intent_edit_rebuilds_the_next_readers_results_with_it(client, commit, engine_queries):
    with commit():
        make_article("Kidney care in lupus", slug="kidney")
        rebuild()
    assert [results(client), results(client)] == ["miss", "hit"]

    with commit():
        intent = Intent.objects.get(slug="cost")
        intent.phrases += ", kidney money"
        intent.save()

    assert results(client) == "miss"
    cost = next(i for i in engine_queries[-1].vocabulary.intents if i.slug == "cost")
    assert "kidney money" in cost.phrases

    with commit():
        intent.active = False
        intent.save()

    assert results(client) == "miss"
    assert "cost" not in {i.slug for i in engine_queries[-1].vocabulary.intents}


def test_a_counted_search_leaves_the_cached_results_alone(client, commit, engine_queries):
    with commit():
        make_article("Kidney care in lupus", slug="kidney")
        rebuild()
    assert results(client) == "miss"

    with commit():
        SearchTerm.objects.record("kidney", 1)

    assert results(client) == "hit"
    assert len(engine_queries) == 1
