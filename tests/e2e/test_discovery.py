"""Browser checks for finding and following: the /explore/ grid on a desktop and a phone,
the print stylesheet, the Print button, the contents list and the folded tag facet."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import horizontal_overflow, results_total
from tests.e2e.test_accessibility import blocking_violations

pytestmark = pytest.mark.e2e

ARTICLE = "/articles/stem-cell-therapy-for-autoimmune-diseases/"


def test_the_explore_grid_on_a_desktop_is_an_accessible_table_leading_to_the_list(page):
    page.goto("/explore/")

    table = page.get_by_role("table", name="Published articles by disease")
    expect(table).to_be_visible()
    expect(page.locator(".explore-list")).to_be_hidden()
    header = table.get_by_role("columnheader", name="Hematopoietic stem cell transplantation")
    expect(header).to_be_visible()
    cell = table.locator('td[data-disease="lupus"][data-therapy="hsct"]')
    count = int(cell.get_attribute("data-count"))
    assert count > 0
    assert horizontal_overflow(page) is None
    report = blocking_violations(page)
    assert not report, f"axe on /explore/ at 1280 px:\n{report}"

    cell.get_by_role("link").click()

    page.wait_for_url("**/articles/?disease=lupus&therapy=hsct")
    assert results_total(page) == count


def test_the_explore_grid_on_a_phone_is_a_list_per_disease(phone_page):
    phone_page.goto("/explore/")

    expect(phone_page.locator(".explore-table")).to_be_hidden()
    lupus = phone_page.get_by_role("region", name="Lupus (systemic lupus erythematosus)")
    expect(lupus).to_be_visible()
    item = lupus.locator('li[data-therapy="hsct"]')
    expect(item).to_be_visible()
    expect(item).to_contain_text("Hematopoietic stem cell transplantation")
    assert horizontal_overflow(phone_page) is None, horizontal_overflow(phone_page)
    report = blocking_violations(phone_page)
    assert not report, f"axe on /explore/ at 390 px:\n{report}"

    item.get_by_role("link").tap()
    phone_page.wait_for_url("**/articles/?disease=lupus&therapy=hsct")


@pytest.mark.parametrize("path", ["/tags/", ARTICLE, "/articles/?q=stem+cell"])
def test_new_parts_of_pages_are_axe_clean(page, path):
    page.goto(path)
    details = page.locator("details.facet-more summary, details.research-more summary")
    for index in range(details.count()):
        details.nth(index).click()
    report = blocking_violations(page)
    assert not report, f"axe on {path}:\n{report}"


def test_a_printed_article_keeps_the_article_and_drops_the_site_around_it(page):
    page.goto(ARTICLE)
    expect(page.locator(".site-header")).to_be_visible()

    page.emulate_media(media="print")

    # The site's name heads the printed page; the header's links and search do not print.
    expect(page.locator(".site-header .brand")).to_have_text("stemsite")
    expect(page.locator(".site-header .brand")).to_be_visible()
    expect(page.locator(".site-header nav")).to_be_hidden()
    expect(page.locator(".header-search")).to_be_hidden()
    expect(page.get_by_role("combobox", name="Search articles")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.locator(".print-button")).to_be_hidden()
    expect(page.locator("h1")).to_be_visible()
    meta = page.locator(".article-header .meta")
    expect(meta.locator("time")).to_be_visible()
    source = meta.locator('a[href^="https://www.nestfact.com/"]')  # beside the review line's
    expect(source).to_be_visible()
    after = source.evaluate("a => getComputedStyle(a, '::after').content")
    assert "attr(href)" in after or source.get_attribute("href") in after, after
    # Links inside the site print no address; outside ones do.
    chip = page.locator(".article-footer a.chip").first
    assert chip.evaluate("a => getComputedStyle(a, '::after').content") in ("none", "normal")


def test_a_printed_list_drops_the_search_and_the_filters(page):
    page.goto("/articles/?q=lupus")
    page.emulate_media(media="print")
    expect(page.locator(".page-search")).to_be_hidden()
    expect(page.locator(".filters-panel")).to_be_hidden()
    expect(page.locator(".result-list")).to_be_visible()


def test_the_print_button_prints(page):
    page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; }")
    page.goto(ARTICLE)

    page.get_by_role("button", name="Print this article").click()

    assert page.evaluate("window.__printed") == 1


def test_without_javascript_there_is_no_print_button(new_page):
    page = new_page(javascript=False)
    page.goto(ARTICLE)
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".print-button")).to_be_hidden()


def test_on_this_page_leads_to_the_heading(page):
    page.goto(ARTICLE)
    contents = page.get_by_role("navigation", name="On this page")
    expect(contents).to_be_visible()
    first = contents.get_by_role("link").first
    target = first.get_attribute("href")

    first.click()

    expect(page).to_have_url(f"{page.url.split('#')[0]}{target}")
    expect(page.locator(target)).to_be_in_viewport()


def test_show_all_tags_works_without_javascript(new_page):
    page = new_page(javascript=False)
    page.goto("/articles/")
    page.locator("details.filters > summary").click()  # folded without the script
    facet = page.locator("section.facet[aria-labelledby='facet-tag']")
    folded = facet.locator("details.facet-more li")
    expect(folded.first).to_be_hidden()

    facet.get_by_text("Show all").click()

    expect(folded.first).to_be_visible()
