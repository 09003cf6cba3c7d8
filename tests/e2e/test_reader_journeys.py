"""A reader finding articles: search box, suggestions, facets, articles, disease pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import listed_slugs, results_total, type_for_suggestions

pytestmark = pytest.mark.e2e

PAGE_SIZE = 20


def test_search_from_home_narrow_by_therapy_open_article_and_follow_disease(page):
    page.goto("/")
    box = page.get_by_role("combobox", name="Search articles")
    box.click()
    type_for_suggestions(page, box, "MS")

    suggestions = page.locator("#home-search-q-suggestions")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option").first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")

    box.press("Enter")
    page.wait_for_url(re.compile(r"/articles/\?q=MS$"))
    expect(page.locator("h1")).to_have_text("Search results")
    expect(page.get_by_role("searchbox").or_(page.get_by_role("combobox")).first).to_have_value(
        "MS"
    )
    total = results_total(page)
    assert total > 0
    assert len(listed_slugs(page)) == min(total, PAGE_SIZE)
    marks = page.locator("article.card .snippet mark")
    expect(marks.first).to_be_visible()
    assert {m.lower() for m in marks.all_inner_texts()} & {"ms", "multiple", "sclerosis"}

    # Narrow by a therapy: the count beside the option is the number of results after.
    option = page.locator('a.facet-option[data-facet="therapy"]').first
    therapy = option.get_attribute("data-value")
    shown = int(option.locator("span.count").inner_text().replace(",", ""))
    assert 0 < shown < total, "a useful facet narrows the results"
    option.click()
    page.wait_for_url(re.compile(rf"therapy={therapy}"))
    assert results_total(page) == shown
    assert len(listed_slugs(page)) == min(shown, PAGE_SIZE)
    selected = page.locator(f'a.facet-option[data-facet="therapy"][data-value="{therapy}"]')
    expect(selected).to_have_class(re.compile(r"\bis-selected\b"))
    expect(selected).to_have_attribute("aria-current", "true")
    for card in page.locator("article.card").all():
        expect(card.locator(f'a.chip-therapy[href$="/therapies/{therapy}/"]')).to_have_count(1)

    # The choice can be undone, and the query survives both ways.
    selected.click()
    page.wait_for_url(re.compile(r"/articles/\?q=MS$"))
    assert results_total(page) == total
    page.locator(f'a.facet-option[data-facet="therapy"][data-value="{therapy}"]').click()
    page.wait_for_url(re.compile(rf"therapy={therapy}"))

    # Open the first result: the rendered Markdown body and related articles.
    first = page.locator("article.card").first
    slug = first.get_attribute("data-slug")
    first.locator(".card-title a").click()
    page.wait_for_url(f"**/articles/{slug}/")
    expect(page.locator("h1")).to_have_count(1)
    prose = page.locator(".prose")
    expect(prose.locator("h2").first).to_be_visible()
    expect(prose.locator("ul li, ol li").first).to_be_visible()
    assert "##" not in prose.inner_text(), "Markdown headings are rendered, not shown raw"
    related = page.locator("aside.related li")
    expect(related.first).to_be_visible()
    related_slugs = related.evaluate_all("items => items.map(li => li.dataset.slug)")
    assert slug not in related_slugs, "an article is not related to itself"

    # Follow a disease link to the disease page, which lists this article.
    chip = page.locator("a.chip-disease").first
    disease = chip.inner_text()
    chip.click()
    page.wait_for_url(re.compile(r"/diseases/[\w-]+/$"))
    expect(page.locator("h1")).to_have_text(disease)
    expect(page.locator(f'article.card[data-slug="{slug}"]')).to_have_count(1)
    expect(page.locator("span.facet-option.is-fixed", has_text=disease)).to_be_visible()


@pytest.mark.parametrize(("typed", "meant"), [("lupis", "lupus"), ("sclerosus", "sclerosis")])
def test_a_misspelling_that_finds_nothing_shows_the_corrected_results(page, typed, meant):
    page.goto("/")
    box = page.locator("#home-search-q")
    box.fill(typed)
    box.press("Enter")
    page.wait_for_url(re.compile(rf"q={typed}"))
    expect(page.locator("[data-corrected]")).to_contain_text(
        f"Showing results for {meant}. Search instead for {typed}"
    )
    assert results_total(page) > 0
    # The top hit highlights the word (its synonyms, such as "systemic lupus", may be marked too).
    marks = page.locator("article.card").first.locator(".snippet mark")
    expect(marks.filter(has_text=re.compile(meant, re.IGNORECASE)).first).to_be_visible()
    page.locator("[data-corrected] a").click()
    page.wait_for_url(re.compile(rf"/articles/\?q={typed}&spelling=off$"))
    expect(page.locator("#results-heading")).to_contain_text("No articles match")


def test_misspelling_offers_did_you_mean(page):
    # The reader's query finds plenty (lupus), so the correction is only offered.
    page.goto("/articles/?q=lupus+OR+sclerodema")
    suggestion = page.locator("a[data-suggestion]")
    expect(suggestion).to_have_text("lupus OR scleroderma")
    expect(page.locator(".suggestion")).to_contain_text("Did you mean lupus OR scleroderma?")
    suggestion.click()
    page.wait_for_url(re.compile(r"/articles/\?q=lupus\+OR\+scleroderma$"))
    assert results_total(page) > 0
    expect(page.locator("#page-search-q")).to_have_value("lupus OR scleroderma")


@pytest.mark.parametrize(
    "query",
    ['"unclosed', "<script>alert(1)</script>", "MS OR -", "title:*lup* ((("],
    ids=["unbalanced-quote", "script-tag", "dangling-operators", "field-wildcard-parens"],
)
def test_hostile_input_gives_a_normal_page_with_the_text_escaped(page, query):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/")
    box = page.locator("#home-search-q")
    box.fill(query)
    box.press("Enter")
    page.wait_for_load_state()

    expect(page.locator("h1")).to_have_text("Search results")
    expect(page.locator("#page-search-q")).to_have_value(query)
    expect(page.locator("#results-heading")).to_contain_text(f"“{query}”")
    assert page.locator("main script").count() == 0
    assert page.title().startswith("Search: ")
    assert not dialogs, f"the page ran the reader's input: {dialogs}"


def test_keyboard_skip_link_search_box_focus_and_suggestion_choice(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the skip link shows when focused"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"

    search = page.locator("#home-search-q")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "home-search-q":
            break
    expect(search).to_be_focused()
    outline = search.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2, outline

    # Arrow keys move through the suggestions; Enter searches for the chosen one.
    type_for_suggestions(page, search, "lup")
    options = page.locator("#home-search-q-suggestions [role=option]")
    expect(options.first).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-activedescendant", "home-search-q-suggestions-0")
    chosen = options.first.inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/articles/\?q="))
    expect(page.locator("#page-search-q")).to_have_value(chosen)
    assert results_total(page) > 0

    # Escape closes the list without losing what was typed.
    results_box = page.locator("#page-search-q")
    results_box.click()
    results_box.fill("")
    type_for_suggestions(page, results_box, "mult")
    expect(page.locator("#page-search-q-suggestions")).to_be_visible()
    results_box.press("Escape")
    expect(page.locator("#page-search-q-suggestions")).to_be_hidden()
    expect(results_box).to_have_attribute("aria-expanded", "false")
    expect(results_box).to_have_value("mult")


def test_browsing_pages_through_many_articles(page):
    from library.models import Article
    from tests.conftest import make_article

    shipped = Article.objects.published().count()
    for n in range(25):
        make_article(f"Pagination check article {n:02d}", slug=f"pagination-check-{n:02d}")

    page.goto("/articles/")
    total = results_total(page)
    assert total == shipped + 25
    pages = -(-total // PAGE_SIZE)
    expect(page.locator("#results-heading")).to_contain_text(f"page 1 of {pages}")
    first_page = listed_slugs(page)
    assert len(first_page) == PAGE_SIZE

    page.locator('.pagination a[rel="next"]').click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator("#results-heading")).to_contain_text(f"page 2 of {pages}")
    second_page = listed_slugs(page)
    assert len(second_page) == min(PAGE_SIZE, total - PAGE_SIZE)
    assert not set(first_page) & set(second_page)
    expect(page.locator("ol.result-list")).to_have_attribute("start", "21")

    page.locator('.pagination a[rel="prev"]').click()
    page.wait_for_url(re.compile(r"/articles/\?$|/articles/\?page=1$|/articles/$"))
    assert listed_slugs(page) == first_page

    # Search results page the same way, keeping the query.
    page.goto("/articles/?q=pagination+check")
    assert results_total(page) == 25
    page.locator('.pagination a[rel="next"]').click()
    page.wait_for_url(re.compile(r"q=pagination\+check.*page=2|page=2.*q=pagination\+check"))
    assert len(listed_slugs(page)) == 5
    expect(page.locator("#page-search-q")).to_have_value("pagination check")


def test_browse_facets_count_what_they_narrow_to(page):
    """Without a query the database answers: every option's count is what a click gives."""
    page.goto("/articles/")
    total = results_total(page)
    for facet in ("disease", "therapy", "year"):
        option = page.locator(f'a.facet-option[data-facet="{facet}"]').first
        value = option.get_attribute("data-value")
        shown = int(option.locator("span.count").inner_text().replace(",", ""))
        option.click()
        page.wait_for_url(re.compile(rf"{facet}={re.escape(value)}"))
        assert results_total(page) == shown, facet
        assert len(listed_slugs(page)) == min(shown, PAGE_SIZE), facet
        page.locator(f'a.facet-option.is-selected[data-facet="{facet}"]').click()
        page.wait_for_url(re.compile(r"/articles/\?$"))
        assert results_total(page) == total


def test_readers_cannot_open_a_draft(page):
    from library.models import Article
    from tests.conftest import make_article

    make_article("An unfinished draft", slug="unfinished-draft", status=Article.Status.DRAFT)
    response = page.goto("/articles/unfinished-draft/")
    assert response.status == 404
    expect(page.locator("h1")).to_be_visible()
    page.goto("/articles/")
    expect(page.locator('article.card[data-slug="unfinished-draft"]')).to_have_count(0)


@pytest.mark.parametrize("query", ["stem cell", "transplant"])
def test_every_search_facet_count_matches_its_results(page, query):
    """Each disease, therapy and year option's count is exactly what choosing it lists."""
    page.goto(f"/articles/?q={query}")
    options = page.locator(
        'a.facet-option[data-facet="disease"], a.facet-option[data-facet="therapy"],'
        ' a.facet-option[data-facet="year"]'
    )
    expected = [
        (o.get_attribute("href"), int(o.locator("span.count").inner_text().replace(",", "")))
        for o in options.all()
    ]
    assert len(expected) >= 5
    mismatches = []
    for href, shown in expected:
        page.goto(f"/articles/{href}")
        got = (results_total(page), len(listed_slugs(page)))
        if got != (shown, min(shown, PAGE_SIZE)):
            mismatches.append(f"{href}: facet said {shown}, page shows {got}")
    assert not mismatches, "\n".join(mismatches)


def test_sorting_keeps_the_query_and_filters(page):
    page.goto("/articles/?q=stem+cell&disease=multiple-sclerosis")
    relevance = listed_slugs(page)
    expect(page.get_by_label("Sort by")).to_have_value("relevance")
    page.get_by_label("Sort by").select_option("title")
    page.get_by_role("button", name="Sort").click()
    page.wait_for_url(re.compile(r"ordering=title"))
    assert "q=stem+cell" in page.url and "disease=multiple-sclerosis" in page.url
    titles = page.locator("article.card .card-title").all_inner_texts()
    assert titles == sorted(titles, key=str.casefold)
    assert sorted(listed_slugs(page)) == sorted(relevance)


def test_searching_and_filtering_work_without_javascript(new_page):
    page = new_page(javascript=False)
    page.goto("/")
    page.get_by_label("Search articles").fill("lupus")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/articles/\?q=lupus$"))
    total = results_total(page)
    assert total > 0
    expect(page.locator("article.card .snippet mark").first).to_be_visible()
    expect(page.locator(".suggestions")).to_have_count(0)

    # The filter panel is folded without the script, and opens with a click.
    page.get_by_text("Filter results", exact=True).click()
    option = page.locator('a.facet-option[data-facet="therapy"]').first
    shown = int(option.locator("span.count").inner_text())
    option.click()
    page.wait_for_url(re.compile(r"therapy="))
    assert results_total(page) == shown


def test_browse_counts_on_home_and_index_pages_match_the_pages_they_open(page):
    page.goto("/")
    links = page.locator(".term-links li")
    expected = [
        (li.locator("a").get_attribute("href"), int(li.locator(".count").inner_text()))
        for li in links.all()
    ]
    assert len(expected) == 15  # eight diseases and seven therapies ship
    page.goto("/diseases/")
    for card in page.locator(".term-card").all():
        href = card.locator("h2 a").get_attribute("href")
        count = int(re.match(r"\d+", card.locator(".meta").inner_text()).group())
        assert (href, count) in expected
    for href, count in expected:
        page.goto(href)
        assert results_total(page) == count, href
