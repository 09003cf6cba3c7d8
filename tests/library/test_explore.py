"""/explore/: diseases against therapies, each cell the list page's count for the pair."""

from __future__ import annotations

import re
from html import unescape

import pytest

from library.models import Article, Disease, Therapy
from tests.conftest import make_article, make_disease, make_therapy

pytestmark = pytest.mark.django_db

CELL_RE = re.compile(
    r'<td data-disease="([^"]+)" data-therapy="([^"]+)" data-count="(\d+)">(.*?)</td>', re.S
)


def cells(html: str) -> dict[tuple[str, str], tuple[int, str | None]]:
    """(disease, therapy) → (count shown, link or None)."""
    found = {}
    for disease, therapy, count, inner in CELL_RE.findall(html):
        link = re.search(r'<a href="([^"]+)">(\d+)<', inner)
        if link:
            assert int(link.group(2)) == int(count)
        found[(disease, therapy)] = (int(count), unescape(link.group(1)) if link else None)
    return found


def test_every_cell_equals_the_list_pages_count_for_the_pair(
    client, indexed_library, page_cache_off
):
    # Reads each list page's context, which only a page built for the request has.
    make_article("Draft on lupus", status=Article.Status.DRAFT).diseases.set(
        Disease.objects.filter(slug="lupus")
    )

    grid = cells(client.get("/explore/").content.decode())

    assert len(grid) == Disease.objects.count() * Therapy.objects.count()
    assert any(count for count, _ in grid.values())
    for (disease, therapy), (count, link) in grid.items():
        listing = client.get("/articles/", {"disease": disease, "therapy": therapy}).context[
            "listing"
        ]
        assert listing.total == count, (disease, therapy)
        expected = (
            Article.objects.published()
            .filter(diseases__slug=disease)
            .filter(therapies__slug=therapy)
            .count()
        )
        assert count == expected
        if count:
            assert link == f"/articles/?disease={disease}&therapy={therapy}"
            # The link leads to exactly those articles.
            assert client.get(link).context["listing"].total == count
        else:
            assert link is None


def test_the_grid_is_a_table_with_headers_for_rows_and_columns(client):
    ms = make_disease("Multiple sclerosis", slug="ms")
    hsct = make_therapy("HSCT", slug="hsct")
    make_therapy("MSC", slug="msc")
    make_article(diseases=[ms], therapies=[hsct])

    html = client.get("/explore/").content.decode()

    assert "<caption>" in html
    assert re.search(r'<th scope="col"><a href="/therapies/hsct/">HSCT</a></th>', html)
    assert re.search(r'<th scope="row"><a href="/diseases/ms/">Multiple sclerosis</a></th>', html)
    assert cells(html) == {
        ("ms", "hsct"): (1, "/articles/?disease=ms&therapy=hsct"),
        ("ms", "msc"): (0, None),
    }
    # The phone rendering lists only the non-empty pairs.
    phone = html.split('<div class="explore-list">', 1)[1]
    assert re.search(
        r'<li data-disease="ms" data-therapy="hsct"><a href="/articles/\?disease=ms&amp;therapy=hsct">HSCT</a> <span class="count">1 article</span></li>',
        phone,
    )
    assert 'data-therapy="msc"' not in phone


def test_drafts_do_not_count(client):
    ms = make_disease(slug="ms")
    hsct = make_therapy(slug="hsct")
    make_article(diseases=[ms], therapies=[hsct])
    make_article(diseases=[ms], therapies=[hsct], status=Article.Status.DRAFT)

    assert cells(client.get("/explore/").content.decode())[("ms", "hsct")][0] == 1


def test_an_article_counts_once_per_pair_and_once_in_each_pair(client):
    ms, lupus = make_disease(slug="ms"), make_disease(slug="lupus")
    hsct, msc = make_therapy(slug="hsct"), make_therapy(slug="msc")
    make_article(diseases=[ms, lupus], therapies=[hsct, msc])
    make_article(diseases=[ms], therapies=[hsct])
    make_article(diseases=[ms])  # no therapy: in no cell

    grid = cells(client.get("/explore/").content.decode())

    assert {pair: count for pair, (count, _) in grid.items()} == {
        ("ms", "hsct"): 2,
        ("ms", "msc"): 1,
        ("lupus", "hsct"): 1,
        ("lupus", "msc"): 1,
    }


def test_the_page_takes_three_queries_however_big_the_grid(
    client, django_assert_num_queries, page_cache_off
):
    diseases = [make_disease() for _ in range(3)]
    therapies = [make_therapy() for _ in range(2)]
    make_article(diseases=diseases, therapies=therapies)
    # The generation, then diseases, therapies, one GROUP BY over the pairs.
    with django_assert_num_queries(4):
        client.get("/explore/")

    for _ in range(6):
        make_article(diseases=[make_disease()], therapies=[make_therapy()])
    with django_assert_num_queries(4):
        response = client.get("/explore/")
    assert len(cells(response.content.decode())) == 9 * 8


def test_an_empty_library_says_so(client):
    html = client.get("/explore/").content.decode()
    assert "There are no diseases or therapies yet." in html
