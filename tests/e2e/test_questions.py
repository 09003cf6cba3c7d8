"""Browser journeys for reader questions and a results page that keeps the reader's
place: filter chips on a phone, a bad parameter that keeps the search, autocomplete
opening an article, and no sideways scrolling at 320 px (WCAG reflow)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import listed_slugs, type_for_suggestions

pytestmark = pytest.mark.e2e

NARROW_PAGES = {
    "article": "/articles/stem-cell-therapy-for-autoimmune-diseases/",
    "article-list": "/articles/",
    "question": "/articles/?q=my+husband+has+MS%2C+would+stem+cells+help+him&disease=multiple-sclerosis",
    "disease-list": "/diseases/",
    "therapy-list": "/therapies/",
    "not-found": "/articles/no-such-article/",
}


@pytest.fixture
def narrow_page(new_page):
    return new_page(phone=True, width=320)


def wider_than(page, width: int) -> dict | None:
    """None when the page fits `width` CSS pixels, else its width and the culprits.

    A phone browser widens its layout viewport to fit content that sticks out, so
    `innerWidth` cannot be trusted here: the page's own scroll width is compared.
    """
    return page.evaluate(
        """(width) => {
            const scroll = document.documentElement.scrollWidth;
            if (scroll <= width) return null;
            const culprits = [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > width + 0.5)
                .slice(-5)
                .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                     + ' right=' + Math.round(el.getBoundingClientRect().right));
            return {scrollWidth: scroll, culprits};
        }""",
        width,
    )


@pytest.mark.parametrize("path", NARROW_PAGES.values(), ids=NARROW_PAGES.keys())
def test_nothing_scrolls_sideways_at_320_px(narrow_page, path):
    narrow_page.goto(path)
    assert wider_than(narrow_page, 320) is None, wider_than(narrow_page, 320)
    button = narrow_page.locator("header button[type=submit]")
    if button.count():
        bounds = button.bounding_box()
        assert bounds["x"] + bounds["width"] <= 320


def test_active_filters_show_as_chips_on_a_phone(phone_page):
    phone_page.goto("/articles/?q=stem+cell&disease=lupus&therapy=hsct")
    chips = phone_page.locator(".active-filters .chip")
    expect(chips).to_have_count(2)
    expect(chips.first).to_be_visible()  # above the results, without opening the panel
    heading = phone_page.locator("#results-heading")
    expect(heading).to_contain_text("about Lupus (systemic lupus erythematosus) and")
    expect(heading).to_contain_text("matching “stem cell”")
    with_both = listed_slugs(phone_page)

    chips.filter(has_text="Lupus").tap()
    phone_page.wait_for_url(re.compile(r"^(?!.*disease=).*therapy=hsct"))
    expect(phone_page.locator(".active-filters .chip")).to_have_count(1)
    assert set(with_both) <= set(listed_slugs(phone_page))

    phone_page.get_by_role("link", name="Clear all").tap()
    phone_page.wait_for_url(re.compile(r"/articles/\?q=stem\+cell$"))
    expect(phone_page.locator(".active-filters")).to_have_count(0)
    expect(phone_page.locator("#page-search-q")).to_have_value("stem cell")


def test_a_bad_parameter_keeps_the_search(page):
    page.goto("/articles/?q=lupus&ordering=newest")
    expect(page.locator("#page-search-q")).to_have_value("lupus")
    expect(page.get_by_role("alert")).to_contain_text("sort order “newest” could not be used")
    assert "stem-cell-therapy-research-in-lupus" in listed_slugs(page)


def test_choosing_an_article_suggestion_opens_the_article(page):
    page.goto("/")
    box = page.locator("#home-search-q")
    box.click()
    type_for_suggestions(page, box, "mesenchymal stem cell therapy ex")
    option = page.locator("#home-search-q-suggestions").get_by_role(
        "option", name="Mesenchymal Stem Cell Therapy Explained"
    )
    option.click()
    page.wait_for_url(re.compile(r"/articles/mesenchymal-stem-cell-therapy-explained/$"))
    expect(page.locator("h1")).to_have_text("Mesenchymal Stem Cell Therapy Explained")


def test_a_question_says_what_it_did_and_offers_the_exact_word(page):
    page.goto("/articles/?q=my+husband+has+MS%2C+would+stem+cells+help+him")
    expect(page.locator("[data-match=most]")).to_contain_text("Not found: husband")
    note = page.locator("[data-expanded]")
    expect(note).to_contain_text("Also searched: Multiple sclerosis")
    note.get_by_role("link").click()
    expect(page.locator("#page-search-q")).to_have_value(
        'my husband has "MS", would stem cells help him'
    )
    expect(page.locator("[data-expanded]")).to_have_count(0)
