"""Scheduled publishing: a published article dated in the future stays hidden until its day.

The clock is frozen with `unittest.mock.patch` of `django.utils.timezone.now` (which
`localdate()` reads), and nothing is saved or re-indexed between "today" and "the day".
"""

from __future__ import annotations

import datetime
import re
from unittest import mock

import pytest

from library.models import Article
from search.index import rebuild
from tests.conftest import make_article, make_disease, make_therapy

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 1)
LAUNCH = datetime.date(2026, 3, 10)


def frozen(day: datetime.date):
    moment = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    return mock.patch("django.utils.timezone.now", return_value=moment)


def slugs(response) -> list[str]:
    return re.findall(r'<article class="card" data-slug="([^"]+)"', response.content.decode())


@pytest.fixture
def library():
    ms = make_disease("Multiple sclerosis", slug="multiple-sclerosis")
    hsct = make_therapy("Hematopoietic stem cell transplantation", slug="hsct")
    common = dict(diseases=[ms], therapies=[hsct], body="Stem cell transplant for sclerosis.")
    make_article(
        "Live stem cell transplant", slug="live", published_on=datetime.date(2025, 5, 1), **common
    )
    make_article("Zebrafish stem cell transplant", slug="future", published_on=LAUNCH, **common)
    rebuild()  # indexed once, before "today"; nothing touches it afterwards


def reader_surfaces(client) -> dict[str, object]:
    """Everything a reader could see the scheduled article through."""
    api = client.get("/api/search/", {"q": "stem cell"}).json()
    browse_api = client.get("/api/search/").json()
    return {
        "home": "future" in client.get("/").content.decode(),
        "list": "future" in slugs(client.get("/articles/")),
        "search": "future" in slugs(client.get("/articles/", {"q": "transplant"})),
        "disease page": "future" in slugs(client.get("/diseases/multiple-sclerosis/")),
        "detail": client.get("/articles/future/").status_code,
        "api results": [r["slug"] for r in api["results"]],
        "api count": api["count"],
        "browse count": browse_api["count"],
        "facet count": browse_api["facets"]["disease"][0]["count"],
        "year facet": [y["value"] for y in browse_api["facets"]["year"]],
        "disease index": re.search(
            r"Multiple sclerosis.*?(\d+) article", client.get("/diseases/").content.decode(), re.S
        ).group(1),
        "autocomplete": client.get("/api/suggest/", {"q": "zebra"}).json()["suggestions"],
        "related": "/articles/future/" in client.get("/articles/live/").content.decode(),
    }


def test_a_scheduled_article_is_invisible_until_its_date_with_no_save(client, library):
    with frozen(TODAY):
        before = reader_surfaces(client)
    assert before == {
        "home": False,
        "list": False,
        "search": False,
        "disease page": False,
        "detail": 404,
        "api results": ["live"],
        "api count": 1,
        "browse count": 1,
        "facet count": 1,
        "year facet": [2025],
        "disease index": "1",
        "autocomplete": [],
        "related": False,
    }

    with frozen(LAUNCH):
        after = reader_surfaces(client)
    assert after["home"] and after["list"] and after["search"] and after["disease page"]
    assert after["detail"] == 200
    assert sorted(after["api results"]) == ["future", "live"]
    assert (after["api count"], after["browse count"], after["facet count"]) == (2, 2, 2)
    assert after["year facet"] == [2026, 2025]
    assert after["disease index"] == "2"
    assert after["autocomplete"] == ["Zebrafish stem cell transplant"]
    assert after["related"]


def test_the_database_path_hides_scheduled_articles_too(client, library, damage_index):
    damage_index()  # browsing falls back to the database
    with frozen(TODAY):
        assert slugs(client.get("/articles/")) == ["live"]
    with frozen(LAUNCH):
        assert slugs(client.get("/articles/")) == ["future", "live"]


def test_the_admin_and_the_preview_say_scheduled(editor_client, library):
    with frozen(TODAY):
        changelist = editor_client.get("/admin/library/article/").content.decode()
        preview = editor_client.get("/articles/future/").content.decode()
    assert "Scheduled for 10 March 2026" in changelist
    with frozen(TODAY):
        scheduled = editor_client.get("/admin/library/article/", {"publication": "scheduled"})
        live = editor_client.get("/admin/library/article/", {"publication": "live"})
    assert ">Zebrafish stem cell transplant<" in scheduled.content.decode()
    assert ">Live stem cell transplant<" not in scheduled.content.decode()
    assert ">Zebrafish stem cell transplant<" not in live.content.decode()
    assert "Readers will see this article from 10 March 2026" in preview


def test_a_draft_preview_says_draft_not_a_date(editor_client):
    make_article("Unfinished", slug="unfinished", status=Article.Status.DRAFT)
    page = editor_client.get("/articles/unfinished/").content.decode()
    assert "Draft (not published)" in page
    assert "Published <time" not in page


def draft_written(day: datetime.date, slug: str) -> Article:
    with frozen(day):
        return make_article(
            slug=slug,
            status=Article.Status.DRAFT,
            published_on=day,
            created_at=datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.UTC),
        )


def test_publishing_in_bulk_dates_an_untouched_draft_today(editor_client):
    untouched = draft_written(datetime.date(2026, 1, 5), "untouched")
    chosen = draft_written(datetime.date(2026, 1, 5), "chosen")
    Article.objects.filter(pk=chosen.pk).update(published_on=datetime.date(2025, 12, 1))

    with frozen(TODAY):
        editor_client.post(
            "/admin/library/article/",
            {"action": "publish", "_selected_action": [untouched.pk, chosen.pk]},
        )
    untouched.refresh_from_db()
    chosen.refresh_from_db()
    assert (untouched.status, untouched.published_on) == ("published", TODAY)
    assert chosen.published_on == datetime.date(2025, 12, 1)  # the editor's date stands


def test_publishing_in_the_form_dates_an_untouched_draft_today(editor_client):
    draft = draft_written(datetime.date(2026, 1, 5), "draft-in-form")
    with frozen(TODAY):
        form = {
            "title": draft.title,
            "slug": draft.slug,
            "summary": draft.summary,
            "body": draft.body,
            "status": "published",
            "published_on": "2026-01-05",
            "initial-published_on": "2026-01-05",  # a callable default's hidden initial
        }
        response = editor_client.post(f"/admin/library/article/{draft.pk}/change/", form)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.published_on) == ("published", TODAY)


def test_looking_up_an_index_page_by_id_keeps_drafts_and_scheduled_articles_out(
    library, django_assert_num_queries
):
    draft = make_article("Draft stem cell transplant", slug="draft", status=Article.Status.DRAFT)
    wanted = [Article.objects.get(slug=s).pk for s in ("live", "future")] + [draft.pk, 999_999]
    with frozen(TODAY), django_assert_num_queries(1):
        found = Article.objects.published_by_id(wanted)
    assert [a.slug for a in found.values()] == ["live"]
    with frozen(LAUNCH):
        assert sorted(a.slug for a in Article.objects.published_by_id(wanted).values()) == [
            "future",
            "live",
        ]
