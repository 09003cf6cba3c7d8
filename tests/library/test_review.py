"""Medical review: the line readers see, the overdue notice, the admin filter and report."""

from __future__ import annotations

import datetime
import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from library.models import Article
from tests.conftest import make_article
from tests.library.test_history import form_data

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def articles():
    today = timezone.localdate()
    return {
        "overdue": make_article(
            "Overdue one",
            slug="overdue",
            last_reviewed_on=today - 400 * DAY,
            reviewed_by="Dr B. Okafor, rheumatologist",
        ),
        "soon": make_article(
            "Soon one",
            slug="soon",
            last_reviewed_on=today - 350 * DAY,
            next_review_due=today + 10 * DAY,
        ),
        "current": make_article("Current one", slug="current", last_reviewed_on=today - DAY),
        "never": make_article("Never one", slug="never"),
    }


def test_the_next_review_defaults_to_the_interval_after_the_last(articles, settings):
    current = articles["current"]
    assert current.next_review_due == current.last_reviewed_on + datetime.timedelta(days=365)
    settings.REVIEW_INTERVAL_DAYS = 90
    article = make_article(last_reviewed_on=datetime.date(2026, 1, 1))
    assert article.next_review_due == datetime.date(2026, 4, 1)


def review_lines(page: str) -> list[str]:
    """The text of each review line on an article page."""
    return [
        re.sub(r"<[^>]+>", "", line)
        for line in re.findall(r'<p class="meta review-status"[^>]*>(.*?)</p>', page, re.S)
    ]


def test_the_article_page_shows_the_review_line_and_a_calm_notice_when_overdue(client, articles):
    overdue = articles["overdue"]
    page = client.get("/articles/overdue/").content.decode()
    last = f"{overdue.last_reviewed_on.day} {overdue.last_reviewed_on:%B %Y}"
    due = f"{overdue.next_review_due.day} {overdue.next_review_due:%B %Y}"
    assert review_lines(page) == [
        f"Medically reviewed by Dr B. Okafor, rheumatologist on {last} · "
        f"Next review due {due} · What this means"
    ]
    assert "This page is due for review." in page
    assert "Overdue one" in page  # never hidden

    current = client.get("/articles/current/").content.decode()
    assert review_lines(current)[0].startswith("Medically reviewed")
    assert "due for review" not in current


def test_an_article_never_reviewed_says_so_calmly_and_stays_published(client, articles):
    response = client.get("/articles/never/")

    assert response.status_code == 200
    page = response.content.decode()
    assert review_lines(page) == [
        "This article has not yet been medically reviewed. How our articles are checked"
    ]
    assert 'href="/about/editorial-policy/#reviewed"' in page
    assert "Medically reviewed by" not in page and 'role="note"' not in page


def test_review_dates_are_checked_in_the_admin_with_the_field_named(editor_client):
    article = make_article("Reviewed later", slug="reviewed-later")
    created = timezone.localdate(article.created_at)
    url = f"/admin/library/article/{article.pk}/change/"

    def post(**review):
        return editor_client.post(url, form_data(article, **review))

    before_creation = post(
        last_reviewed_on=(created - 365 * DAY).isoformat(), reviewed_by="Dr C. Ode, GP"
    )
    assert before_creation.status_code == 200
    errors = before_creation.context["adminform"].form.errors
    assert "cannot be before the article was created" in errors["last_reviewed_on"][0]

    due_before = post(
        last_reviewed_on=created.isoformat(),
        reviewed_by="Dr C. Ode, GP",
        next_review_due=(created - DAY).isoformat(),
    )
    assert due_before.context["adminform"].form.errors["next_review_due"] == [
        "The next review must come after the last."
    ]
    no_date = post(reviewed_by="Dr C. Ode, GP")
    assert (
        "Give the date of the review"
        in no_date.context["adminform"].form.errors["last_reviewed_on"][0]
    )
    no_name = post(last_reviewed_on=created.isoformat())
    assert "Name the reviewer" in no_name.context["adminform"].form.errors["reviewed_by"][0]
    article.refresh_from_db()
    assert article.last_reviewed_on is None and article.reviewed_by == ""

    good = post(last_reviewed_on=created.isoformat(), reviewed_by="Dr C. Ode, GP")
    assert good.status_code == 302
    article.refresh_from_db()
    assert article.last_reviewed_on == created
    assert article.next_review_due == created + datetime.timedelta(days=365)


def test_a_fixture_review_before_the_stored_article_was_created_is_refused(tmp_path):
    existing = make_article("Stored", slug="stored")
    created = timezone.localdate(existing.created_at)
    fixture = tmp_path / "review.json"
    fields = {
        "title": "Stored",
        "slug": "stored",
        "summary": "S.",
        "body": "B.",
        "status": "published",
        "last_reviewed_on": (created - 30 * DAY).isoformat(),
        "reviewed_by": "Dr E. Arly, rheumatologist",
    }
    fixture.write_text(json.dumps([{"model": "library.article", "fields": fields}]))

    with pytest.raises(CommandError) as error:
        call_command("loaddata", str(fixture), verbosity=0)

    assert "(slug “stored”): field 'last_reviewed_on': The review date" in str(error.value)
    assert "cannot be before the article was created" in str(error.value)
    existing.refresh_from_db()
    assert existing.last_reviewed_on is None

    fields["created_at"] = f"{created - 60 * DAY}T00:00:00Z"
    fixture.write_text(json.dumps([{"model": "library.article", "fields": fields}]))
    call_command("loaddata", str(fixture), verbosity=0)
    assert Article.objects.get(slug="stored").last_reviewed_on == created - 30 * DAY


def test_the_admin_filters_and_shows_review_state_and_counts_overdue(editor_client, articles):
    def listed(query):
        page = editor_client.get("/admin/library/article/", {"review": query}).content.decode()
        return {slug for slug in articles if f">{articles[slug].title}<" in page}

    assert listed("overdue") == {"overdue"}
    assert listed("soon") == {"soon"}
    assert listed("never") == {"never"}
    page = editor_client.get("/admin/library/article/").content.decode()
    assert "column-review" in page and "Overdue (" in page and "Never reviewed" in page

    index = editor_client.get("/admin/").content.decode()
    assert "1 article overdue" in index and "1 due within 30 days" in index


def test_review_report_lists_the_same_articles(articles):
    out = io.StringIO()
    call_command("review_report", stdout=out)
    report = out.getvalue()
    assert "Overdue for review: 1\n  overdue  Overdue one" in report
    assert "Due within 30 days: 1\n  soon  Soon one" in report
    assert "Never reviewed: 1\n  never  Never one" in report
    with pytest.raises(CommandError):
        call_command("review_report", "--fail-overdue", stdout=io.StringIO())


def test_review_fields_are_optional_in_fixtures_and_defaulted_and_checked(tmp_path):
    def record(slug, **fields):
        base = {"title": "T", "slug": slug, "summary": "S.", "body": "B.", "status": "published"}
        return {"model": "library.article", "fields": base | fields}

    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            [record("plain"), record("reviewed", last_reviewed_on="2025-01-10", reviewed_by="Dr C")]
        )
    )
    call_command("loaddata", str(good), verbosity=0)
    assert Article.objects.get(slug="plain").last_reviewed_on is None
    assert Article.objects.get(slug="reviewed").next_review_due == datetime.date(2026, 1, 10)

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                record("x", last_reviewed_on="2025-01-10", next_review_due="2024-01-01"),
                record("y", reviewed_by="Dr D"),
            ]
        )
    )
    with pytest.raises(CommandError) as error:
        call_command("loaddata", str(bad), verbosity=0)
    assert "field 'next_review_due': The next review must come after the last." in str(error.value)
    assert "(slug “y”): field 'last_reviewed_on': this field is required" in str(error.value)
