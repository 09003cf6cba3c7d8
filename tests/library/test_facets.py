"""Facet names are defined once (`FACET_FIELDS`); the library's parameters follow them."""

from __future__ import annotations

from library import feeds, seo
from library.facets import FACET_MODELS, FACET_NAMES, YEAR, facet_title, parameter_of
from library.filters import ArticleFilter
from library.models import Article, Disease, Tag, Therapy
from search.backends.base import FACET_FIELDS


def test_each_taxonomy_facet_filters_by_the_article_relation_of_its_name():
    assert {"disease": Disease, "therapy": Therapy, "tag": Tag} == FACET_MODELS
    for facet in FACET_FIELDS:
        if facet.name in FACET_MODELS:
            relation = Article._meta.get_field(facet.field)
            assert relation.related_model is FACET_MODELS[facet.name]
    assert YEAR == "year"
    assert parameter_of(Disease) == "disease" and parameter_of(Therapy) == "therapy"


def test_the_list_pages_feeds_and_canonical_urls_take_every_facet_as_a_parameter():
    assert FACET_NAMES == ("disease", "therapy", "tag", "year")
    for name in FACET_NAMES:
        assert name in ArticleFilter.base_filters
        assert name in feeds.FEED_PARAMS
        assert name in seo.CANONICAL_PARAMS
    assert [facet_title(name) for name in FACET_NAMES] == ["Diseases", "Therapies", "Tags", "Year"]
