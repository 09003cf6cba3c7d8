"""What the list pages say around the results (issue 19, item 8): a dropped parameter is
explained in our words, naming it and what it takes; topic pages show no empty "Filters"
row; an OR of two words with synonyms gets one note per word, each of whose "Search only
for" links finds articles; a contents list of self-numbered headings is numbered once.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_article, make_disease, make_tag, make_therapy

pytestmark = pytest.mark.django_db

DJANGO_WORDING = ("Select a valid choice", "available choices", "Ensure this value")


def notes(response) -> list[str]:
    page = response.content.decode()
    box = re.search(r'<div class="notice form-errors" role="alert">(.*?)</div>', page, re.S)
    return re.findall(r"<p>(.*?)</p>", box.group(1)) if box else []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "ordering=newest",
            "The sort order “newest” could not be used and was ignored: The ordering "
            "parameter takes relevance, -published_on, published_on or title.",
        ),
        (
            "disease=no-such-disease",
            "The disease “no-such-disease” could not be used and was ignored: The disease "
            "parameter takes the slug of a disease listed at /diseases/ (the last part of "
            "that disease’s address).",
        ),
        (
            "therapy=stem",
            "The therapy “stem” could not be used and was ignored: The therapy parameter "
            "takes the slug of a therapy listed at /therapies/ (the last part of that "
            "therapy’s address).",
        ),
        (
            "tag=nope",
            "The tag “nope” could not be used and was ignored: The tag parameter takes the "
            "slug of a tag listed at /tags/ (the last part of that tag’s address).",
        ),
        (
            "year=1800",
            "The year “1800” could not be used and was ignored: Enter a year from 1900 to 2100.",
        ),
        (
            "year=2025.5",
            "The year “2025.5” could not be used and was ignored: Enter a year in digits, "
            "for example 2025.",
        ),
    ],
)
def test_a_dropped_parameter_is_explained_in_our_words(client, query, expected):
    make_article(slug="kept")

    response = client.get(f"/articles/?{query}")

    assert notes(response) == [expected]
    assert not any(words in response.content.decode() for words in DJANGO_WORDING)


def test_the_api_refuses_a_bad_parameter_in_the_same_words(client):
    make_article()

    response = client.get("/api/search/?ordering=newest&disease=nope")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "disease": [
            "The disease parameter takes the slug of a disease listed at /diseases/ (the last "
            "part of that disease’s address)."
        ],
        "ordering": [
            "The ordering parameter takes relevance, -published_on, published_on or title."
        ],
    }


def test_a_control_character_in_a_dropped_value_is_shown_as_a_mark(client):
    make_article()

    response = client.get("/articles/?q=lupus%00")

    assert notes(response) == [
        "The search “lupus\ufffd” could not be used and was ignored: The search (q) cannot "
        "contain a null character."
    ]
    assert "\x00" not in response.content.decode()


@pytest.mark.parametrize("kind", ["disease", "therapy", "tag"])
def test_a_topic_page_has_no_empty_filters_row(client, kind):
    term = {"disease": make_disease, "therapy": make_therapy, "tag": make_tag}[kind](slug="topic")
    other = make_tag(slug="other", name="Other tag")
    filed = {"disease": {"diseases": [term]}, "therapy": {"therapies": [term]}, "tag": {}}[kind]
    make_article(**filed, tags=[term, other] if kind == "tag" else [other])
    path = {"disease": "/diseases/", "therapy": "/therapies/", "tag": "/tags/"}[kind] + "topic/"

    page = client.get(path).content.decode()

    assert "active-filters" not in page
    assert "Clear all" not in page

    # With a filter chosen, the row shows that filter only, and Clear all keeps the topic.
    page = client.get(path + "?tag=other").content.decode()
    row = re.search(r'<div class="active-filters".*?</div>', page, re.S).group()
    assert re.findall(r'data-chip="(\w+)"', row) == ["tag"]
    assert "Other tag" in row
    assert f'<a class="clear-filters" href="{path}">Clear all</a>' in row


def test_the_articles_page_still_shows_its_chosen_filters(client):
    lupus = make_disease("Lupus", slug="lupus")
    make_article(diseases=[lupus])

    page = client.get("/articles/?disease=lupus").content.decode()

    row = re.search(r'<div class="active-filters".*?</div>', page, re.S).group()
    assert "Lupus" in row
    assert '<a class="clear-filters" href="/articles/">Clear all</a>' in row


def test_a_contents_list_of_numbered_headings_is_numbered_once(client):
    body = (
        "## What it is\n\nText.\n\n## Two kinds\n\nText.\n\n"
        "### 1. Transplants\n\nText.\n\n### 2. Infusions\n\nText.\n\n## Risks\n\nText."
    )
    make_article(slug="numbered", body=body)

    page = client.get("/articles/numbered/").content.decode()
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S).group()

    # The top level has no numbers of its own, so the list numbers it.
    assert re.search(r"<h2[^>]*>On this page</h2>\s*<ol>", toc)
    # The sub-list's headings carry theirs: the list adds none ("1. 1.").
    assert re.search(r'<ol class="numbered-headings"><li><a [^>]+>1\. Transplants</a>', toc)


def test_the_contents_list_of_the_first_article_is_numbered_once(client, shipped_content):
    page = client.get("/articles/stem-cell-therapy-for-autoimmune-diseases/").content.decode()
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S).group()

    sub_list = re.search(r'<ol class="numbered-headings">(.*?)</ol>', toc, re.S).group(1)
    assert re.findall(r">([^<]+)</a>", sub_list) == [
        "1. Hematopoietic Stem Cell Transplantation (HSCT)",
        "2. Mesenchymal Stem Cell Therapy (MSC)",
    ]
