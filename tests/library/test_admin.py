"""What editors can do in /admin/."""

from __future__ import annotations

import re

import pytest

from library.models import Article
from tests.conftest import make_article, make_disease, make_tag, make_therapy

pytestmark = pytest.mark.django_db


def test_article_list_has_useful_columns_filters_and_search(editor_client):
    make_article(
        "Cord blood basics",
        status=Article.Status.DRAFT,
        diseases=[make_disease()],
        therapies=[make_therapy()],
        tags=[make_tag()],
    )

    page = editor_client.get("/admin/library/article/").content.decode()

    assert "Cord blood basics" in page
    for column in ("column-title", "column-status", "column-published_on", "column-updated_at"):
        assert column in page
    for filter_title in ("By status", "By diseases", "By therapies", "By tags"):
        assert filter_title in page
    assert 'id="searchbar"' in page
    assert "published_on__year=2025" in page  # the date hierarchy


def test_article_form_uses_autocomplete_prefilled_slug_and_readonly_timestamps(editor_client):
    page = editor_client.get("/admin/library/article/add/").content.decode()

    assert re.search(r'<select[^>]*name="diseases"[^>]*admin-autocomplete', page)
    assert re.search(r'<select[^>]*name="tags"[^>]*admin-autocomplete', page)
    assert (
        "prepopulated_fields" in page or "data-prepopulated-field" in page or "prepopulated" in page
    )
    assert 'name="created_at"' not in page
    assert 'name="updated_at"' not in page


def test_publish_and_unpublish_bulk_actions(editor_client):
    draft = make_article(status=Article.Status.DRAFT)
    live = make_article(status=Article.Status.PUBLISHED)

    response = editor_client.post(
        "/admin/library/article/",
        {"action": "publish", "_selected_action": [draft.pk, live.pk]},
        follow=True,
    )
    assert "Published 1 article(s)." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED

    editor_client.post(
        "/admin/library/article/", {"action": "unpublish", "_selected_action": [draft.pk]}
    )
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT


def test_taxonomy_lists_count_articles_in_a_fixed_number_of_queries(
    editor_client, django_assert_max_num_queries
):
    diseases = [make_disease() for _ in range(3)]
    make_article(diseases=diseases)
    make_article(diseases=diseases[:1])

    with django_assert_max_num_queries(8) as captured:
        page = editor_client.get("/admin/library/disease/").content.decode()
    small = len(captured)
    for _ in range(10):
        make_article(diseases=[make_disease()])
    with django_assert_max_num_queries(small):
        editor_client.get("/admin/library/disease/")

    counts = dict(
        re.findall(
            r'<th class="field-name"><a href="[^"]+">([^<]+)</a></th>.*?<td class="field-article_count">(\d+)</td>',
            page,
            re.S,
        )
    )
    assert counts[diseases[0].name] == "2"
    assert counts[diseases[1].name] == "1"


@pytest.mark.parametrize("path", ["/admin/library/therapy/", "/admin/library/tag/"])
def test_therapy_and_tag_lists_show_article_counts(editor_client, path):
    make_article(therapies=[make_therapy("Cord blood")], tags=[make_tag("Cord")])

    page = editor_client.get(path).content.decode()

    assert re.search(r'<td class="field-article_count">1</td>', page)


def test_autocomplete_finds_diseases_by_alias(editor_client):
    make_disease("Multiple sclerosis", aliases="MS\ndisseminated sclerosis")

    response = editor_client.get(
        "/admin/autocomplete/",
        {
            "term": "disseminated",
            "app_label": "library",
            "model_name": "article",
            "field_name": "diseases",
        },
    )

    assert [r["text"] for r in response.json()["results"]] == ["Multiple sclerosis"]


def test_view_on_site_links_to_the_public_page(editor_client):
    article = make_article(slug="visible")

    page = editor_client.get(f"/admin/library/article/{article.pk}/change/").content.decode()

    assert "View on site" in page


def test_editors_cannot_manage_users_or_groups(editor_client):
    assert editor_client.get("/admin/auth/user/").status_code == 403
    assert editor_client.get("/admin/auth/group/").status_code == 403


def test_the_article_list_warns_when_index_updates_are_queued(editor_client):
    from search.backends import get_backend
    from search.models import PendingIndexUpdate

    article = make_article()
    assert "queued" not in editor_client.get("/admin/library/article/").content.decode()

    PendingIndexUpdate.objects.create(
        index=get_backend().identity, article_id=article.pk, error="LockError"
    )

    page = editor_client.get("/admin/library/article/").content.decode()
    assert "1 article(s) could not be updated in the search index" in page
