"""What readers get from the page cache: the same page for less work, and never an old one.

Tests run with the cache on, as production does. Content is made and changed inside
`commit()` (pagecache/conftest.py): the generation moves after the commit
(pagecache.signals), as it does for an editor's save.
"""

from __future__ import annotations

import datetime
import re
import time
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from library import views as library_views
from library.models import Article, TagRedirect
from pagecache.models import Generation
from search.index import rebuild
from search.models import SearchTerm
from tests.conftest import make_article, make_disease, make_tag

pytestmark = pytest.mark.django_db


# The one read of a cached request: the counters, and the rows a listing page showed.
GENERATION_READ = (
    r"SELECT g\.epoch, g\.value, g\.listing, g\.changed_at, g\.search(, a\.id, a\.updated_at)? "
    r'FROM "pagecache_generation" g (LEFT JOIN "library_article" a ON a\.id IN \([\d, ]+\) )?'
    r"WHERE g\.id = 1"
)


def generation() -> int:
    return Generation.objects.current().value


def titles(response) -> list[str]:
    return re.findall(r'<article class="card" data-slug="([^"]+)"', response.content.decode())


def test_a_second_anonymous_request_for_an_article_runs_only_the_generation_read(client):
    article = make_article("Stem cells in lupus", slug="lupus-stem-cells")
    first = client.get(article.get_absolute_url())

    with CaptureQueriesContext(connection) as second_queries:
        second = client.get(article.get_absolute_url())

    assert second.status_code == 200
    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    assert "Stem cells in lupus" in second.content.decode()
    [only] = [q["sql"] for q in second_queries]
    assert re.fullmatch(GENERATION_READ, only)


def test_other_pages_and_the_api_come_from_the_cache_too(client):
    lupus = make_disease("Lupus", slug="lupus")
    make_article("Kidney care in lupus", slug="kidney", diseases=[lupus])
    rebuild()
    for url in ("/", "/articles/", "/diseases/", "/diseases/lupus/", "/explore/",
                "/feeds/articles/", "/sitemap.xml", "/api/search/?q=kidney",
                "/api/suggest/?q=kid", "/articles/?q=kidney&ordering=newest"):  # fmt: skip
        first = client.get(url)
        with CaptureQueriesContext(connection) as queries:
            again = client.get(url)
        assert (url, again.status_code, len(queries)) == (url, first.status_code, 1)
        assert again.content == first.content


def test_one_query_spelt_with_other_spaces_and_order_is_one_entry(client):
    make_article("Kidney care in lupus", slug="kidney")
    rebuild()
    first = client.get("/articles/?ordering=newest&q=kidney%20%20care")
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/articles/?q=+kidney+care&ordering=newest")

    assert len(queries) == 1
    assert again.content == first.content
    assert titles(again) == ["kidney"]


def test_every_search_is_counted_even_when_the_page_comes_from_the_cache(client):
    make_article("Kidney care in lupus", slug="kidney")
    rebuild()
    for _ in range(3):
        client.get("/articles/", {"q": "kidney"})

    assert SearchTerm.objects.get(query="kidney").count == 3


def test_a_save_changes_the_next_readers_page_at_once(client, commit):
    with commit():
        article = make_article("Kidney care in lupus", slug="kidney")
    assert "Kidney care" in client.get("/articles/kidney/").content.decode()

    with commit():
        article.title = "Renal care in lupus"
        article.save()

    page = client.get("/articles/kidney/").content.decode()
    assert "Renal care in lupus" in page and "Kidney care" not in page


def test_a_save_changes_the_next_search_at_once(client, commit):
    with commit():
        article = make_article("Kidney care in lupus", slug="kidney")
    assert client.get("/api/search/", {"q": "renal"}).json()["results"] == []

    with commit():
        article.title = "Renal care in lupus"
        article.save()

    assert [r["slug"] for r in client.get("/api/search/", {"q": "renal"}).json()["results"]] == [
        "kidney"
    ]


def test_publishing_and_unpublishing_change_the_next_readers_page_at_once(client, commit):
    with commit():
        article = make_article("Kidney care in lupus", slug="kidney", status=Article.Status.DRAFT)
    assert client.get("/articles/kidney/").status_code == 404
    assert titles(client.get("/articles/")) == []

    with commit():
        Article.objects.filter(pk=article.pk).set_status(Article.Status.PUBLISHED)

    assert client.get("/articles/kidney/").status_code == 200
    assert titles(client.get("/articles/")) == ["kidney"]

    with commit():
        article.refresh_from_db()
        article.status = Article.Status.DRAFT
        article.save()

    assert client.get("/articles/kidney/").status_code == 404
    assert titles(client.get("/articles/")) == []


def test_an_alias_change_shows_in_the_next_search_at_once(client, commit):
    with commit():
        lupus = make_disease("Lupus", slug="lupus")
        make_article("Kidney care", slug="kidney", diseases=[lupus])
    assert titles(client.get("/articles/", {"q": "SLE", "ordering": "newest"})) == []

    with commit():
        lupus.aliases = "SLE"
        lupus.save()

    assert titles(client.get("/articles/", {"q": "SLE", "ordering": "newest"})) == ["kidney"]


def test_a_scheduled_articles_day_arriving_shows_it_with_no_save(client):
    make_article("Kidney care", slug="kidney", published_on=datetime.date(2026, 3, 10))
    rebuild()
    day_before = datetime.datetime(2026, 3, 9, 23, 59, tzinfo=datetime.UTC)
    the_day = datetime.datetime(2026, 3, 10, 0, 1, tzinfo=datetime.UTC)
    before = generation()

    with mock.patch("django.utils.timezone.now", return_value=day_before):
        assert client.get("/articles/kidney/").status_code == 404
        assert titles(client.get("/articles/")) == []
        assert client.get("/api/search/", {"q": "kidney"}).json()["count"] == 0
    with mock.patch("django.utils.timezone.now", return_value=the_day):
        assert client.get("/articles/kidney/").status_code == 200
        assert titles(client.get("/articles/")) == ["kidney"]
        assert client.get("/api/search/", {"q": "kidney"}).json()["count"] == 1
    assert generation() == before  # nothing was saved


def test_editors_always_see_fresh_pages(editor_client):
    article = make_article("Kidney care", slug="kidney", status=Article.Status.DRAFT)
    reader = Client()
    assert reader.get("/articles/kidney/").status_code == 404

    preview = editor_client.get("/articles/kidney/")
    assert preview.status_code == 200 and "Draft preview" in preview.content.decode()

    # Even a change whose generation has not moved yet (its commit callbacks have not
    # run in this test's transaction) shows to the editor on the next request.
    Article.objects.filter(pk=article.pk).update(title="Renal care")
    assert "Renal care" in editor_client.get("/articles/kidney/").content.decode()
    assert "private" in preview["Cache-Control"] and "no-store" in preview["Cache-Control"]


def test_a_matching_if_none_match_is_answered_304_until_the_content_changes(client, commit):
    with commit():
        article = make_article("Kidney care", slug="kidney")
    first = client.get("/articles/kidney/")
    etag = first["ETag"]

    with CaptureQueriesContext(connection) as queries:
        unchanged = client.get("/articles/kidney/", HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag
    assert "public" in unchanged["Cache-Control"]
    assert len(queries) == 1
    since = client.get("/articles/kidney/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304

    with commit():
        article.title = "Renal care"
        article.save()

    changed = client.get("/articles/kidney/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "Renal care" in changed.content.decode()


def test_cache_control_per_kind_of_answer(editor_client):
    make_article("Kidney care", slug="kidney")
    client = Client()
    reader_page = client.get("/articles/kidney/")
    api = client.get("/api/search/")  # browsing: the database answers
    feed = client.get("/feeds/articles/")
    missing = client.get("/articles/no-such-article/")
    editor_page = editor_client.get("/articles/kidney/")
    editor_api = editor_client.get("/api/search/")
    admin = editor_client.get("/admin/")
    health = client.get("/healthz/")

    public = ["max-age=0", "public", "s-maxage=60"]
    cdn = "public, max-age=60, stale-while-revalidate=60"
    assert sorted(reader_page["Cache-Control"].split(", ")) == public
    assert reader_page["CDN-Cache-Control"] == cdn
    assert reader_page["Vary"] == "Cookie"
    assert sorted(api["Cache-Control"].split(", ")) == public
    assert api["CDN-Cache-Control"] == cdn
    assert "Vary" not in api  # the same answer for everyone, whatever the cookies
    assert "public" in feed["Cache-Control"] and "ETag" in feed
    assert missing.status_code == 404 and missing["Cache-Control"] == "no-cache"
    assert "ETag" not in missing
    for private in (editor_page, admin):
        assert "private" in private["Cache-Control"] and "no-store" in private["Cache-Control"]
        assert "ETag" not in private
    assert editor_api["Cache-Control"] == api["Cache-Control"]  # the API is not per user
    assert "public" not in health.get("Cache-Control", "")


def test_the_max_ages_come_from_settings(client, settings):
    settings.PAGE_CACHE_MAX_AGE = 0
    settings.PAGE_CACHE_STALE_WHILE_REVALIDATE = 5
    make_article("Kidney care", slug="kidney")

    page = client.get("/articles/kidney/")

    assert sorted(page["Cache-Control"].split(", ")) == ["max-age=0", "public", "s-maxage=0"]
    assert page["CDN-Cache-Control"] == "public, max-age=0, stale-while-revalidate=5"


def test_with_the_cache_off_every_request_renders_the_page(client, settings):
    settings.PAGE_CACHE = False
    make_article("Kidney care", slug="kidney")
    client.get("/articles/kidney/")

    with CaptureQueriesContext(connection) as queries:
        again = client.get("/articles/kidney/")

    assert len(queries) > 1
    assert "Kidney care" in again.content.decode()
    assert "ETag" in again


# --- What moves the generation -------------------------------------------------------


def moves(change, commit) -> bool:
    before = generation()
    with commit():
        change()
    return generation() > before


def test_every_kind_of_content_change_moves_the_generation(commit):
    with commit():
        lupus = make_disease("Lupus", slug="lupus")
        tag = make_tag("Trials", slug="trials")
        article = make_article("Kidney care", slug="kidney")
    changes = {
        "save": lambda: article.save(),
        "disease on the article": lambda: article.diseases.add(lupus),
        "article on the disease": lambda: lupus.articles.remove(article),
        "tag cleared": lambda: tag.articles.clear(),
        "alias": lambda: lupus.save(),
        "tag redirect": lambda: TagRedirect.objects.create(
            old_slug="old", target_kind="disease", target_slug="lupus"
        ),
        "QuerySet.update": lambda: Article.objects.filter(pk=article.pk).update(title="New"),
        "bulk_update": lambda: Article.objects.bulk_update([article], ["title"]),
        "taxonomy update": lambda: type(lupus).objects.filter(pk=lupus.pk).update(name="SLE"),
        "bulk publish": lambda: Article.objects.filter(pk=article.pk).set_status("draft"),
        "delete": lambda: make_article(slug="gone").delete(),
        "index rebuilt": rebuild,
    }
    assert {name: moves(change, commit) for name, change in changes.items()} == dict.fromkeys(changes, True)  # fmt: skip


def test_a_fixture_load_moves_the_generation(commit):
    assert moves(
        lambda: call_command("loaddata", "taxonomy", verbosity=0),
        commit,
    )


def test_a_rolled_back_change_does_not_move_it(commit):
    with commit():
        article = make_article("Kidney care", slug="kidney")

    def failed_save():
        with pytest.raises(RuntimeError), transaction.atomic():
            article.title = "Renal care"
            article.save()
            raise RuntimeError

    assert not moves(failed_save, commit)


def test_what_readers_search_for_is_not_content(client, commit):
    with commit():
        make_article("Kidney care", slug="kidney")
    assert not moves(lambda: client.get("/articles/", {"q": "kidney"}), commit)
    assert SearchTerm.objects.get(query="kidney").count == 1  # it was recorded


def test_the_last_move_comes_after_the_search_index_has_the_change(client, commit, monkeypatch):
    """A reader who reads the final generation must find the change in the index too."""
    from search.backends import get_backend
    from search.backends.base import SearchQuery

    with commit():
        article = make_article("Kidney care", slug="kidney")
    seen_at_each_move = []
    real_bump = type(Generation.objects).bump

    def bump(self, using=None, **kwargs):
        page = get_backend().search(SearchQuery(text="renal"))
        seen_at_each_move.append([hit.id for hit in page.hits])
        real_bump(self, using, **kwargs)

    monkeypatch.setattr(type(Generation.objects), "bump", bump)
    with commit():
        article.title = "Renal care"
        article.save()

    assert seen_at_each_move and seen_at_each_move[-1] == [article.pk]


def read_in_a_thread(url: str):
    try:
        return Client().get(url)
    finally:
        connection.close()  # this thread's own connection


@pytest.mark.django_db(transaction=True)  # the readers' threads read committed rows
def test_readers_arriving_while_a_page_is_built_wait_for_it_and_share_it():
    article = make_article("Kidney care", slug="kidney", summary="Drink water.")
    built = []
    real = library_views.related_articles

    def slow_related(shown):
        built.append(shown.slug)
        time.sleep(0.5)  # long enough for every reader below to arrive during the build
        return real(shown)

    with mock.patch("library.views.related_articles", slow_related), ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(read_in_a_thread, ["/articles/kidney/"] * 4))

    assert built == [article.slug]  # built once, not by every reader
    assert sorted(answer["X-Page-Cache"] for answer in answers) == ["hit", "hit", "hit", "miss"]
    assert all("Drink water." in answer.content.decode() for answer in answers)
    article.summary = "Drink plenty of water."
    article.save()  # autocommit: the generation moves at once
    with mock.patch("library.views.related_articles", slow_related):
        again = Client().get("/articles/kidney/")
    assert again["X-Page-Cache"] == "miss" and "Drink plenty of water." in again.content.decode()
    assert built == [article.slug, article.slug]


def stored_bytes(url: str, tmp_path) -> int:
    """What the cache holds, in bytes: its files, or local memory's pickled entries."""
    if url.startswith("file://"):
        return sum(path.stat().st_size for path in (tmp_path / "pages").rglob("*.djcache"))
    from django.core.cache import cache

    return sum(len(value) for value in cache._cache.values())


@pytest.mark.parametrize("scheme", ["locmem", "file"])
def test_a_cached_page_is_served_as_built_and_kept_compressed(client, settings, tmp_path, scheme):
    from stemsite.cache import cache_from_url

    url = f"file://{tmp_path}/pages" if scheme == "file" else f"locmem://{tmp_path.name}"
    settings.CACHES = {**settings.CACHES, "default": cache_from_url(url)}
    article = make_article("Stem cells in lupus", slug="lupus-stem-cells", body="Lupus. " * 2000)
    first = client.get(article.get_absolute_url())
    second = client.get(article.get_absolute_url())

    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    assert 0 < stored_bytes(url, tmp_path) < len(first.content) / 4
