"""Revisions: every path that changes an article keeps one; editors compare and revert."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from library.models import Article
from tests.conftest import make_article, make_disease, make_tag, make_therapy

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor():
    user = User.objects.create_user("alex", password="a-long-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def form_data(article: Article, **changes) -> dict:
    data = {
        "title": article.title,
        "slug": article.slug,
        "summary": article.summary,
        "body": article.body,
        "status": article.status,
        "published_on": article.published_on.isoformat(),
        "initial-published_on": article.published_on.isoformat(),
        "diseases": [d.pk for d in article.diseases.all()],
        "therapies": [t.pk for t in article.therapies.all()],
        "tags": [t.pk for t in article.tags.all()],
        "source_name": article.source_name,
        "source_url": article.source_url,
        "last_reviewed_on": "",
        "reviewed_by": "",
        "next_review_due": "",
    }
    data.update(changes)
    return data


def test_an_orm_save_keeps_a_revision(db):
    article = make_article("First title")
    article.title = "Second title"
    article.save()
    assert [r.title for r in article.history.all()][:2] == ["Second title", "First title"]


def test_an_orm_save_keeps_the_taxonomy_in_its_revision_without_reading_the_terms(db):
    lupus, ms = make_disease("Lupus", slug="lupus"), make_disease("MS", slug="ms")
    hsct = make_therapy("HSCT", slug="hsct")
    article = make_article(
        "Filed", diseases=[lupus, ms], therapies=[hsct], tags=[make_tag("Trials", slug="trials")]
    )
    article.title = "Filed again"

    with CaptureQueriesContext(connection) as queries:
        article.save()

    latest = article.history.first()
    assert latest.title == "Filed again"
    assert sorted(latest.diseases.values_list("disease__slug", flat=True)) == ["lupus", "ms"]
    assert list(latest.therapies.values_list("therapy__slug", flat=True)) == ["hsct"]
    assert list(latest.tags.values_list("tag__slug", flat=True)) == ["trials"]
    # The revision copies the link rows' ids, read in one statement for the three
    # relations; the terms' own rows are never read.
    term_tables = ("library_disease", "library_therapy", "library_tag")
    read = [q["sql"] for q in queries if any(f'"{t}"' in q["sql"] for t in term_tables)]
    assert read == []
    link_tables = ('FROM "library_article_diseases"', 'FROM "library_article_tags"')
    links = [q["sql"] for q in queries if any(table in q["sql"] for table in link_tables)]
    assert len(links) == 1


def test_an_admin_save_keeps_exactly_one_revision_with_who_and_the_taxonomy(editor_client, editor):
    article = make_article("Cord blood", body="Old body.")
    lupus = make_disease("Lupus", slug="lupus")
    before = article.history.count()

    response = editor_client.post(
        f"/admin/library/article/{article.pk}/change/",
        form_data(article, body="New body.", diseases=[lupus.pk]),
    )

    assert response.status_code == 302
    assert article.history.count() == before + 1
    latest = article.history.first()
    assert (latest.body, latest.history_user) == ("New body.", editor)
    assert "body" in latest.history_change_reason and "diseases" in latest.history_change_reason
    assert list(latest.diseases.values_list("disease__slug", flat=True)) == ["lupus"]


def test_bulk_actions_keep_a_revision_and_appear_in_the_history(editor_client, editor):
    draft = make_article("Quiet draft", status=Article.Status.DRAFT, tags=[make_tag()])

    editor_client.post(
        "/admin/library/article/", {"action": "publish", "_selected_action": [draft.pk]}
    )

    latest = draft.history.first()
    assert (latest.status, latest.history_user) == ("published", editor)
    assert latest.history_change_reason == "Published in bulk"
    assert latest.tags.count() == 1  # the taxonomy is in the revision too
    entry = LogEntry.objects.get(object_id=str(draft.pk))
    assert entry.change_message == "Published (bulk action)"
    page = editor_client.get(f"/admin/library/article/{draft.pk}/history/").content.decode()
    assert "Published in bulk" in page and "alex" in page


def test_a_fixture_load_keeps_one_revision_per_article(tmp_path):
    make_disease("Lupus", slug="lupus")
    fixture = tmp_path / "one.json"
    record = {
        "model": "library.article",
        "fields": {
            "title": "Loaded",
            "slug": "loaded",
            "summary": "S.",
            "body": "B.",
            "status": "published",
            "diseases": [["lupus"]],
        },
    }
    fixture.write_text(json.dumps([record]))

    call_command("loaddata", str(fixture), verbosity=0)

    article = Article.objects.get(slug="loaded")
    (revision,) = article.history.all()
    assert revision.history_change_reason == "Loaded from one.json"
    assert list(revision.diseases.values_list("disease__slug", flat=True)) == ["lupus"]


def test_compare_shows_the_changed_words_escaped(editor_client):
    article = make_article("Title", body="Mycophenolate was used.\n\nSecond paragraph.")
    article.body = "Rituximab was used <script>x</script>.\n\nSecond paragraph."
    article.summary = "A new summary."
    article.save()
    new, old = article.history.all()[:2]

    page = editor_client.get(
        f"/admin/library/article/{article.pk}/history/compare/",
        {"old": old.history_id, "new": new.history_id},
    ).content.decode()

    assert "<del>Mycophenolate</del><ins>Rituximab</ins>" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert 'data-field="summary"' in page
    assert 'data-field="title"' not in page  # unchanged fields are only named
    assert re.search(r"Unchanged:.*Title", page)


def test_compare_with_bad_ids_never_errors(editor_client):
    article = make_article()
    url = f"/admin/library/article/{article.pk}/history/compare/"
    assert editor_client.get(url, {"old": "x", "new": "1"}).status_code == 302
    assert editor_client.get(url, {"old": "999998", "new": "999999"}).status_code == 404


def test_revert_restores_the_text_on_the_page_and_in_search(
    editor_client, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lupus = make_disease("Lupus", slug="lupus")
        article = make_article("Stem cells", slug="stem", body="Mycophenolate helps.")
        article.diseases.set([lupus])
    original = article.history.first()
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(
            f"/admin/library/article/{article.pk}/change/",
            form_data(article, body="Rituximab helps.", diseases=[]),
        )
    assert client.get("/api/search/", {"q": "mycophenolate"}).json()["count"] == 0
    revisions_before = article.history.count()

    confirm = editor_client.get(
        f"/admin/library/article/{article.pk}/history/{original.history_id}/revert/"
    ).content.decode()
    assert "<ins>Mycophenolate</ins>" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            f"/admin/library/article/{article.pk}/history/{original.history_id}/revert/"
        )

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.body == "Mycophenolate helps."
    assert list(article.diseases.all()) == [lupus]
    assert article.history.count() == revisions_before + 1
    assert article.history.first().history_change_reason.startswith("Reverted to the revision")
    assert "Mycophenolate helps." in client.get("/articles/stem/").content.decode()
    assert [
        r["slug"] for r in client.get("/api/search/", {"q": "mycophenolate"}).json()["results"]
    ] == ["stem"]
