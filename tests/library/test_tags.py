"""Browsing tags: /tags/ with counts, and the list page's tag facet folded after ten."""

from __future__ import annotations

import re

import pytest

from library.models import Article, Tag
from tests.conftest import make_article, make_tag

pytestmark = pytest.mark.django_db


def tag_counts(html: str) -> dict[str, int]:
    return {
        slug: int(count)
        for slug, count in re.findall(
            r'<h2><a href="/tags/([^/]+)/">[^<]+</a></h2>.*?<p class="meta">(\d+) articles?</p>',
            html,
            re.S,
        )
    }


def test_tags_lists_every_tag_with_its_published_article_count(client):
    trials, risks = make_tag("Trials", slug="trials"), make_tag("Risks", slug="risks")
    make_tag("Unused", slug="unused")
    make_article(tags=[trials, risks])
    make_article(tags=[trials])
    make_article(tags=[risks], status=Article.Status.DRAFT)

    response = client.get("/tags/")

    assert tag_counts(response.content.decode()) == {"risks": 1, "trials": 2, "unused": 0}
    assert "<h1>Tags</h1>" in response.content.decode()


def test_tag_counts_equal_the_tag_pages_totals(client, indexed_library):
    counts = tag_counts(client.get("/tags/").content.decode())

    assert len(counts) == Tag.objects.count()
    for slug, count in counts.items():
        assert client.get(f"/tags/{slug}/").context["listing"].total == count, slug


def test_tags_takes_one_query(client, django_assert_num_queries):
    for _ in range(5):
        make_article(tags=[make_tag(), make_tag()])
    with django_assert_num_queries(2):  # and the page cache's generation read
        client.get("/tags/")


def facet_slugs(html: str) -> tuple[list[str], list[str]]:
    """Tag facet options shown at once, and those folded under "Show all"."""
    section = re.search(
        r'<section class="facet" aria-labelledby="facet-tag">.*?</section>', html, re.S
    )
    head, _, rest = section.group(0).partition('<details class="facet-more">')
    pattern = r'data-facet="tag" data-value="([^"]+)"'
    return re.findall(pattern, head), re.findall(pattern, rest)


def test_the_tag_facet_shows_the_ten_most_used_first_and_folds_the_rest(client):
    tags = [make_tag(f"Tag {n:02}", slug=f"tag-{n:02}") for n in range(14)]
    for n, tag in enumerate(tags):
        for _ in range(n + 2):  # tag-13 is the most used, tag-00 the least (two: a topic)
            make_article(tags=[tag])

    html = client.get("/articles/").content.decode()

    head, rest = facet_slugs(html)
    assert head == [f"tag-{n:02}" for n in range(13, 3, -1)]
    assert rest == ["tag-03", "tag-02", "tag-01", "tag-00"]
    assert "<summary>Show all 14 tags</summary>" in html


def test_a_chosen_tag_is_never_folded_away(client):
    # Every article carries all twelve tags: equal counts, so tag-11 sorts last.
    tags = [make_tag(f"Tag {n:02}", slug=f"tag-{n:02}") for n in range(12)]
    for _ in range(2):
        make_article(tags=tags)

    head, rest = facet_slugs(client.get("/articles/?tag=tag-11").content.decode())

    assert head == [f"tag-{n:02}" for n in range(10)] + ["tag-11"]
    assert rest == ["tag-10"]


def test_ten_tags_or_fewer_are_not_folded(client):
    for _ in range(10):
        tag = make_tag()
        make_article(tags=[tag])
        make_article(tags=[tag])
    html = client.get("/articles/").content.decode()
    head, rest = facet_slugs(html)
    assert len(head) == 10
    assert rest == []
    assert "Show all" not in html
