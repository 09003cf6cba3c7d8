"""What readers search for: counted once per search, no personal data, pruned, and
turned into aliases from the admin."""

from __future__ import annotations

import datetime
import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone

from library.models import Disease
from search.index import rebuild
from search.models import SearchTerm
from tests.conftest import make_article, make_disease

pytestmark = pytest.mark.django_db


@pytest.fixture
def library():
    lupus = make_disease("Lupus", slug="lupus", aliases="SLE")
    make_article("Stem cells for lupus", slug="lupus-cells", diseases=[lupus], body="Lupus.")
    rebuild()
    return lupus


def terms() -> dict[str, tuple[int, int]]:
    return {t.query: (t.count, t.zero_result_count) for t in SearchTerm.objects.all()}


def test_a_search_counts_once_not_per_page_sort_or_facet(client, library):
    client.get("/articles/", {"q": "  Stem   CELLS "})
    client.get("/articles/", {"q": "stem cells", "page": "2"})
    client.get("/articles/", {"q": "stem cells", "ordering": "title"})
    client.get("/articles/", {"q": "stem cells", "disease": "lupus"})
    client.get("/articles/")  # browsing is not a search
    client.get("/articles/", {"q": "stem cells", "page": "1"})
    client.get("/articles/", {"q": "wolf disease"})

    assert terms() == {"stem cells": (2, 0), "wolf disease": (1, 1)}
    stored = {f.name for f in SearchTerm._meta.fields}
    assert stored == {"id", "query", "count", "zero_result_count", "last_results", "last_seen"}


def test_a_failing_recorder_never_breaks_the_search(client, library):
    with mock.patch.object(type(SearchTerm.objects), "record", side_effect=DatabaseError("gone")):
        page = client.get("/articles/", {"q": "lupus"})
    assert page.status_code == 200
    assert 'data-slug="lupus-cells"' in page.content.decode()


def test_prune_deletes_terms_not_seen_within_the_retention(settings, db):
    settings.SEARCH_TERMS_RETENTION_DAYS = 30
    SearchTerm.objects.create(
        query="old", count=3, last_seen=timezone.now() - datetime.timedelta(days=31)
    )
    SearchTerm.objects.create(query="recent", count=1)
    out = io.StringIO()
    call_command("prune_search_terms", stdout=out)
    assert list(SearchTerm.objects.values_list("query", flat=True)) == ["recent"]
    assert "Deleted 1 search term(s) not seen in 30 days." in out.getvalue()


def test_an_editor_turns_a_zero_result_term_into_an_alias(
    editor_client, client, library, django_capture_on_commit_callbacks
):
    client.get("/articles/", {"q": "butterfly rash disease"})
    client.get("/articles/", {"q": "lupus"})
    client.get("/articles/", {"q": "lupus"})
    term = SearchTerm.objects.get(query="butterfly rash disease")

    listing = editor_client.get("/admin/search/searchterm/").content.decode()
    assert listing.index(">lupus<") < listing.index(">butterfly rash disease<")  # by count
    no_results = editor_client.get("/admin/search/searchterm/", {"results": "none"})
    assert ">butterfly rash disease<" in no_results.content.decode()
    assert ">lupus<" not in no_results.content.decode()

    chooser = editor_client.post(
        "/admin/search/searchterm/", {"action": "make_alias", "_selected_action": [term.pk]}
    )
    assert "Make the selected terms aliases of" in chooser.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(
            "/admin/search/searchterm/",
            {
                "action": "make_alias",
                "_selected_action": [term.pk],
                "apply": "1",
                "target": f"disease:{library.pk}",
            },
        )

    assert "butterfly rash disease" in Disease.objects.get(pk=library.pk).alias_list
    found = client.get("/api/search/", {"q": "butterfly rash disease"}).json()
    assert [r["slug"] for r in found["results"]] == ["lupus-cells"]
    listing = editor_client.get("/admin/search/searchterm/").content.decode()
    assert "Disease: Lupus" in listing
