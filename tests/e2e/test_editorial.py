"""The editor's safety nets in a real browser: compare and revert, the unsaved-changes
warning, and the body preview."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_editor_journeys import log_in, search_as_reader

pytestmark = pytest.mark.e2e

ARTICLE = "Stem Cell Research in Multiple Sclerosis"
SLUG = "stem-cell-research-in-multiple-sclerosis"
NEW_WORD = "Quillfeather"  # in no shipped article


def open_change_form(page) -> None:
    page.goto("/admin/library/article/")
    page.get_by_role("link", name=ARTICLE).click()
    expect(page.get_by_label("Summary:")).to_be_visible()


def test_editor_compares_two_revisions_and_reverts(new_page, editor):
    admin = new_page("editor")
    reader = new_page("reader")
    log_in(admin)
    open_change_form(admin)
    summary = admin.get_by_label("Summary:")
    original = summary.input_value()
    summary.fill(f"{NEW_WORD} replaces the summary.")
    admin.get_by_role("button", name="Save and continue editing").click()
    expect(admin.locator(".messagelist .success")).to_contain_text("was changed successfully")
    assert search_as_reader(reader, NEW_WORD) == [SLUG]

    admin.get_by_role("link", name="History").click()
    rows = admin.locator("#change-history tbody tr")
    expect(rows.first).to_contain_text("Changed summary")
    expect(rows.first).to_contain_text(editor.username)
    admin.get_by_role("button", name="Compare").click()
    summary_change = admin.locator('tr[data-field="summary"]')
    expect(summary_change.locator("ins")).to_contain_text(NEW_WORD)
    expect(summary_change.locator("del")).to_contain_text(original.split()[0])

    admin.get_by_role("link", name="Revert to the older revision…").click()
    admin.get_by_role("button", name="Yes, revert").click()
    expect(admin.locator(".messagelist .success")).to_contain_text("now reads as it did then")
    expect(admin.get_by_label("Summary:")).to_have_value(original)

    reader.goto(f"/articles/{SLUG}/")
    expect(reader.locator(".lead")).to_have_text(original)
    assert search_as_reader(reader, NEW_WORD) == []
    admin.get_by_role("link", name="History").click()
    expect(admin.locator("#change-history tbody tr").first).to_contain_text(
        "Reverted to the revision"
    )


def test_leaving_the_form_with_unsaved_changes_asks_first(new_page, editor):
    admin = new_page("editor")
    log_in(admin)
    open_change_form(admin)
    form_url = admin.url
    dialogs = []

    def answer(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()  # "Stay on page"

    admin.on("dialog", answer)
    summary = admin.get_by_label("Summary:")
    summary.click()
    summary.press("End")
    summary.press_sequentially(" An unsaved edit.")
    admin.locator(".breadcrumbs").get_by_role("link", name="Articles").click()
    admin.wait_for_timeout(500)

    assert dialogs == ["beforeunload"]
    assert admin.url == form_url
    expect(summary).to_have_value(summary.input_value())

    # Saving is not leaving: no prompt.
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist .success")).to_contain_text("was changed successfully")
    assert dialogs == ["beforeunload"]


def test_the_preview_shows_the_body_as_readers_will_see_it(new_page, editor):
    admin = new_page("editor")
    log_in(admin)
    open_change_form(admin)
    admin.get_by_label("Body:").fill(
        "## What changed\n\nA **bold** claim.<script>document.title='owned'</script>"
        "<img src=x onerror=\"document.title='owned'\">"
    )
    admin.get_by_role("button", name="Preview the body as readers will see it").click()

    preview = admin.locator("#body-preview")
    expect(preview.locator("h2")).to_have_text("What changed")
    expect(preview.locator("strong")).to_have_text("bold")
    expect(preview.locator("script")).to_have_count(0)
    assert admin.title() != "owned"
    assert "onerror" not in preview.inner_html()
