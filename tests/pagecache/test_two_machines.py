"""Two web machines, each with its own page cache, one PostgreSQL database: after an
editor's save through one, the very next reader request to either shows the change.

The machines are two gunicorn processes (as in tests/search/test_two_machines.py), each
caching pages in its own memory; they share only the database and its generation row.
"""

from __future__ import annotations

import urllib.request

import pytest
from django.contrib.auth.models import User

from library.models import Article
from tests.conftest import make_disease
from tests.search.engines import empty_postgres_index
from tests.search.test_two_machines import Editor, article_form, machine, search

# Committed for real: the two servers read what this test writes.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VERSIONS = ["Quartz care in lupus", "Walnut care in lupus", "Zephyr care in lupus"]


def empty_search_tables() -> None:
    empty_postgres_index()


@pytest.fixture
def empty_index():
    """The index holds only this test's articles. The test database's flush empties only
    managed tables, so an earlier transactional test (a migration or upgrade test) can
    leave documents of articles that no longer exist, which a list page skips after
    counting them: the test's article would then sit on page 2 of `/articles/`."""
    empty_search_tables()
    yield
    empty_search_tables()


def page(base: str, path: str) -> str:
    return urllib.request.urlopen(base + path, timeout=10).read().decode()


def test_two_machines_never_disagree_after_a_save(tmp_path, empty_index):
    User.objects.create_superuser("editor", "editor@example.org", "a-long-test-password")
    lupus = make_disease("Lupus", slug="lupus")
    with machine(tmp_path, "a") as a, machine(tmp_path, "b") as b:
        editor = Editor(a, "editor", "a-long-test-password")
        editor.post(
            "/admin/library/article/add/",
            article_form(title="Kidney care in lupus", slug="kidney", diseases=[lupus.pk]),
        )
        article = Article.objects.get(slug="kidney")
        for title in VERSIONS:
            word = title.split()[0]
            for base in (a, b):  # both caches hold the previous version now
                page(base, "/articles/kidney/")
                assert search(base, word) == []
                page(base, "/articles/")

            editor.post(
                f"/admin/library/article/{article.pk}/change/",
                article_form(title=title, slug="kidney", diseases=[lupus.pk]),
            )

            seen = {
                base: (
                    title in page(base, "/articles/kidney/"),
                    title in page(base, "/articles/"),
                    search(base, word),
                )
                for base in (a, b)
            }
            assert seen == {a: (True, True, ["kidney"]), b: (True, True, ["kidney"])}

        # A text edit leaves the listing counter alone: the pages showing the article
        # are retired by its row, on both machines.
        for base in (a, b):
            (
                page(base, "/articles/kidney/"),
                page(base, "/articles/"),
                page(base, "/diseases/lupus/"),
            )
        editor.post(
            f"/admin/library/article/{article.pk}/change/",
            article_form(
                title=VERSIONS[-1], slug="kidney", diseases=[lupus.pk], summary="Amber summary."
            ),
        )
        seen = {
            (base, path): "Amber summary." in page(base, path)
            for base in (a, b)
            for path in ("/articles/kidney/", "/articles/", "/diseases/lupus/")
        }
        assert seen == dict.fromkeys(seen, True)
        assert {base: search(base, "amber") for base in (a, b)} == {a: ["kidney"], b: ["kidney"]}
