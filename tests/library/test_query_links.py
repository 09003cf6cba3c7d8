"""A facet option's link (`toggle_param`) is the reader's query with one value added or
removed and the page dropped: the same string as encoding a changed copy of the query,
whatever the query holds, and for every option of one page."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.template import Context, Template
from django.test import RequestFactory


def former_toggle(query: str, name: str, value: str) -> str:
    """`toggle_param` as it was: copy the query, change it, encode it all."""
    params = QueryDict(query).copy()
    params.pop("page", None)
    values = params.getlist(name)
    params.setlist(name, [v for v in values if v != value] if value in values else [*values, value])
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


QUERIES = [
    "",
    "q=stem+cells",
    "q=stem+cells&page=3",
    "page=2&disease=lupus",
    "disease=lupus&disease=multiple-sclerosis&q=hsct&page=4",
    "q=%C3%A9t%C3%A9+%26+%3Cb%3E&tag=clinical-trials&year=2024",
    "therapy=hsct&q=a%2Bb&therapy=msc",
    "disease=",
]
TOGGLES = [
    ("disease", "lupus"),
    ("disease", "multiple-sclerosis"),
    ("therapy", "hsct"),
    ("tag", "clinical-trials"),
    ("year", "2024"),
    ("page", "5"),
    ("disease", ""),
]


@pytest.mark.parametrize("query", QUERIES)
def test_each_facet_link_is_the_query_with_one_value_toggled(query):
    request = RequestFactory().get(f"/articles/?{query}")
    template = Template(
        "{% load library_tags %}"
        + "|".join(f"{{% toggle_param '{name}' '{value}' %}}" for name, value in TOGGLES)
    )

    links = template.render(Context({"request": request}, autoescape=False)).split("|")

    assert links == [former_toggle(query, name, value) for name, value in TOGGLES]


def test_removing_a_chosen_disease_keeps_the_others_in_place():
    request = RequestFactory().get("/articles/?q=hsct&disease=lupus&disease=ms&page=2")
    template = Template("{% load library_tags %}{% toggle_param 'disease' 'lupus' %}")

    assert template.render(Context({"request": request})) == "?q=hsct&amp;disease=ms"
