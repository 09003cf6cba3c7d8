"""The answer stage in a browser (issue 19): the "Answer in" link under a result takes the
reader to that section of the article, and an editor's pick comes first, labelled."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from library.models import Article
from search.models import EditorsPick
from tests.e2e.conftest import listed_slugs

pytestmark = pytest.mark.e2e


def test_the_answer_link_scrolls_to_its_section(page):
    page.goto("/articles/?q=what+are+the+side+effects+of+a+stem+cell+transplant")
    expect(page.get_by_text(re.compile("^Showing articles about"))).to_be_visible()
    link = page.locator("[data-answer-section] a").first
    heading = link.inner_text()

    link.click()

    expect(page).to_have_url(re.compile(r"/articles/[^/]+/#section-"))
    anchor = page.url.split("#", 1)[1]
    target = page.locator(f"#{anchor}")
    expect(target).to_have_text(heading)
    expect(target).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0


def test_an_editors_pick_appears_first_labelled(page):
    guide = Article.objects.get(slug="questions-to-ask-a-specialist-about-stem-cell-treatment")
    EditorsPick.objects.create(query="stem cells for lupus", article=guide)

    page.goto("/articles/?q=SLE+stem+cell")

    assert listed_slugs(page)[0] == guide.slug
    first = page.locator(".result-list article.card").first
    expect(first.get_by_text("Editor's pick")).to_be_visible()
    expect(page.get_by_text("Editor's pick")).to_have_count(1)
