"""Which pages a change retires, and which stay cached: exactly those that show it.

An edit of one article's text retires the pages that show that article (its own page,
the lists and topic pages it appears on, every results page) and leaves the rest
cached; a change to what the lists hold (a title, a publication, a term) retires every
list. Content is made and changed inside `commit()` (pagecache/conftest.py), so the
generation moves after the commit and the index sync, as for an editor's save.
"""

from __future__ import annotations

import datetime
import re
from unittest import mock

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from library.models import Article
from pagecache.models import Generation
from search import index as search_index
from search.backends import get_backend
from search.backends.base import SearchQuery
from tests.conftest import make_article, make_disease
from tests.pagecache.test_pages import GENERATION_READ

pytestmark = pytest.mark.django_db


def counters() -> tuple[int, int]:
    state = Generation.objects.current()
    return state.value, state.listing


def cache_status(client, urls) -> dict[str, str]:
    return {url: client.get(url)["X-Page-Cache"] for url in urls}


def built_afresh(client, url: str) -> bytes:
    """The page as a build now makes it, the page cache off (`pagecache.answers`: a search
    page retired by an index write alone is served again only if it is this, byte for
    byte)."""
    with override_settings(PAGE_CACHE=False):
        return client.get(url).content


@pytest.fixture
def library(commit):
    """Two diseases, an article on each; every page below cached once."""
    with commit():
        lupus = make_disease("Lupus", slug="lupus")
        ms = make_disease("Multiple sclerosis", slug="ms")
        kidney = make_article("Kidney care in lupus", slug="kidney", diseases=[lupus])
        walking = make_article("Walking aids", slug="walking", diseases=[ms])
    return kidney, walking


KIDNEY_PAGES = ["/articles/kidney/", "/diseases/lupus/", "/articles/", "/"]
OTHER_PAGES = ["/diseases/ms/", "/api/suggest/?q=walk", "/diseases/", "/explore/"]
SEARCHES = ["/articles/?q=walking", "/api/search/?q=walking"]


def test_a_text_edit_retires_only_the_pages_that_show_the_article(client, commit, library):
    kidney, _walking = library
    everything = KIDNEY_PAGES + OTHER_PAGES + SEARCHES
    assert set(cache_status(client, everything).values()) == {"miss"}
    before = counters()

    with commit():
        kidney.summary = "Amber-coloured urine can be a sign to report."
        kidney.save()

    value, listing = counters()
    assert value > before[0] and listing == before[1]  # the listing did not move
    after = {url: client.get(url) for url in everything}
    # A text edit can change any search: each is checked against the engine's new
    # answer, and the walking search's is unchanged but for its scores (which the API
    # shows, with the new ones, and the results page does not), so both are served again.
    assert {url: page["X-Page-Cache"] for url, page in after.items()} == {
        **dict.fromkeys(KIDNEY_PAGES, "miss"),
        **dict.fromkeys(OTHER_PAGES, "hit"),
        **dict.fromkeys(SEARCHES, "revalidated"),
    }
    for url in SEARCHES:
        assert after[url].content == built_afresh(client, url), url
    for url in ("/articles/kidney/", "/diseases/lupus/", "/articles/"):
        assert "Amber-coloured urine" in client.get(url).content.decode(), url


def test_a_listing_change_retires_every_list(client, commit, library):
    kidney, _walking = library
    pages = KIDNEY_PAGES + OTHER_PAGES
    cache_status(client, pages)
    before = counters()

    with commit():
        kidney.title = "Renal care in lupus"
        kidney.save()

    value, listing = counters()
    assert value > before[0] and listing > before[1]
    assert cache_status(client, pages) == dict.fromkeys(pages, "miss")
    assert "Renal care in lupus" in client.get("/articles/").content.decode()


def test_the_related_articles_box_never_shows_an_old_title(client, commit):
    with commit():
        lupus = make_disease("Lupus", slug="lupus")
        first = make_article("Stem cell transplants in lupus", slug="first", diseases=[lupus])
        make_article("Stem cell transplants for lupus nephritis", slug="second", diseases=[lupus])
    related = re.compile(r'<aside class="related".*?</aside>', re.S)
    assert (
        "Stem cell transplants in lupus"
        in related.search(client.get("/articles/second/").content.decode()).group()
    )

    with commit():
        first.title = "Autologous transplants in lupus"
        first.save()
    box = related.search(client.get("/articles/second/").content.decode()).group()
    assert "Autologous transplants in lupus" in box and "Stem cell transplants in" not in box

    with commit():  # a text edit of an article in the box: its row retires the page
        first.summary = "A newer summary."
        first.save()
    assert client.get("/articles/second/")["X-Page-Cache"] == "miss"

    with commit():
        Article.objects.filter(pk=first.pk).set_status(Article.Status.DRAFT)
    page = client.get("/articles/second/").content.decode()
    assert 'data-slug="first"' not in page


def test_a_deleted_article_retires_the_pages_that_showed_it(client, commit, library):
    kidney, _walking = library
    client.get("/articles/")
    with commit():
        kidney.delete()
    page = client.get("/articles/")
    assert page["X-Page-Cache"] == "miss"
    assert 'data-slug="kidney"' not in page.content.decode()


@pytest.mark.parametrize("url", ["/articles/", "/diseases/lupus/", "/articles/kidney/"])
def test_a_cached_listing_costs_one_read_of_the_counters_and_its_rows(client, library, url):
    kidney, _walking = library
    first = client.get(url)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)

    assert (first["X-Page-Cache"], again["X-Page-Cache"]) == ("miss", "hit")
    assert again.content == first.content
    [only] = [q["sql"] for q in queries]
    assert re.fullmatch(GENERATION_READ, only)
    assert f"IN ({kidney.pk}" in only or f", {kidney.pk}" in only  # the article it shows


def test_pages_without_content_are_never_retired_and_read_nothing(client, commit, library):
    kidney, _walking = library
    first = client.get("/about/editorial-policy/")
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/about/editorial-policy/")
    with commit():
        kidney.title = "Renal care in lupus"
        kidney.save()
    after_a_save = client.get("/about/editorial-policy/")

    assert [first["X-Page-Cache"], again["X-Page-Cache"], after_a_save["X-Page-Cache"]] == [
        "miss", "hit", "hit",
    ]  # fmt: skip
    assert len(queries) == 0
    assert "Editorial policy" in after_a_save.content.decode()
    etag = after_a_save["ETag"]
    assert client.get("/about/editorial-policy/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_listing_page_answers_304_until_an_article_it_shows_changes(client, commit, library):
    kidney, _walking = library
    etag = client.get("/diseases/lupus/")["ETag"]
    assert client.get("/diseases/lupus/", HTTP_IF_NONE_MATCH=etag).status_code == 304

    with commit():
        kidney.summary = "Amber-coloured urine can be a sign to report."
        kidney.save()
    changed = client.get("/diseases/lupus/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert "Amber-coloured urine" in changed.content.decode()


# --- What each change moves ----------------------------------------------------------


def moved(change, commit) -> tuple[bool, bool]:
    before = counters()
    with commit():
        change()
    after = counters()
    return after[0] > before[0], after[1] > before[1]


def test_only_a_text_edit_leaves_the_listing_counter(commit, library):
    kidney, walking = library
    lupus = kidney.diseases.get()

    def text_edit():
        kidney.summary, kidney.body = "New summary.", "New body."
        kidney.save()

    def retitle():
        walking.title = "Mobility aids"
        walking.save()

    changes = {
        "text edit": text_edit,
        "retitle": retitle,
        "save, nothing changed": lambda: Article.objects.get(pk=kidney.pk).save(),
        "publish date": lambda: _set(kidney, published_on=kidney.published_on.replace(year=2020)),
        "unpublish": lambda: _set(kidney, status=Article.Status.DRAFT),
        "disease added": lambda: walking.diseases.add(lupus),
        "alias": lambda: _set(lupus, aliases="SLE"),
        "new article": lambda: make_article("Another", slug="another"),
    }
    assert {name: moved(change, commit) for name, change in changes.items()} == {
        "text edit": (True, False),
        "retitle": (True, True),
        "save, nothing changed": (True, False),
        "publish date": (True, True),
        "unpublish": (True, True),
        "disease added": (True, True),
        "alias": (True, True),
        "new article": (True, True),
    }


def _set(instance, **fields) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.save()


def test_the_last_listing_move_comes_after_the_index_has_the_change(commit, library):
    """A reader who reads the final listing counter must find the change in the index."""
    kidney, _walking = library
    seen_at_each_move = []
    real_bump = type(Generation.objects).bump

    def bump(self, using=None, *, listing=True, **kwargs):
        hits = get_backend().search(SearchQuery(text="", diseases=("lupus",))).hits
        seen_at_each_move.append((listing, [hit.id for hit in hits]))
        real_bump(self, using, listing=listing, **kwargs)

    with mock.patch.object(type(Generation.objects), "bump", bump), commit():
        kidney.status = Article.Status.DRAFT
        kidney.save()

    listing_moves = [hits for listing, hits in seen_at_each_move if listing]
    assert listing_moves and listing_moves[-1] == []  # unpublished: gone from the index


def test_the_last_search_move_comes_after_the_index_has_the_text(commit, library):
    """A reader who reads the final search counter must find the edit's new word; the
    edit's commit alone, before the index holds it, leaves the search counter."""
    kidney, _walking = library
    seen_at_each_move = []
    real_bump = type(Generation.objects).bump

    def bump(self, using=None, *, listing=True, search=True):
        hits = get_backend().search(SearchQuery(text="amberine")).hits
        seen_at_each_move.append((search or listing, [hit.id for hit in hits]))
        real_bump(self, using, listing=listing, search=search)

    with mock.patch.object(type(Generation.objects), "bump", bump), commit():
        kidney.summary = "Amberine urine can be a sign to report."
        kidney.save()

    search_moves = [hits for search, hits in seen_at_each_move if search]
    assert search_moves and search_moves[-1] == [kidney.pk]
    assert all(hits == [kidney.pk] for hits in search_moves)  # none before the index had it


# --- Every kind of reader page: a text edit retires exactly the pages that show it ----


def shows(page, article: Article) -> bool:
    """Whether a page (HTML or JSON) links to the article, as a reader would see it."""
    return f"/articles/{article.slug}/" in page.content.decode()


READER_PAGES = [
    "/", "/articles/", "/articles/?page=2", "/diseases/", "/diseases/lupus/",
    "/diseases/ms/", "/therapies/", "/tags/", "/explore/", "/feeds/articles/",
    "/articles/?q=kidney", "/articles/?q=walking", "/api/search/?q=kidney",
    "/api/search/?q=walking", "/api/search/?disease=ms", "/api/suggest/?q=walk",
    "/diseases/lupus/?q=care",
]  # fmt: skip


@pytest.fixture
def shelf(commit, monkeypatch):
    """Twelve articles in unrelated words, on three diseases (the kidney article alone
    with one other on lupus), five to a list page, so that the lists, topic pages and
    related boxes show the kidney article on some pages and not on others."""
    monkeypatch.setattr("library.listing.PAGE_SIZE", 5)
    topics = (
        "kidney urine renal", "walking balance gait", "fatigue sleep rest", "diet food meals",
        "vision eyes sight", "skin rash sun", "joints pain swelling", "heart rhythm pulse",
        "lungs breath cough", "mood anxiety worry", "travel vaccines abroad", "teeth gums mouth",
    )  # fmt: skip
    with commit():
        lupus = make_disease("Lupus", slug="lupus")
        others = [make_disease("Multiple sclerosis", slug="ms"), make_disease("Psoriasis")]
        articles = [
            make_article(
                " ".join(words.split()[:2]).capitalize(),
                slug=words.split()[0],
                summary=f"{words.capitalize()}.",
                body=f"{words} " * 20,
                diseases=[lupus if n in (0, 2) else others[n % 2]],
                published_on=datetime.date(2025, 1, 1) + datetime.timedelta(days=n),
            )
            for n, words in enumerate(topics)
        ]
    return articles


def test_a_text_edit_retires_every_page_that_shows_the_article_and_no_other(client, commit, shelf):
    kidney = shelf[0]
    pages = READER_PAGES + [f"/articles/{a.slug}/" for a in shelf]
    first = {url: client.get(url) for url in pages}
    assert {url: page["X-Page-Cache"] for url, page in first.items()} == dict.fromkeys(
        pages, "miss"
    )
    showing = {url for url, page in first.items() if shows(page, kidney)}
    # The test means something: some pages of each kind show it, and some do not.
    assert {"/articles/kidney/", "/articles/?q=kidney", "/api/search/?q=kidney"} <= showing
    assert {"/diseases/ms/", "/articles/?q=walking", "/api/search/?q=walking"} <= set(
        pages
    ) - showing
    assert any(url.startswith("/articles/") and url.count("/") == 3 for url in set(pages) - showing)

    index_write = mock.patch("search.index.update_articles")  # the commit alone, first
    with index_write, commit():
        kidney.summary = "Amberine urine can be a sign to report."
        kidney.save()
    after_commit = {url: client.get(url) for url in pages}
    assert {url: page["X-Page-Cache"] for url, page in after_commit.items()} == {
        url: "miss" if url in showing else "hit" for url in pages
    }
    assert "Amberine urine" in after_commit["/articles/kidney/"].content.decode()
    assert "Amberine urine" in after_commit["/api/search/?q=kidney"].content.decode()

    with commit():  # the index write that follows the commit: now any search may differ
        search_index.update_articles([kidney.pk], after_commit=True)
    searches = {url for url in pages if "q=" in url and "suggest" not in url}
    searches.add("/api/search/?disease=ms")
    after_index = {url: client.get(url) for url in pages}
    # Every search is checked against the engine's new answer: rebuilt, or served again
    # if that answer is the one it was built from, and then exactly a fresh build.
    assert {url: page["X-Page-Cache"] for url, page in after_index.items()} == {
        url: after_index[url]["X-Page-Cache"] if url in searches else "hit" for url in pages
    }
    statuses = {url: after_index[url]["X-Page-Cache"] for url in searches}
    assert set(statuses.values()) <= {"miss", "revalidated"}
    assert statuses["/articles/?q=walking"] == "revalidated"  # the test means something
    for url in searches:
        assert after_index[url].content == built_afresh(client, url), url
    found = client.get("/api/search/", {"q": "amberine"}).json()["results"]
    assert [result["slug"] for result in found] == ["kidney"]


def test_a_retitle_retires_every_page_that_lists_the_article(client, commit, shelf):
    kidney = shelf[0]
    pages = READER_PAGES + [f"/articles/{a.slug}/" for a in shelf]
    showing = {url for url in pages if shows(client.get(url), kidney)}
    with commit():
        kidney.title = "Renal care"
        kidney.save()
    for url in pages:
        page = client.get(url)
        assert page["X-Page-Cache"] == "miss", url  # lists may now hold other articles
        if url in showing and "suggest" not in url and "feeds" not in url:
            assert "Renal care" in page.content.decode(), url
