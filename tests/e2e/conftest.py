"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

One browser per session and a fresh context per test keep the suite fast and the tests
independent. Every test starts from the shipped fixtures and a search index built from
them in the test's own temporary directory (see `search_index_dir` in tests/conftest.py;
the live server runs in a thread of this process, so it uses the same index).

Two surprises worth knowing:
- Playwright's sync API keeps an asyncio loop marked as running in the main thread for
  as long as it is started, and Django then refuses ORM calls there
  (SynchronousOnlyOperation). The browser fixture allows them while the browser is up,
  and the browser tests run last so no other test runs beside that loop.
- No Chromium: outside CI the browser tests skip with one line saying how to install it;
  with CI=true a missing browser, or any skipped browser test, is a failure.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers have a tiny /dev/shm
    "--disable-background-networking",  # the machines have no network
    "--disable-component-update",
    "--disable-sync",
]
MISSING_CHROMIUM = (
    "Chromium not found: install Debian's chromium (apt-get install chromium) "
    "to run the browser tests"
)
SCREENSHOTS = Path(__file__).parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # generous: the machines are often busy
expect.set_options(timeout=TIMEOUT_MS)

EDITOR_USERNAME = "editor"
EDITOR_PASSWORD = "correct-horse-battery-staple"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find_chromium() -> str | None:
    """Debian's Chromium, or the browser named by the CHROMIUM environment variable."""
    candidates = [os.environ["CHROMIUM"]] if os.environ.get("CHROMIUM") else []
    candidates = candidates or [CHROMIUM, shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _is_e2e(item: pytest.Item) -> bool:
    return item.get_closest_marker("e2e") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last: they are the slowest, and see the module docstring."""
    browser_tests = [item for item in items if _is_e2e(item)]
    if browser_tests:
        items[:] = [item for item in items if not _is_e2e(item)] + browser_tests


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """In CI a skipped browser test is a failure, so the suite can never silently stop.

    Outside CI, every test skipped for want of Chromium reports the same place, so the
    summary folds them into one line ("SKIPPED [45] tests/e2e/conftest.py: Chromium…").
    """
    report = yield
    if not (report.skipped and _is_e2e(item)) or hasattr(report, "wasxfail"):
        return report
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if in_ci():
        report.outcome = "failed"
        report.longrepr = f"CI=true, so a skipped browser test fails: {reason}"
    elif MISSING_CHROMIUM in reason:
        report.longrepr = (str(Path(__file__)), None, reason)
    return report


# --- The browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator:
    executable = find_chromium()
    if executable is None:
        if in_ci():
            pytest.fail(f"{MISSING_CHROMIUM} (CI=true, so this is a failure)", pytrace=False)
        pytest.skip(MISSING_CHROMIUM)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# --- The site ----------------------------------------------------------------------------


@pytest.fixture
def site(browser, live_server, transactional_db, search_index_dir) -> str:
    """The live server's base URL, serving the shipped content with a fresh index.

    `loaddata` indexes on commit already; `rebuild_index` afterwards makes the index's
    state not depend on that. The browser is requested first so that a missing Chromium
    skips the test before the content is loaded.
    """
    from django.core.management import call_command

    call_command("loaddata", "taxonomy", "articles", verbosity=0)
    call_command("rebuild_index", "--quiet")
    return live_server.url


@pytest.fixture
def editor(site):
    """A staff account in the "Editors" group, as the README tells editors to set up.

    The group comes from a data migration, but a transactional test database is flushed
    after every test, so the group is recreated here from the migration's own model list.
    """
    from django.contrib.auth.models import Group, Permission, User

    migration = importlib.import_module("library.migrations.0002_editors_group")
    group, _ = Group.objects.get_or_create(name="Editors")
    codenames = [
        f"{action}_{model}"
        for model in migration.EDITABLE_MODELS
        for action in ("add", "change", "delete", "view")
    ]
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="library", codename__in=codenames)
    )
    user = User.objects.create_user(EDITOR_USERNAME, password=EDITOR_PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


# --- Pages -------------------------------------------------------------------------------


def _screenshot_name(request: pytest.FixtureRequest, label: str = "") -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return SCREENSHOTS / f"{name}{'-' + label if label else ''}.png"


class BrowserErrors(list):
    """JavaScript errors, failed sub-resources and server errors seen by one page.

    A 404 page is a normal answer for a document (a reader opening a draft), so documents
    only count from 500 up; a missing stylesheet, script or API answer always counts.
    """

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message) -> None:
        # Failed loads are judged by `_response`, which knows what was requested.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.append(f"console: {message.text}")

    def _response(self, response) -> None:
        limit = 500 if response.request.resource_type == "document" else 400
        if response.status >= limit:
            self.append(f"HTTP {response.status}: {response.request.method} {response.url}")


@pytest.fixture
def new_page(browser, site, request) -> Iterator[Callable]:
    """Open a page in a fresh browser context (its own cookies); screenshots at teardown.

    `new_page("reader")` gives a second, independent visitor; `phone=True` a 390 by 844
    touch screen (`width=320, height=568` a smaller one); `javascript=False` a browser
    with scripts off. Each page's full-page screenshot is named after the test, plus the
    label when there is more than one page. Browser errors seen by any page fail the test at teardown.
    """
    opened: list[tuple[str, object, object, BrowserErrors]] = []

    def open_page(
        label: str = "",
        *,
        phone: bool = False,
        javascript: bool = True,
        width: int | None = None,
        height: int | None = None,
    ):
        options = {"base_url": site, "viewport": DESKTOP, "java_script_enabled": javascript}
        if phone:
            viewport = {
                **PHONE,
                "width": width or PHONE["width"],
                "height": height or PHONE["height"],
            }
            options.update(viewport=viewport, is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors = BrowserErrors()
        errors.watch(page)
        opened.append((label, context, page, errors))
        return page

    yield open_page

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for label, context, page, errors in opened:
        try:
            page.screenshot(path=_screenshot_name(request, label), full_page=True, scale="css")
        except Exception as exc:  # a crashed page must not keep the others open
            problems.append(f"screenshot {label or 'page'} failed: {exc}")
        context.close()
        problems += errors
    assert not problems, "The browser reported errors:\n" + "\n".join(problems)


@pytest.fixture
def page(new_page):
    """A desktop-sized page for one reader."""
    return new_page()


@pytest.fixture
def phone_page(new_page):
    """A phone-sized page (390 px wide) for one reader."""
    return new_page(phone=True)


# --- What the reader sees ----------------------------------------------------------------


def type_for_suggestions(page, box, text: str) -> None:
    """Type like a person and wait for the suggestions answering the whole text.

    The script asks again after each pause in typing; on a slow machine an answer for a
    prefix could otherwise be on screen when the test picks an option.
    """
    from urllib.parse import quote

    with page.expect_response(lambda r: f"/api/suggest/?q={quote(text)}" in r.url):
        box.press_sequentially(text, delay=50)


def results_total(page) -> int:
    """The total in the results summary heading ("15 articles for “MS” · page 1 of 1")."""
    heading = page.locator("#results-heading").inner_text().strip()
    match = re.match(r"([\d,]+) articles?\b", heading)
    if match:
        return int(match.group(1).replace(",", ""))
    assert heading.startswith("No articles"), f"unexpected results heading: {heading!r}"
    return 0


def listed_slugs(page) -> list[str]:
    return page.locator("article.card").evaluate_all("cards => cards.map(c => c.dataset.slug)")


def horizontal_overflow(page) -> dict | None:
    """None when nothing sticks out sideways, else the widths and the widest culprits."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            const scroll = document.documentElement.scrollWidth;
            if (scroll <= width) return null;
            const culprits = [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > width + 0.5)
                .slice(0, 5)
                .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                     + ' right=' + Math.round(el.getBoundingClientRect().right));
            return {innerWidth: width, scrollWidth: scroll, culprits};
        }"""
    )
