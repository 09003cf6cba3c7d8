"""Issue 20 in a real browser: the review line and Key points on a phone, the policy
page, "Further reading" rows in the admin, and a preview that looks like the article."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import horizontal_overflow
from tests.e2e.test_editor_journeys import log_in

pytestmark = pytest.mark.e2e

MS = "stem-cell-research-in-multiple-sclerosis"
LUPUS = "stem-cell-therapy-research-in-lupus"
KEY_POINTS = [
    "HSCT is being studied for some people with very active MS.",
    "It carries serious risks, including a small risk of death.",
    "Ask an MS specialist whether a trial could suit you.",
]


def test_the_review_line_and_key_points_on_a_phone(new_page, site):
    from library.models import Article

    article = Article.objects.get(slug=MS)
    article.key_points = "\n".join(KEY_POINTS)
    article.last_reviewed_on = datetime.date.today()
    article.reviewed_by = "Dr I. Example, consultant neurologist"
    article.update_note = "Corrected: the completed trial compared HSCT with standard drugs."
    article.save()
    phone = new_page(phone=True)

    phone.goto(f"/articles/{MS}/")

    review = phone.locator(".review-status")
    expect(review).to_have_count(1)
    expect(review).to_contain_text("Medically reviewed by Dr I. Example, consultant neurologist on")
    expect(review).to_contain_text("Next review due")
    today = datetime.date.today()
    expect(phone.locator(".update-note")).to_have_text(
        f"Updated {today.day} {today:%B %Y}: "
        "Corrected: the completed trial compared HSCT with standard drugs."
    )
    box = phone.get_by_role("region", name="Key points")
    expect(box).to_be_visible()
    expect(box.get_by_role("listitem")).to_have_text(KEY_POINTS)
    for locator in (review, box):
        bounds = locator.bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390
    assert box.bounding_box()["y"] < phone.locator(".prose").bounding_box()["y"]
    assert horizontal_overflow(phone) is None, horizontal_overflow(phone)

    phone.goto(f"/articles/{LUPUS}/")
    line = phone.locator(".review-status")
    expect(line).to_have_text(
        "This article has not yet been medically reviewed. How our articles are checked"
    )
    line.get_by_role("link", name="How our articles are checked").click()
    expect(phone).to_have_url(f"{site}/about/editorial-policy/#reviewed")
    expect(
        phone.get_by_role("heading", name="What “medically reviewed” means here")
    ).to_be_visible()
    assert horizontal_overflow(phone) is None, horizontal_overflow(phone)


def test_further_reading_is_edited_as_rows_in_the_admin(new_page, editor):
    admin = new_page("editor")
    reader = new_page("reader")
    log_in(admin)
    admin.goto("/admin/library/article/")
    admin.get_by_role("link", name="Stem Cell Research in Multiple Sclerosis").click()
    table = admin.locator("[data-further-reading]")
    expect(table.locator('tr[data-row="1"]')).to_be_visible()  # the form has loaded
    filled = table.locator("tbody tr").filter(has=admin.locator("input[value]:not([value=''])"))
    shipped = filled.count()
    assert shipped >= 1
    row = table.locator(f'tr[data-row="{shipped + 1}"]')
    row.get_by_label(f"Link {shipped + 1}: title readers see").fill("EMA: Alofisel")
    row.get_by_label(f"Link {shipped + 1}: address").fill("ema.europa.eu/alofisel")
    admin.get_by_role("button", name="Save and continue editing").click()

    expect(admin.locator(".errorlist")).to_contain_text(
        f"Link {shipped + 1} (“EMA: Alofisel”): “ema.europa.eu/alofisel” is not a web address"
    )
    row = admin.locator(f'[data-further-reading] tr[data-row="{shipped + 1}"]')
    expect(row.get_by_label(f"Link {shipped + 1}: title readers see")).to_have_value(
        "EMA: Alofisel"
    )
    row.get_by_label(f"Link {shipped + 1}: address").fill(
        "https://www.ema.europa.eu/en/medicines/human/EPAR/alofisel"
    )
    admin.get_by_role("button", name="Save and continue editing").click()
    expect(admin.locator(".messagelist .success")).to_contain_text("was changed successfully")
    expect(admin.locator("[data-further-reading] tbody tr")).to_have_count(shipped + 1 + 3)

    reader.goto(f"/articles/{MS}/")
    link = reader.locator(".further-reading").get_by_role("link", name="EMA: Alofisel")
    expect(link).to_have_attribute(
        "href", "https://www.ema.europa.eu/en/medicines/human/EPAR/alofisel"
    )


STYLES = """el => {
    const s = getComputedStyle(el);
    return [s.fontSize, s.fontWeight, s.color, s.backgroundColor, s.listStyleType,
            s.display, s.marginLeft, s.paddingLeft].join(' | ');
}"""


def test_the_preview_looks_like_the_article_page(new_page, editor):
    from library.models import Article

    body = "Before the list.\n\n## Who can take part\n\n- adults with active disease\n- others"
    Article.objects.filter(slug=MS).update(body=body)
    admin = new_page("editor")
    reader = new_page("reader")
    log_in(admin)
    admin.goto("/admin/library/article/")
    admin.get_by_role("link", name="Stem Cell Research in Multiple Sclerosis").click()
    admin.get_by_role("button", name="Preview the body as readers will see it").click()
    preview = admin.locator("#body-preview")
    expect(preview.locator("h2")).to_have_text("Who can take part")

    reader.goto(f"/articles/{MS}/")
    article = reader.locator(".prose")
    for selector in ("h2", "li", "ul", "p"):
        seen = preview.locator(selector).first.evaluate(STYLES)
        read = article.locator(selector).first.evaluate(STYLES)
        assert seen == read, selector
    assert preview.locator("li").first.evaluate("el => getComputedStyle(el).listStyleType") == (
        "disc"
    )
