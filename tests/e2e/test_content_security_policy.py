"""Every kind of page works under the enforced Content-Security-Policy, the admin included.

Each page records `securitypolicyviolation` events from its first script on; the
shared `new_page` fixture also fails the test on any console error, which is where
Chromium reports a refused inline script or style. A control page proves the listener
sees a violation when there is one.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from library.models import Article, Disease, Tag, Therapy
from tests.e2e.conftest import EDITOR_PASSWORD, EDITOR_USERNAME

pytestmark = pytest.mark.e2e

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} in ${event.documentURI}`
    + (event.sample ? ` (${event.sample})` : ''));
});
"""


def violations(page) -> list[str]:
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__cspViolations")


def visit(page, path: str, *, status: int = 200) -> None:
    response = page.goto(path)
    assert response.status == status, path
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, f"{path} is not served under the policy"
    assert "unsafe-inline" not in policy.split("style-src")[0]


def test_the_violation_listener_sees_a_refused_inline_handler(browser, site):
    context = browser.new_context(base_url=site)
    try:
        page = context.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto("/")
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<img src=\"/x.png\" onerror=\"1\">')"
        )
        # Polled from here: `wait_for_function` re-evaluates its string with eval()
        # in the page, which this very policy refuses once the first check is false.
        for _attempt in range(100):
            if page.evaluate("window.__cspViolations.length") > 0:
                break
            page.wait_for_timeout(50)

        assert any(v.startswith("script-src") for v in violations(page))
    finally:
        context.close()


def test_reader_pages_report_no_violation(new_page):
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    article = Article.objects.published().order_by("slug").first()
    disease = Disease.objects.filter(articles__status="published").first()
    therapy = Therapy.objects.filter(articles__status="published").first()
    tag = Tag.objects.filter(articles__status="published").first()
    pages = [
        "/",
        "/articles/",
        "/articles/?q=lupus",
        "/articles/?q=lupis",  # with a "Did you mean"
        article.get_absolute_url(),
        "/diseases/",
        disease.get_absolute_url(),
        "/therapies/",
        therapy.get_absolute_url(),
        tag.get_absolute_url(),
    ]
    seen: dict[str, list[str]] = {}
    for path in pages:
        visit(page, path)
        seen[path] = violations(page)
    visit(page, "/no-such-page/", status=404)
    seen["404"] = violations(page)

    # The autocomplete script at work: suggestions drawn into the page.
    visit(page, "/")
    page.get_by_role("combobox").first.press_sequentially("mult", delay=50)
    expect(page.get_by_role("option").first).to_be_visible()
    seen["autocomplete"] = violations(page)

    assert {path: v for path, v in seen.items() if v} == {}


def test_admin_pages_report_no_violation(new_page, editor):
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    # The widgets below can leave the change form "unsaved": leaving it then asks
    # (beforeunload), and an unanswered prompt would keep the page from navigating.
    page.on("dialog", lambda dialog: dialog.accept())
    seen: dict[str, list[str]] = {}

    visit(page, "/admin/login/")
    seen["login"] = violations(page)
    page.get_by_label("Username").fill(EDITOR_USERNAME)
    page.get_by_label("Password").fill(EDITOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(EDITOR_USERNAME)
    seen["index"] = violations(page)

    article = Article.objects.order_by("slug").first()
    for label, path in [
        ("changelist", "/admin/library/article/"),
        ("filtered changelist", "/admin/library/article/?status__exact=published&q=lupus"),
        ("disease changelist", "/admin/library/disease/"),
        ("add form", "/admin/library/article/add/"),
        ("change form", f"/admin/library/article/{article.pk}/change/"),
    ]:
        visit(page, path)
        seen[label] = violations(page)

    # The change form's scripts at work: autocomplete, the calendar, a collapsed fieldset.
    page.locator(".field-tags .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").press_sequentially("cli")
    expect(page.locator(".select2-results__option").first).to_be_visible()
    page.keyboard.press("Escape")
    page.locator(".field-published_on .datetimeshortcuts a").last.click()
    expect(page.locator(".calendarbox").first).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("fieldset.collapse summary, fieldset.collapse h2 a").first.click()
    seen["widgets"] = violations(page)

    # The bulk action's confirmation page.
    visit(page, "/admin/library/article/")
    page.locator("input.action-select").first.check()
    page.locator("select[name=action]").select_option("delete_selected")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", name="Delete multiple objects")).to_be_visible()
    seen["delete confirmation"] = violations(page)

    assert {label: v for label, v in seen.items() if v} == {}


def test_the_locked_out_login_page_reports_no_violation(new_page, editor, settings):
    settings.AXES_FAILURE_LIMIT = 2
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    visit(page, "/admin/login/")

    for _ in range(2):
        page.get_by_label("Username").fill(EDITOR_USERNAME)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("Too many failed login attempts")
    assert violations(page) == []
