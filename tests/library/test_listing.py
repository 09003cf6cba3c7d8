"""Browsing is answered by the search index when there is one, and by SQL otherwise:
both must list the same articles with the same facet counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from library.filters import ArticleFilter
from library.listing import _from_database, build_listing
from library.models import Article
from tests.conftest import site_queries

pytestmark = pytest.mark.django_db

BROWSE_PARAMETERS = [
    "",
    "disease=multiple-sclerosis",
    "disease=lupus&therapy=hsct",
    "therapy=mesenchymal-stem-cell-therapy&tag=clinical-trials",
    "year=2026",
    "ordering=title",
    "ordering=published_on&disease=psoriasis",
]


def filterset(params: str) -> ArticleFilter:
    return ArticleFilter(QueryDict(params), queryset=Article.objects.published())


def summary(listing) -> tuple:
    return (
        [item.article.slug for item in listing.items],
        listing.total,
        {
            name: sorted((o.value, o.count, o.selected) for o in options)
            for name, options in listing.facets.items()
        },
    )


@pytest.mark.parametrize("params", BROWSE_PARAMETERS)
def test_browsing_from_the_index_agrees_with_the_database(indexed_library, params):
    from_index = build_listing(filterset(params), 1)
    from_database = _from_database(filterset(params), 1)

    assert summary(from_index) == summary(from_database)
    assert from_index.total > 0 or params.startswith("ordering=published_on")


def test_browsing_from_the_index_runs_few_queries(indexed_library):
    with CaptureQueriesContext(connection) as captured:
        listing = build_listing(filterset("disease=lupus"), 1)

    assert listing.items
    # The disease slug, the page's rows, three prefetches, three facet labels.
    assert len(site_queries(captured)) == 8


def test_browsing_falls_back_to_the_database_when_the_index_is_damaged(
    indexed_library, damage_index
):
    damage_index()

    listing = build_listing(filterset("disease=lupus"), 1)

    assert listing.total == Article.objects.published().filter(diseases__slug="lupus").count()
    assert listing.search_error is None
