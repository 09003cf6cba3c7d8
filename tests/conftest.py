"""Shared fixtures: small factories for content and a fresh search index per test."""

from __future__ import annotations

import datetime
import itertools

import pytest

from library.models import Article, Disease, Tag, Therapy

_counter = itertools.count(1)


def make_disease(name: str = "", *, slug: str = "", aliases: str = "", **fields) -> Disease:
    n = next(_counter)
    name = name or f"Disease {n}"
    return Disease.objects.create(name=name, slug=slug or f"disease-{n}", aliases=aliases, **fields)


def make_therapy(name: str = "", *, slug: str = "", aliases: str = "", **fields) -> Therapy:
    n = next(_counter)
    name = name or f"Therapy {n}"
    return Therapy.objects.create(name=name, slug=slug or f"therapy-{n}", aliases=aliases, **fields)


def make_tag(name: str = "", *, slug: str = "") -> Tag:
    n = next(_counter)
    return Tag.objects.create(name=name or f"Tag {n}", slug=slug or f"tag-{n}")


def make_article(
    title: str = "",
    *,
    slug: str = "",
    summary: str = "A short summary.",
    body: str = "Some body text.",
    status: str = Article.Status.PUBLISHED,
    published_on: datetime.date | None = None,
    diseases=(),
    therapies=(),
    tags=(),
    **fields,
) -> Article:
    n = next(_counter)
    article = Article.objects.create(
        title=title or f"Article {n}",
        slug=slug or f"article-{n}",
        summary=summary,
        body=body,
        status=status,
        published_on=published_on or datetime.date(2025, 1, 1),
        **fields,
    )
    if diseases:
        article.diseases.set(diseases)
    if therapies:
        article.therapies.set(therapies)
    if tags:
        article.tags.set(tags)
    return article


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Production uses WhiteNoise's manifest storage, which needs `collectstatic` first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def on_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items):
    """On SQLite, tests marked `postgres` are deselected (not skipped): they run in the
    PostgreSQL pass of `make test`, and CI must show no skipped test."""
    if on_postgres():
        return
    kept = [item for item in items if item.get_closest_marker("postgres") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        config._postgres_deselected = len(items) - len(kept)
        items[:] = kept


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    count = getattr(config, "_postgres_deselected", 0)
    if count:
        terminalreporter.write_line(
            f"{count} PostgreSQL tests deselected on SQLite; `make test` runs them "
            "(python -m tests.pg_cluster .venv/bin/pytest)."
        )


@pytest.fixture(autouse=True)
def rate_limit_cache(tmp_path, settings):
    """Every test counts API requests afresh, in its own directory (as production does)."""
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "stemsite.cache.LockedFileBasedCache",
            "LOCATION": tmp_path / "ratelimit-cache",
        },
    }
    return tmp_path / "ratelimit-cache"


@pytest.fixture(autouse=True)
def search_index_dir(tmp_path, settings):
    """Every test gets its own empty search index: a directory for Whoosh, or (with
    SEARCH_BACKEND=postgres) the test database's tables, rolled back with the test."""
    from search.backends import reset_backends
    from tests.search.engines import engine_config

    index_dir = tmp_path / "search_index"
    settings.SEARCH_INDEX_DIR = index_dir
    engine = "postgres" if settings.SEARCH_BACKEND == "postgres" else "whoosh"
    settings.SEARCH_BACKENDS = {"default": engine_config(engine, index_dir)}
    reset_backends()
    yield index_dir
    reset_backends()


@pytest.fixture
def shipped_content(db, django_db_blocker):
    """The shipped taxonomy, articles and reader intents (with their tags), loaded through
    the public fixture format as `load_shipped_content` loads them."""
    from django.core.management import call_command

    call_command("loaddata", "taxonomy", "articles", "intents", verbosity=0)


@pytest.fixture
def indexed_library(shipped_content):
    """The shipped content, searchable: loaded, then indexed in one rebuild."""
    from search.index import rebuild

    rebuild()


@pytest.fixture
def damage_index(search_index_dir):
    """Break the index: garbage in Whoosh's segment and table-of-contents files, or (on
    PostgreSQL) its table renamed away, undone with the test's transaction."""

    def damage() -> None:
        from django.db import connection

        from search.backends import get_backend

        if get_backend().transactional:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE search_entry RENAME TO search_entry_damaged")
            return
        for pattern in ("*.seg", "_MAIN_*.toc"):
            for path in search_index_dir.rglob(pattern):
                path.write_bytes(b"garbage")

    return damage


@pytest.fixture
def whoosh_index(settings, search_index_dir):
    """The Whoosh backend whatever SEARCH_BACKEND says: for tests of a directory index."""
    from search.backends import reset_backends
    from tests.search.engines import engine_config

    settings.SEARCH_BACKENDS = {"default": engine_config("whoosh", search_index_dir)}
    reset_backends()
    return search_index_dir


# The PostgreSQL backend's statements: its tables, its analysis, and the settings of
# a search's transaction (`search.backends.postgres._SETTINGS`).
INDEX_TABLES = (
    "search_entry",
    "search_phrase",
    "search_word",
    "search_index_state",
    "to_tsvector",
    "set_config('enable_seqscan'",
)
SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def site_queries(captured) -> list[str]:
    """The captured SQL minus the PostgreSQL search backend's own queries and the
    savepoints around them (its index is in the same database): what the site's
    pages cost whatever the engine. `tests/search/test_statement_budget.py` counts
    every statement instead."""
    return [
        q["sql"]
        for q in captured
        if not any(t in q["sql"] for t in INDEX_TABLES) and not q["sql"].startswith(SAVEPOINTS)
    ]


@pytest.fixture
def editor_client(client):
    """A test client logged in as a staff member of the "Editors" group."""
    from django.contrib.auth.models import Group, User

    editor = User.objects.create_user("editor", password="a-long-password-1", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    return client


@pytest.fixture(autouse=True)
def no_index_left_behind(request, django_db_blocker):
    """On PostgreSQL, a test that commits leaves no search index rows for the next one
    (`tests.search.engines.empty_postgres_index`)."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if on_postgres() and marker is not None and marker.kwargs.get("transaction"):
        from tests.search.engines import empty_postgres_index

        with django_db_blocker.unblock():
            empty_postgres_index()


@pytest.fixture(autouse=True)
def empty_page_cache():
    """Reader pages are cached as in production, but each test starts with none: test
    databases roll back, so a generation number comes back with other content."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def page_cache_off(settings):
    """For tests that count what building a page costs: every request builds it. The
    generation read (one query per cached kind of page) stays, and is counted."""
    settings.PAGE_CACHE = False


@pytest.fixture
def committed():
    """Call it to finish what the test's transaction queued for its commit so far (index
    syncs, the page cache's generation move), as a commit of the set-up would: a change
    made afterwards inside `django_capture_on_commit_callbacks(execute=True)` then gets
    callbacks of its own instead of joining the set-up's, which never run."""
    from django.db import connection

    def run() -> None:
        while connection.run_on_commit:  # callbacks may queue more, as after a commit
            pending, connection.run_on_commit = connection.run_on_commit, []
            for _savepoints, callback, _robust in pending:
                callback()

    return run
