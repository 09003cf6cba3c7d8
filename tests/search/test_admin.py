"""Intents and editors' picks in /admin/ (issue 19), as an editor of the "Editors" group.

Intents are kept like aliases: a list with their phrases and tags, search, an *active*
filter, one revision per save. Picks name a query and an article (autocomplete); the
list says whether readers see the article, and its report lists the picks whose article
is unpublished or scheduled.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from library.models import Article
from search.models import EditorsPick, Intent
from tests.conftest import make_article, make_tag

pytestmark = pytest.mark.django_db


def rows(page: str) -> list[str]:
    """The changelist's rows as text, tags stripped (the header row left out)."""
    table = re.search(r'<table id="result_list">(.*?)</table>', page, re.S)
    found = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1) if table else "", re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found[1:]]


def test_the_editors_group_may_manage_intents_and_picks():
    codes = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    for model in ("intent", "editorspick"):
        assert {f"{a}_{model}" for a in ("add", "change", "delete", "view")} <= codes


def test_the_intent_list_shows_phrases_and_tags_and_filters_active_ones(editor_client):
    Intent.objects.all().delete()
    money = Intent.objects.create(slug="money", label="cost", phrases="cost, price")
    money.tags.set([make_tag("Costs and insurance")])
    Intent.objects.create(slug="old", label="abandoned", phrases="old", active=False)

    page = editor_client.get("/admin/search/intent/").content.decode()
    assert any(r.startswith("cost cost, price") and "Costs and insurance" in r for r in rows(page))
    assert "By active" in page and 'id="searchbar"' in page

    active = editor_client.get("/admin/search/intent/?active__exact=1").content.decode()
    assert "abandoned" not in active and "cost, price" in active
    found = editor_client.get("/admin/search/intent/?q=price").content.decode()
    assert "cost, price" in found and "abandoned" not in found


def test_an_editor_adds_an_intent_with_tags_in_one_revision(editor_client):
    costs = make_tag("Costs", slug="costs")
    response = editor_client.post(
        "/admin/search/intent/add/",
        {
            "label": "paying for it",
            "slug": "paying",
            "phrases": " cost ,price,, cost",
            "headings": "costs",
            "tags": [costs.pk],
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()

    intent = Intent.objects.get(slug="paying")
    assert (intent.phrases, list(intent.tags.all())) == ("cost, price", [costs])
    (revision,) = intent.history.all()
    assert revision.history_type == "+" and revision.history_user.username == "editor"
    assert [t.tag_id for t in revision.tags.all()] == [costs.pk]

    history = editor_client.get(f"/admin/search/intent/{intent.pk}/history/").content.decode()
    assert "editor" in history


def test_an_intent_without_phrases_is_refused_with_a_message_naming_the_field(editor_client):
    response = editor_client.post(
        "/admin/search/intent/add/",
        {"label": "nothing", "slug": "nothing", "phrases": " , ,", "headings": "", "active": "on"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "at least one word or phrase" in page
    assert not Intent.objects.filter(slug="nothing").exists()


def test_the_pick_form_offers_articles_by_autocomplete(editor_client):
    page = editor_client.get("/admin/search/editorspick/add/").content.decode()
    assert re.search(r'<select[^>]*name="article"[^>]*admin-autocomplete', page)
    for name in ("query", "order", "note"):
        assert f'name="{name}"' in page


def test_an_editor_pins_an_article_and_the_pick_keeps_its_history(editor_client):
    article = make_article("Stem cells in MS")
    response = editor_client.post(
        "/admin/search/editorspick/add/",
        {"query": " stem cells  for MS", "article": article.pk, "order": 0, "note": "the guide"},
    )
    assert response.status_code == 302

    pick = EditorsPick.objects.get()
    assert (pick.query, pick.article, pick.note) == ("stem cells for MS", article, "the guide")
    assert [(h.history_type, h.history_user.username) for h in pick.history.all()] == [
        ("+", "editor")
    ]


def test_a_pick_of_only_common_words_is_refused_naming_the_query(editor_client):
    response = editor_client.post(
        "/admin/search/editorspick/add/",
        {"query": "is it the", "article": make_article().pk, "order": 0, "note": ""},
    )
    assert response.status_code == 200
    assert "has no word a search could match" in response.content.decode()
    assert not EditorsPick.objects.exists()


def test_the_report_lists_picks_whose_article_readers_cannot_see(editor_client):
    later = timezone.localdate() + datetime.timedelta(days=10)
    live = make_article("Live guide")
    draft = make_article("Withdrawn guide", status=Article.Status.DRAFT)
    scheduled = make_article("Coming guide", published_on=later)
    for article in (live, draft, scheduled):
        EditorsPick.objects.create(query="lupus", article=article)

    page = editor_client.get("/admin/search/editorspick/").content.decode()
    listed = rows(page)
    assert any("Live guide Yes" in r for r in listed)
    assert any("Withdrawn guide No: not published" in r for r in listed)
    assert any("Coming guide Not yet: scheduled for" in r for r in listed)
    assert "2 pick(s) lead nothing because readers cannot see their article" in page
    assert 'href="/admin/search/editorspick/?article=waiting"' in page

    report = editor_client.get("/admin/search/editorspick/?article=waiting").content.decode()
    assert sorted(r.split(" ")[1] for r in rows(report)) == ["Coming", "Withdrawn"]
    assert "lead nothing" not in report  # the report itself needs no pointer to itself

    draft.status = Article.Status.PUBLISHED
    draft.save()
    live_only = editor_client.get("/admin/search/editorspick/?article=live").content.decode()
    assert len(rows(live_only)) == 2


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_lists_cost_the_same_queries_for_few_or_many_rows(editor_client):
    EditorsPick.objects.create(query="lupus", article=make_article())
    picks = count_queries(editor_client, "/admin/search/editorspick/")
    intents = count_queries(editor_client, "/admin/search/intent/")
    for n in range(10):
        EditorsPick.objects.create(query=f"lupus {n}", article=make_article())
        Intent.objects.create(slug=f"i{n}", label=f"i{n}", phrases="x").tags.set([make_tag()])

    assert count_queries(editor_client, "/admin/search/editorspick/") == picks
    assert count_queries(editor_client, "/admin/search/intent/") == intents


def test_the_admin_home_page_points_to_picks_of_unpublished_articles(editor_client):
    assert "Editors' picks:" not in editor_client.get("/admin/").content.decode()
    withdrawn = make_article("Withdrawn guide", status=Article.Status.DRAFT)
    EditorsPick.objects.create(query="lupus", article=withdrawn)
    EditorsPick.objects.create(query="lupus", article=make_article("Live guide"))

    page = editor_client.get("/admin/").content.decode()
    assert (
        '<a href="/admin/search/editorspick/?article=waiting"><strong>1 pick whose article '
        "readers cannot see</strong></a> (unpublished or scheduled)"
    ) in page
