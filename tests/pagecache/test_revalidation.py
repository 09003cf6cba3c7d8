"""A search page retired by an index write alone is served again only if a rebuild would
make it byte for byte (`pagecache.answers`), and every change a reader could see in it
still changes the next reader's page at once.

Each test caches a results page and its API answer, makes one change (inside `commit()`,
so the index sync and the generation's moves follow as after an editor's save), and
compares the next reader's answer with the one a build makes now with the page cache off.
"""

from __future__ import annotations

import datetime
import json
import re
from unittest import mock

import pytest
from django.test import override_settings

from library.models import Article
from search.index import rebuild
from search.models import EditorsPick, Intent
from tests.conftest import make_article, make_disease

pytestmark = pytest.mark.django_db

PAGE = "/articles/?q=kidney"
ANSWER = "/api/search/?q=kidney"
BROWSE = "/api/search/?disease=lupus"


def built_afresh(client, url: str) -> bytes:
    with override_settings(PAGE_CACHE=False):
        return client.get(url).content


def slugs(page) -> list[str]:
    return re.findall(r'<article class="card" data-slug="([^"]+)"', page.content.decode())


@pytest.fixture
def library(commit):
    """Lupus with a kidney article; MS with a walking one; a fatigue article, unrelated."""
    with commit():
        lupus = make_disease("Lupus", slug="lupus")
        ms = make_disease("Multiple sclerosis", slug="ms")
        kidney = make_article(
            "Kidney care in lupus",
            slug="kidney",
            summary="Kidney care.",
            body="kidney urine renal " * 10,
            diseases=[lupus],
        )
        walking = make_article(
            "Walking aids", slug="walking", body="walking balance gait " * 10, diseases=[ms]
        )
        fatigue = make_article(
            "Fatigue and rest", slug="fatigue", body="fatigue sleep rest " * 10, diseases=[ms]
        )
    return {"lupus": lupus, "kidney": kidney, "walking": walking, "fatigue": fatigue}


def cached(client, *urls) -> dict[str, bytes]:
    """Each page built, then served from the cache: what readers see before the change."""
    pages = {}
    for url in urls:
        assert client.get(url)["X-Page-Cache"] == "miss", url
        again = client.get(url)
        assert again["X-Page-Cache"] == "hit", url
        pages[url] = again.content
    return pages


def test_an_index_write_that_changes_no_answer_serves_the_page_again(client, commit, library):
    before = cached(client, PAGE, ANSWER, BROWSE)
    etag = client.get(ANSWER)["ETag"]

    with commit():  # an edit of an article the search does not find: the index is written
        library["fatigue"].summary = "Pacing helps."
        library["fatigue"].save()

    page = client.get(PAGE)
    assert page["X-Page-Cache"] == "revalidated"
    assert page.content == before[PAGE] == built_afresh(client, PAGE)
    assert client.get(PAGE)["X-Page-Cache"] == "hit"  # kept under the new counter
    answer = client.get(ANSWER)  # with its new scores, if the write moved them (BM25)
    assert answer["X-Page-Cache"] == "revalidated"
    assert answer.content == built_afresh(client, ANSWER)
    rescored = (
        answer.json()["results"][0]["score"] != json.loads(before[ANSWER])["results"][0]["score"]
    )
    assert (answer["ETag"] != etag) == rescored  # a new body, a new ETag
    assert client.get(ANSWER)["X-Page-Cache"] == "hit"
    browsing = client.get(BROWSE)  # no text searched: the API shows no scores
    assert browsing["X-Page-Cache"] == "revalidated"
    assert browsing.content == before[BROWSE] == built_afresh(client, BROWSE)
    assert [r["score"] for r in browsing.json()["results"]] == [None]


def test_a_revalidated_page_keeps_its_etag(client, commit, library):
    etag = client.get(PAGE)["ETag"]
    with commit():
        library["fatigue"].summary = "Pacing helps."
        library["fatigue"].save()
    page = client.get(PAGE, headers={"if-none-match": etag})
    assert (page.status_code, page["X-Page-Cache"], page["ETag"]) == (304, "revalidated", etag)


def publish(library):
    make_article("Kidney stones", slug="stones", body="kidney stones " * 10)


def new_match(library):
    library["fatigue"].summary = "Fatigue with kidney disease."
    library["fatigue"].save()


def retitle(library):
    library["kidney"].title = "Renal care in lupus"
    library["kidney"].save()


def edit_summary(library):  # a text edit of the article found: its row and its highlight
    library["kidney"].summary = "Kidney care when urine turns amber."
    library["kidney"].save()


def unpublish(library):
    Article.objects.filter(pk=library["kidney"].pk).set_status(Article.Status.DRAFT)


def rename_disease(library):  # the facet's label: not in the engine's answer
    library["lupus"].name = "Systemic lupus erythematosus"
    library["lupus"].save()


def pick(library):
    EditorsPick.objects.create(query="kidney", article=library["walking"])


def intent(library):
    Intent.objects.create(slug="kidney", label="kidney questions", phrases="kidney")


@pytest.mark.parametrize(
    "change",
    [publish, new_match, retitle, edit_summary, unpublish, rename_disease, pick, intent],
)
def test_every_change_a_reader_could_see_changes_the_next_page(client, commit, library, change):
    before = cached(client, PAGE, ANSWER)

    with commit():
        change(library)

    for url in (PAGE, ANSWER):
        after = client.get(url)
        assert after["X-Page-Cache"] == "miss", url
        assert after.content != before[url], url  # the change shows
        assert after.content == built_afresh(client, url), url


def test_an_alias_change_finds_the_article_at_once(client, commit, library):
    url = "/articles/?q=SLE"
    cached(client, url)
    assert slugs(client.get(url)) == []

    with commit():
        library["lupus"].aliases = "SLE"
        library["lupus"].save()

    after = client.get(url)
    assert after["X-Page-Cache"] == "miss"
    assert slugs(after) == ["kidney"]


def test_a_scheduled_articles_day_arriving_shows_it_in_the_results(client, library):
    make_article(
        "Kidney diet",
        slug="diet",
        body="kidney diet " * 10,
        published_on=datetime.date(2026, 3, 10),
    )
    rebuild()
    day_before = datetime.datetime(2026, 3, 9, 23, 59, tzinfo=datetime.UTC)
    the_day = datetime.datetime(2026, 3, 10, 0, 1, tzinfo=datetime.UTC)
    with mock.patch("django.utils.timezone.now", return_value=day_before):
        client.get(PAGE)
        assert "diet" not in slugs(client.get(PAGE))
    with mock.patch("django.utils.timezone.now", return_value=the_day):
        page = client.get(PAGE)
        assert page["X-Page-Cache"] == "miss" and "diet" in slugs(page)
