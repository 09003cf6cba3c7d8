"""axe-core on the reader's pages: no serious or critical violations.

axe runs from the copy of axe.min.js inside the axe-playwright-python wheel, never a CDN.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.conftest import type_for_suggestions

pytestmark = pytest.mark.e2e

BLOCKING = {"serious", "critical"}
PAGES = {
    "home": "/",
    "article-list": "/articles/",
    "search-results": "/articles/?q=MS",
    "filtered-search": "/articles/?q=stem+cell&therapy=hsct",
    "did-you-mean": "/articles/?q=lupis",
    "no-results": "/articles/?q=zzzqqq",
    "bad-filter": "/articles/?disease=no-such-disease&page=abc",
    "article": "/articles/stem-cell-therapy-for-autoimmune-diseases/",
    "disease-list": "/diseases/",
    "disease": "/diseases/multiple-sclerosis/",
    "therapy": "/therapies/hsct/",
    "tag": "/tags/clinical-trials/",
    "editorial-policy": "/about/editorial-policy/",
    "not-found": "/articles/no-such-article/",
}

_axe = Axe()


def blocking_violations(page) -> str:
    """Serious and critical violations, one line per rule and node, or ""."""
    response = _axe.run(page).response
    lines = []
    for violation in response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
    return "\n".join(lines)


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_no_serious_accessibility_violations(page, path):
    page.goto(path)
    report = blocking_violations(page)
    assert not report, f"axe on {path}:\n{report}"
    # axe rates these "moderate", but a screen reader user relies on them on every page.
    expect(page.locator("main")).to_have_count(1)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.parametrize("path", ["/", "/articles/?q=MS"], ids=["home", "search-results"])
def test_no_serious_violations_with_suggestions_open(page, path):
    page.goto(path)
    box = page.get_by_role("combobox", name="Search articles")
    box.click()
    box.fill("")
    type_for_suggestions(page, box, "scl")
    expect(page.get_by_role("listbox", name="Suggestions")).to_be_visible()
    page.keyboard.press("ArrowDown")
    report = blocking_violations(page)
    assert not report, f"axe on {path} with suggestions open:\n{report}"


@pytest.mark.parametrize(
    "path", ["/", "/articles/?q=MS", "/diseases/lupus/"], ids=["home", "search", "disease"]
)
def test_no_serious_violations_on_a_phone_with_filters_open(phone_page, path):
    phone_page.goto(path)
    summary = phone_page.locator("details.filters > summary")
    if summary.count():
        summary.tap()
    report = blocking_violations(phone_page)
    assert not report, f"axe on {path} at 390 px:\n{report}"


FOCUS_CONTRAST_JS = """el => {
    const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
        const f = v => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const style = getComputedStyle(el);
    // The outline sits outside the element (outline-offset), over its parent's background.
    let bg = null;
    for (let node = el.parentElement; node; node = node.parentElement) {
        const c = rgb(getComputedStyle(node).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) { bg = c.slice(0, 3); break; }
    }
    bg = bg || [255, 255, 255];
    const [a, b] = [lum(rgb(style.outlineColor)), lum(bg)];
    return {
        element: el.outerHTML.slice(0, 80),
        style: style.outlineStyle,
        width: parseFloat(style.outlineWidth),
        contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
    };
}"""


@pytest.mark.parametrize(
    "path",
    ["/", "/articles/?q=MS", "/articles/stem-cell-therapy-for-autoimmune-diseases/"],
    ids=["home", "search-results", "article"],
)
def test_keyboard_focus_is_clearly_visible_on_everything(page, path):
    """WCAG 2.4.7 and 1.4.11: every focus ring shows, at 3:1 against what is around it."""
    page.goto(path)
    problems, seen = [], set()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate_handle("document.activeElement")
        ring = focused.evaluate(FOCUS_CONTRAST_JS)
        if ring["element"] in seen or ring["element"].startswith("<body"):
            continue
        seen.add(ring["element"])
        if ring["style"] == "none" or ring["width"] < 2 or ring["contrast"] < 3:
            problems.append(f"{ring['element']}: {ring}")
    assert len(seen) > 10
    assert not problems, "focus rings hard to see:\n" + "\n".join(problems)
