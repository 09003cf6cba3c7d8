"""The article form's rough edges smoothed (issue 20): "Further reading" as rows of title
and address, the reader-trust fields with their help, and title matches first in search."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_article
from tests.library.test_history import form_data

pytestmark = pytest.mark.django_db

NHS = {"name": "NHS: Methotrexate", "url": "https://www.nhs.uk/medicines/methotrexate/"}
FDA = {"name": "FDA: stem cell products", "url": "https://www.fda.gov/consumers/"}


def rows(page: str) -> list[tuple[str, str]]:
    """(title, address) of each row of the Further reading table, empty rows included."""
    return re.findall(
        r'<input type="text" name="further_reading-\d+-name"[^>]*value="([^"]*)".*?'
        r'<input type="url" name="further_reading-\d+-url"[^>]*value="([^"]*)"',
        page,
        re.S,
    )


def row_data(*links: tuple[str, str]) -> dict:
    data = {}
    for index, (name, url) in enumerate(links):
        data[f"further_reading-{index}-name"] = name
        data[f"further_reading-{index}-url"] = url
    return data


def test_further_reading_is_shown_as_rows_of_title_and_address(editor_client):
    article = make_article(further_reading=[NHS, FDA])

    page = editor_client.get(f"/admin/library/article/{article.pk}/change/").content.decode()

    assert rows(page) == [(NHS["name"], NHS["url"]), (FDA["name"], FDA["url"])] + [("", "")] * 3
    assert '<th scope="col" id="id_further_reading-title-heading">Title readers see</th>' in page
    assert 'aria-label="Link 1: address"' in page
    assert "[{&quot;name&quot;" not in page  # no JSON to type


def test_rows_are_saved_in_the_fixture_format_and_empty_rows_skipped(editor_client):
    article = make_article(further_reading=[NHS])
    url = f"/admin/library/article/{article.pk}/change/"

    response = editor_client.post(
        url,
        form_data(
            article,
            **row_data(
                ("", ""),
                (FDA["name"], f"  {FDA['url']} "),
                (NHS["name"], NHS["url"]),
                ("", ""),
            ),
        ),
    )

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.further_reading == [FDA, NHS]
    assert article.history.first().history_change_reason == "Changed further_reading"


def test_each_bad_row_is_named_and_nothing_is_saved(editor_client):
    article = make_article(further_reading=[NHS])

    response = editor_client.post(
        f"/admin/library/article/{article.pk}/change/",
        form_data(
            article,
            **row_data(
                ("MedlinePlus", "medlineplus.gov"),
                ("", "https://www.ema.europa.eu/"),
                ("Alofisel withdrawal", ""),
                ("Bad", "javascript:alert(1)"),
            ),
        ),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["further_reading"] == [
        "Link 1 (“MedlinePlus”): “medlineplus.gov” is not a web address; it must start with "
        "http:// or https://.",
        "Link 2: give the title readers will see for https://www.ema.europa.eu/.",
        "Link 3 (“Alofisel withdrawal”): give its web address, starting with https://.",
        "Link 4 (“Bad”): “javascript:alert(1)” is not a web address; it must start with "
        "http:// or https://.",
    ]
    page = response.content.decode()
    assert ("MedlinePlus", "medlineplus.gov") in rows(page)  # the editor's typing is kept
    article.refresh_from_db()
    assert article.further_reading == [NHS]


def test_the_form_has_the_reader_trust_fields_with_their_help(editor_client):
    article = make_article()
    page = editor_client.get(f"/admin/library/article/{article.pk}/change/").content.decode()

    for name in ("key_points", "source_keywords", "update_note"):
        assert f'name="{name}"' in page, name
    assert "Readers see “Updated DATE: NOTE”, dated from the revision that set it." in page
    assert "Medical review and corrections" in page

    response = editor_client.post(
        f"/admin/library/article/{article.pk}/change/",
        form_data(
            article,
            key_points="One.\nTwo.",
            update_note="Corrected: methotrexate is taken once a week.",
        ),
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.update_note == "Corrected: methotrexate is taken once a week."
    page = editor_client.get(article.get_absolute_url()).content.decode()
    assert "Corrected: methotrexate is taken once a week.</p>" in page


def test_admin_search_lists_title_matches_first(editor_client):
    make_article("Living with lupus", slug="a", body="Fatigue and joint pain.")
    make_article("Recovery notes", slug="b", body="Lupus flares after HSCT are rare.")
    make_article("Lupus and HSCT", slug="c", body="HSCT for lupus.")
    make_article("HSCT for autoimmune disease", slug="d", body="Lupus is one of them.")

    def titles(**params) -> list[str]:
        response = editor_client.get("/admin/library/article/", params)
        return [article.title for article in response.context["cl"].result_list]

    # Same date for all: the list's usual order is by title, as the last check shows.
    assert titles(q="lupus") == [
        "Living with lupus",  # the search in the title
        "Lupus and HSCT",
        "HSCT for autoimmune disease",  # found in the body only
        "Recovery notes",
    ]
    assert titles(q="lupus hsct") == [
        "Lupus and HSCT",  # every word in the title
        "HSCT for autoimmune disease",
        "Recovery notes",
    ]
    # A column chosen to sort by wins over title matches.
    assert titles(q="lupus", o="1") == [
        "HSCT for autoimmune disease",
        "Living with lupus",
        "Lupus and HSCT",
        "Recovery notes",
    ]
