"""An editor at work in /admin/, and what readers in another browser see at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import EDITOR_PASSWORD, EDITOR_USERNAME, listed_slugs, results_total

pytestmark = pytest.mark.e2e

# Words no shipped article uses, so a search for them finds only what the test adds.
UNIQUE_TITLE_WORD = "Kestrelwood"
NEW_ALIAS = "Wolfbite"


def log_in(page) -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill(EDITOR_USERNAME)
    page.get_by_label("Password").fill(EDITOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(EDITOR_USERNAME)


def pick_in_autocomplete(page, field: str, typed: str, choice: str) -> None:
    """Django's select2 autocomplete: open the widget, type, choose the suggested option."""
    page.locator(f".field-{field} .select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    search.press_sequentially(typed, delay=30)
    page.locator(".select2-results__option", has_text=choice).first.click()
    expect(
        page.locator(f".field-{field} .select2-selection__choice", has_text=choice)
    ).to_be_visible()


def search_as_reader(page, query: str) -> list[str]:
    page.goto(f"/articles/?q={query}")
    return listed_slugs(page)


def test_editor_writes_a_draft_then_publishes_it_for_readers(new_page, editor):
    admin = new_page("editor")
    reader = new_page("reader")
    log_in(admin)

    admin.get_by_role("link", name="Articles").first.click()
    admin.get_by_role("link", name=re.compile(r"Add article", re.IGNORECASE)).click()
    admin.get_by_label("Title:").press_sequentially(f"{UNIQUE_TITLE_WORD} notes on lupus trials")
    slug = admin.get_by_label("Slug:")
    expect(slug).to_have_value("kestrelwood-notes-on-lupus-trials")
    admin.get_by_label("Summary:").fill("What a reader should ask before joining a lupus trial.")
    admin.get_by_label("Body:").fill(
        "## Before you join\n\n- Ask who runs the trial\n- Ask how it is registered\n"
    )
    pick_in_autocomplete(admin, "diseases", "lup", "Lupus")
    pick_in_autocomplete(admin, "therapies", "mesen", "Mesenchymal stem cell therapy")
    pick_in_autocomplete(admin, "tags", "clinical", "Clinical trials")
    expect(admin.get_by_label("Status:")).to_have_value("draft")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist .success")).to_contain_text("was added successfully")

    # A draft: readers cannot find it or open it, while the editor can preview it.
    assert search_as_reader(reader, UNIQUE_TITLE_WORD) == []
    assert reader.goto("/articles/kestrelwood-notes-on-lupus-trials/").status == 404
    admin.goto("/articles/kestrelwood-notes-on-lupus-trials/")
    expect(admin.locator(".notice")).to_contain_text("Draft preview")
    expect(admin.locator(".prose h2")).to_have_text("Before you join")

    # Publish with the bulk action on the change list.
    admin.goto("/admin/library/article/")
    row = admin.locator("#result_list tr", has_text=UNIQUE_TITLE_WORD)
    expect(row).to_contain_text("Draft")
    row.locator("input.action-select").check()
    admin.locator("select[name=action]").select_option(label="Publish selected articles")
    admin.get_by_role("button", name="Go").click()
    expect(admin.locator(".messagelist .success")).to_contain_text("Published 1 article(s).")
    expect(admin.locator("#result_list tr", has_text=UNIQUE_TITLE_WORD)).to_contain_text(
        "Published"
    )

    # The reader's next search finds it, with its taxonomy, and it opens.
    assert search_as_reader(reader, UNIQUE_TITLE_WORD) == ["kestrelwood-notes-on-lupus-trials"]
    expect(reader.locator("article.card .card-title")).to_contain_text(UNIQUE_TITLE_WORD)
    card = reader.locator("article.card")
    expect(card.locator("a.chip-disease")).to_have_text(re.compile("Lupus"))
    expect(card.locator("a.chip-therapy")).to_have_text("Mesenchymal stem cell therapy")
    card.locator(".card-title a").click()
    reader.wait_for_url("**/articles/kestrelwood-notes-on-lupus-trials/")
    expect(reader.locator(".notice")).to_have_count(0)
    expect(reader.locator(".prose li")).to_have_count(2)
    reader.goto("/diseases/lupus/")
    expect(
        reader.locator('article.card[data-slug="kestrelwood-notes-on-lupus-trials"]')
    ).to_be_visible()


def test_editor_adds_a_disease_alias_and_readers_find_it(new_page, editor):
    from library.models import Article

    admin = new_page("editor")
    reader = new_page("reader")
    lupus_articles = set(
        Article.objects.published().filter(diseases__slug="lupus").values_list("slug", flat=True)
    )
    assert lupus_articles
    assert search_as_reader(reader, NEW_ALIAS) == []

    log_in(admin)
    admin.goto("/admin/library/disease/")
    admin.get_by_role("link", name=re.compile(r"^Lupus")).click()
    aliases = admin.get_by_label("Aliases:")
    aliases.fill(aliases.input_value().rstrip("\n") + f"\n{NEW_ALIAS}")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist .success")).to_contain_text("was changed successfully")

    found = search_as_reader(reader, NEW_ALIAS)
    assert lupus_articles <= set(found), f"missing: {lupus_articles - set(found)}"
    assert results_total(reader) == len(found)
    reader.goto("/diseases/lupus/")
    expect(reader.locator(".aliases")).to_contain_text(NEW_ALIAS)


def test_editors_manage_content_but_not_accounts(new_page, editor):
    admin = new_page()
    log_in(admin)
    content = admin.locator("#content-main")
    for model in ("Articles", "Diseases", "Therapies", "Tags"):
        expect(content.get_by_role("link", name=model, exact=True)).to_be_visible()
    expect(content.get_by_role("link", name="Users")).to_have_count(0)
    expect(content.get_by_role("link", name="Groups")).to_have_count(0)
    assert admin.goto("/admin/auth/user/").status == 403

    # "View on site" from an article's change page opens the reader's page.
    admin.goto("/admin/library/article/")
    admin.get_by_role("link", name="Stem Cell Research in Multiple Sclerosis").click()
    admin.get_by_role("link", name="View on site").click()
    admin.wait_for_url("**/articles/stem-cell-research-in-multiple-sclerosis/")
    expect(admin.locator("h1")).to_have_text("Stem Cell Research in Multiple Sclerosis")


def test_editor_unpublishes_an_article_and_readers_lose_it_at_once(new_page, editor):
    admin = new_page("editor")
    reader = new_page("reader")
    slug = "stem-cell-therapy-research-in-lupus"
    assert slug in search_as_reader(reader, "lupus")

    log_in(admin)
    admin.goto("/admin/library/article/?status__exact=published")
    row = admin.locator("#result_list tr", has_text="Stem Cell Therapy Research in Lupus")
    row.locator("input.action-select").check()
    admin.locator("select[name=action]").select_option(
        label="Unpublish selected articles (back to draft)"
    )
    admin.get_by_role("button", name="Go").click()
    expect(admin.locator(".messagelist .success")).to_contain_text("Unpublished 1 article(s).")

    assert slug not in search_as_reader(reader, "lupus")
    assert reader.goto(f"/articles/{slug}/").status == 404
    reader.goto("/diseases/lupus/")
    expect(reader.locator(f'article.card[data-slug="{slug}"]')).to_have_count(0)
