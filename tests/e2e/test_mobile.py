"""The reader's pages on a phone (390 px wide): nothing sticks out sideways, filters work."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    horizontal_overflow,
    listed_slugs,
    results_total,
    type_for_suggestions,
)

pytestmark = pytest.mark.e2e

PAGES = {
    "home": "/",
    "article-list": "/articles/",
    "search-results": "/articles/?q=haematopoietic+stem+cell+transplantation",
    "no-results": "/articles/?q=zzzqqq+lupis",
    "article": "/articles/stem-cell-therapy-for-autoimmune-diseases/",
    "disease-list": "/diseases/",
    "disease": "/diseases/guillain-barre-syndrome/",
    "therapy": "/therapies/mesenchymal-stem-cell-therapy/",
}


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_nothing_overflows_sideways_on_a_phone(phone_page, path):
    response = phone_page.goto(path)
    assert response.status == 200
    assert phone_page.evaluate("window.innerWidth") == 390
    assert horizontal_overflow(phone_page) is None, horizontal_overflow(phone_page)


def test_suggestions_fit_on_a_phone(phone_page):
    phone_page.goto("/")
    box = phone_page.locator("#home-search-q")
    box.tap()
    type_for_suggestions(phone_page, box, "stem")
    suggestions = phone_page.locator("#home-search-q-suggestions")
    expect(suggestions).to_be_visible()
    bounds = suggestions.bounding_box()
    assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390
    assert horizontal_overflow(phone_page) is None, horizontal_overflow(phone_page)

    # A tap on a suggestion searches for it.
    option = suggestions.get_by_role("option").first
    chosen = option.inner_text()
    option.tap()
    phone_page.wait_for_url(re.compile(r"/articles/\?q="))
    expect(phone_page.locator("#page-search-q")).to_have_value(chosen)


def test_a_long_unbroken_query_wraps_on_a_phone(phone_page):
    word = "immunosuppressive" * 25
    phone_page.goto(f"/articles/?q={word}")
    expect(phone_page.locator("#results-heading")).to_contain_text(word[:40])
    assert horizontal_overflow(phone_page) is None, horizontal_overflow(phone_page)


@pytest.mark.parametrize(
    "path",
    ["/articles/", "/articles/?q=stem+cell", "/diseases/multiple-sclerosis/"],
    ids=["article-list", "search-results", "disease"],
)
def test_filters_fold_away_and_can_be_opened_and_used_on_a_phone(phone_page, path):
    phone_page.goto(path)
    filters = phone_page.locator("details.filters")
    option = phone_page.locator('a.facet-option[data-facet="therapy"]').first
    expect(filters).not_to_have_attribute("open", "")
    expect(option).to_be_hidden()

    phone_page.get_by_text("Filter results", exact=True).tap()
    expect(option).to_be_visible()
    assert horizontal_overflow(phone_page) is None, horizontal_overflow(phone_page)
    value = option.get_attribute("data-value")
    shown = int(option.locator("span.count").inner_text().replace(",", ""))
    option.tap()
    phone_page.wait_for_url(re.compile(rf"therapy={value}"))
    assert results_total(phone_page) == shown
    assert len(listed_slugs(phone_page)) == min(shown, 20)
    assert horizontal_overflow(phone_page) is None, horizontal_overflow(phone_page)

    # The chosen filter is findable again to undo it.
    phone_page.get_by_text("Filter results", exact=True).tap()
    selected = phone_page.locator(f'a.facet-option.is-selected[data-value="{value}"]')
    expect(selected).to_be_visible()
    selected.tap()
    phone_page.wait_for_url(lambda url: f"therapy={value}" not in url)


def test_the_whole_header_fits_and_navigation_is_tappable(phone_page):
    phone_page.goto("/articles/stem-cell-therapy-for-autoimmune-diseases/")
    for name in ("Articles", "Diseases", "Therapies"):
        link = phone_page.get_by_role("navigation", name="Main").get_by_role("link", name=name)
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, name
    phone_page.get_by_role("navigation", name="Main").get_by_role("link", name="Diseases").tap()
    phone_page.wait_for_url("**/diseases/")
    expect(phone_page.locator("h1")).to_have_text("Diseases")
    assert horizontal_overflow(phone_page) is None, horizontal_overflow(phone_page)
