"""Answers first (issue 19): on a phone a question's first result is on the first screen,
"Skip to results" takes a keyboard straight to it, and a topic page opens with its
"Start here" article.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import horizontal_overflow, listed_slugs

pytestmark = pytest.mark.e2e

# Questions as readers type them (issue 19's examples and their kind), long ones included.
QUESTIONS = [
    "is stem cell treatment safe for lupus",
    "can stem cells cure MS",
    "stem cell for lupis",
    "is HSCT the same as a bone marrow transplant",
    "am I a candidate for stem cell treatment for multiple sclerosis",
    "how much does hsct cost and does insurance pay",
    "psoriasis OR scleroderma",
]

SCREENS = {"320x568": (320, 568), "390x844": (390, 844)}


def first_title_line(page) -> dict:
    """Where the first result's title starts: the box of its first line, in the viewport."""
    return page.locator(".result-list .card-title a").first.evaluate(
        """a => {
            const line = a.getClientRects()[0];
            return {top: line.top, bottom: line.bottom, height: window.innerHeight};
        }"""
    )


@pytest.mark.parametrize("screen", SCREENS.values(), ids=SCREENS.keys())
@pytest.mark.parametrize("question", QUESTIONS)
def test_a_questions_first_result_starts_on_the_first_screen(new_page, screen, question):
    width, height = screen
    page = new_page(phone=True, width=width, height=height)
    page.goto("/articles/?" + f"q={question}".replace(" ", "+"))

    assert listed_slugs(page), f"no results for {question!r}"
    line = first_title_line(page)
    assert line["height"] == height
    # The whole first line of the title is visible without scrolling.
    assert line["top"] > 0 and line["bottom"] <= height, (question, line)
    assert horizontal_overflow(page) is None, horizontal_overflow(page)


def test_on_a_small_phone_the_filters_stay_one_tap_away(new_page):
    page = new_page(phone=True, width=320, height=568)
    page.goto("/articles/?q=is+stem+cell+treatment+safe+for+lupus")
    filters = page.locator("details.filters")
    summary = page.locator("details.filters > summary")
    expect(summary).to_be_in_viewport()
    option = filters.locator(".facet a").first
    expect(option).to_be_hidden()

    summary.tap()

    expect(option).to_be_visible()
    # The heading readers of the page outline rely on is still there for screen readers.
    expect(page.get_by_role("heading", level=1, name="Search results")).to_have_count(1)


def test_skip_to_results_moves_focus_to_the_first_result(page):
    page.goto("/articles/?q=can+stem+cells+cure+MS")
    first = page.locator(".result-list .card-title a").first
    skip = page.get_by_role("link", name="Skip to results")
    expect(skip).not_to_be_in_viewport()  # out of sight until a keyboard reaches it

    page.locator("#page-search-q").focus()
    for _ in range(3):  # past the search button, to the skip link
        page.keyboard.press("Tab")
        if skip.evaluate("a => a === document.activeElement"):
            break
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    page.keyboard.press("Enter")

    expect(first).to_be_focused()
    # The next Tab goes on from the first result, not from the filters.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.result-list') !== null")


def test_skip_to_results_works_without_javascript(new_page):
    page = new_page(javascript=False)
    page.goto("/articles/?q=lupus")
    page.get_by_role("link", name="Skip to results").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".result-list .card-title a").first).to_be_focused()


def test_start_here_comes_first_on_the_lupus_page(page):
    page.goto("/diseases/lupus/")

    start = page.locator(".start-here")
    expect(start.get_by_role("heading", name="Start here")).to_be_visible()
    titles = page.locator("article.card .card-title")
    expect(titles.first).to_have_text("Stem Cell Therapy Research in Lupus")
    assert listed_slugs(page)[0] == "stem-cell-therapy-research-in-lupus"
    # The others follow, each once.
    assert listed_slugs(page).count("stem-cell-therapy-research-in-lupus") == 1
    assert len(listed_slugs(page)) > 1
    # Nothing chosen: no empty "Filters: Clear all" row.
    expect(page.locator(".active-filters")).to_have_count(0)


def test_start_here_comes_first_on_a_small_phone_too(new_page):
    page = new_page(phone=True, width=320, height=568)
    page.goto("/diseases/multiple-sclerosis/")
    expect(page.locator("article.card .card-title").first).to_have_text(
        "Stem Cell Research in Multiple Sclerosis"
    )
    start = page.locator(".start-here").bounding_box()
    listing = page.locator(".listing").bounding_box()
    assert start["y"] + start["height"] <= listing["y"]
    assert horizontal_overflow(page) is None, horizontal_overflow(page)


# --- Rough edges a reader sees (issue 19, item 8) -----------------------------------------


def test_explore_shows_its_last_column_whole_at_1280_px(page):
    page.goto("/explore/")
    wrap = page.locator(".explore-table-wrap")
    # Nothing to scroll sideways inside the table's box, and the last column is in it.
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), wrap.evaluate(
        "w => [w.scrollWidth, w.clientWidth]"
    )
    last = page.locator(".explore-table thead th").last
    expect(last).to_be_in_viewport(ratio=1)
    box, edge = last.bounding_box(), wrap.bounding_box()
    assert box["x"] + box["width"] <= edge["x"] + edge["width"] + 0.5


def test_a_contents_list_of_numbered_headings_shows_each_number_once(page):
    page.goto("/articles/stem-cell-therapy-for-autoimmune-diseases/")
    numbered = page.locator(".toc ol.numbered-headings > li").first
    expect(numbered).to_have_text("1. Hematopoietic Stem Cell Transplantation (HSCT)")
    assert numbered.evaluate("li => getComputedStyle(li).listStyleType") == "none"
    plain = page.locator(".toc > ol > li").first
    assert plain.evaluate("li => getComputedStyle(li).listStyleType") == "decimal"


def test_a_printed_article_names_the_site_and_has_no_dead_controls(page):
    page.goto("/articles/stem-cell-therapy-for-autoimmune-diseases/")
    more = page.locator("details.research-more summary")
    expect(more).to_have_text(re.compile(r"Show all \d+ searches"))

    page.emulate_media(media="print")

    expect(more).to_be_hidden()
    expect(page.locator(".brand")).to_be_visible()
    expect(page.locator(".brand")).to_have_text("stemsite")
    assert page.locator(".brand").evaluate("a => getComputedStyle(a).color") == "rgb(0, 0, 0)"
    expect(page.locator(".research-links").first).to_be_visible()
    expect(page.get_by_role("link", name="Skip to results")).to_have_count(0)
