"""Atom feeds for any view of the list: the same articles as the page, newest first."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.db.models.functions import Lower

from library.models import Article
from tests.conftest import make_article, make_disease, make_tag, make_therapy

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def listed_slugs(response) -> list[str]:
    return re.findall(r'<article class="card" data-slug="([^"]+)"', response.content.decode())


def parse_feed(response) -> ET.Element:
    """The feed as parsed XML, after checking what every Atom reader relies on."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, f"feed lacks <{required}>"
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    for entry in root.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "published", "summary"):
            assert entry.find(f"{ATOM}{required}") is not None, f"entry lacks <{required}>"
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href")
    return root


def entry_slugs(root: ET.Element) -> list[str]:
    return [
        urlsplit(entry.find(f"{ATOM}link").get("href")).path.strip("/").split("/")[-1]
        for entry in root.findall(f"{ATOM}entry")
    ]


def entry_dates(root: ET.Element) -> list[datetime.date]:
    return [
        datetime.date.fromisoformat(entry.find(f"{ATOM}published").text[:10])
        for entry in root.findall(f"{ATOM}entry")
    ]


def test_a_lupus_and_hsct_feed_holds_the_list_pages_articles_newest_first(client, indexed_library):
    page_slugs = listed_slugs(client.get("/articles/?disease=lupus&therapy=hsct"))

    root = parse_feed(client.get("/feeds/articles/?disease=lupus&therapy=hsct"))

    assert entry_slugs(root) == page_slugs
    expected = (
        Article.objects.published()
        .filter(diseases__slug="lupus")
        .filter(therapies__slug="hsct")
        .order_by("-published_on", Lower("title"))
    )
    assert page_slugs == [article.slug for article in expected]
    assert len(page_slugs) >= 3
    dates = entry_dates(root)
    assert dates == sorted(dates, reverse=True)
    first = root.find(f"{ATOM}entry")
    assert first.find(f"{ATOM}title").text == expected[0].title
    categories = {c.get("term") for c in first.findall(f"{ATOM}category")}
    assert {"Lupus (systemic lupus erythematosus)", "Hematopoietic stem cell transplantation"} <= (
        categories
    )
    assert "Hematopoietic stem cell transplantation" in root.find(f"{ATOM}title").text


def test_a_search_feed_holds_the_search_results_newest_first(client, indexed_library):
    # A word in fewer than a page of the shipped articles ("transplant" is in most of them).
    by_relevance = listed_slugs(client.get("/articles/?q=chemotherapy"))
    newest_first = listed_slugs(client.get("/articles/?q=chemotherapy&ordering=-published_on"))

    root = parse_feed(client.get("/feeds/articles/?q=chemotherapy"))

    assert entry_slugs(root) == newest_first
    assert sorted(entry_slugs(root)) == sorted(by_relevance)
    assert 0 < len(by_relevance) < 20  # one page: the feed holds every match
    assert "chemotherapy" in root.find(f"{ATOM}title").text


def test_the_feed_ignores_the_pages_ordering_and_page(client, indexed_library):
    plain = entry_slugs(parse_feed(client.get("/feeds/articles/?therapy=hsct")))
    other = entry_slugs(
        parse_feed(client.get("/feeds/articles/?therapy=hsct&ordering=title&page=7"))
    )
    assert plain == other


def test_drafts_never_appear_and_entries_carry_summary_and_dates(client):
    lupus = make_disease("Lupus", slug="lupus")
    make_article(
        "Older",
        slug="older",
        summary="An older summary.",
        diseases=[lupus],
        published_on=datetime.date(2024, 2, 1),
    )
    make_article("Newer", slug="newer", diseases=[lupus], published_on=datetime.date(2025, 3, 1))
    make_article("Secret", slug="secret", diseases=[lupus], status=Article.Status.DRAFT)

    root = parse_feed(client.get("/feeds/articles/?disease=lupus"))

    assert entry_slugs(root) == ["newer", "older"]
    older = root.findall(f"{ATOM}entry")[1]
    assert older.find(f"{ATOM}summary").text == "An older summary."
    assert older.find(f"{ATOM}published").text.startswith("2024-02-01")
    assert [c.get("term") for c in older.findall(f"{ATOM}category")] == ["Lupus"]


def test_summaries_are_html_and_titles_text_so_readers_show_them_as_written(client):
    make_article("Risks <and> benefits & costs", summary="If a < b then <b>bold</b> & more.")

    entry = parse_feed(client.get("/feeds/articles/")).find(f"{ATOM}entry")

    assert entry.find(f"{ATOM}title").text == "Risks <and> benefits & costs"
    summary = entry.find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    assert unescape(summary.text) == "If a < b then <b>bold</b> & more."
    assert summary.text == "If a &lt; b then &lt;b&gt;bold&lt;/b&gt; &amp; more."


def test_the_feed_is_one_page_of_twenty_with_a_fixed_number_of_queries(
    client, whoosh_index, django_assert_max_num_queries
):
    # Nothing commits, so no Whoosh index: this counts the database path.
    hsct = make_therapy("HSCT", slug="hsct")
    tag = make_tag("Trials", slug="trials")
    for day in range(1, 26):
        make_article(therapies=[hsct], tags=[tag], published_on=datetime.date(2025, 1, day))

    with django_assert_max_num_queries(12):
        root = parse_feed(client.get("/feeds/articles/?therapy=hsct"))

    dates = entry_dates(root)
    assert len(dates) == 20
    assert dates[0] == datetime.date(2025, 1, 25)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("disease=no-such-disease", "disease"),
        ("year=abc", "year"),
        ("year=99999", "year"),
        ("tag=%3Cscript%3E", "tag"),
        ("q=%00", "q"),
    ],
)
def test_bad_parameters_get_the_list_pages_message_as_plain_text(client, query, named):
    make_article()

    response = client.get(f"/feeds/articles/?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("Some filters could not be used:")
    assert f"- {named}: " in text
    # The list page names the same parameter; it drops it and lists the rest, while a
    # feed refuses, so a subscription never silently follows other articles.
    page = client.get(f"/articles/?{query}").content.decode()
    assert "could not be used and was ignored" in page


@pytest.mark.parametrize("query", ["page=abc", "ordering=nonsense", "tag=", "year="])
def test_harmless_oddities_still_give_a_feed(client, query):
    make_article(slug="only")
    assert entry_slugs(parse_feed(client.get(f"/feeds/articles/?{query}"))) == ["only"]


def test_an_overlong_or_hostile_query_still_gives_a_feed(client, indexed_library):
    for query in ["x" * 900, '"unbalanced (stem', "title:lupus*", "<script>"]:
        parse_feed(client.get("/feeds/articles/", {"q": query}))


def test_a_search_feed_without_an_index_says_search_is_unavailable(client, whoosh_index):
    make_article("Lupus and stem cells")

    response = client.get("/feeds/articles/?q=lupus")

    assert response.status_code == 503
    assert "Search is temporarily unavailable" in response.content.decode()


@pytest.mark.parametrize(
    ("page", "feed"),
    [
        ("/articles/", "/feeds/articles/"),
        ("/articles/?disease=lupus&therapy=hsct", "/feeds/articles/?therapy=hsct&disease=lupus"),
        ("/articles/?q=stem+cell&ordering=title&page=2", "/feeds/articles/?q=stem+cell"),
        ("/diseases/lupus/", "/feeds/articles/?disease=lupus"),
        ("/therapies/hsct/?q=lupus", "/feeds/articles/?q=lupus&therapy=hsct"),
        ("/tags/clinical-trials/", "/feeds/articles/?tag=clinical-trials"),
    ],
)
def test_every_list_page_advertises_its_feed(client, indexed_library, page, feed):
    html = client.get(page).content.decode()

    alternates = re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*>', html)
    assert len(alternates) == 1
    advertised = re.search(r'href="([^"]+)"', alternates[0]).group(1).replace("&amp;", "&")
    assert sorted(urlsplit(advertised).query.split("&")) == sorted(urlsplit(feed).query.split("&"))
    assert urlsplit(advertised).path == "/feeds/articles/"
    assert re.search(r'<p class="feed-link"><a href="[^"]+" type="application/atom\+xml">', html)
    # Following it gives the page's articles (its first page, newest first).
    base = page.split("&ordering")[0].split("&page")[0]
    list_page = client.get(base + ("&" if "?" in base else "?") + "ordering=-published_on")
    assert sorted(entry_slugs(parse_feed(client.get(advertised)))) == sorted(
        listed_slugs(list_page)
    )
