"""Configuring a real engine for one test (Whoosh in the test's own directory, or the
PostgreSQL backend on the test database, its tables rolled back with the test), and the
documents and synonyms the engine suites build their indexes from, with no database."""

from __future__ import annotations

import datetime

import pytest

from search.backends import get_backend, reset_backends
from search.backends.base import SearchBackend, SearchDocument, SearchQuery

ENGINES = {
    "whoosh": "search.backends.whoosh.WhooshBackend",
    "postgres": "search.backends.postgres.PostgresBackend",
}


# The PostgreSQL backend's tables: created by migrations, so not flushed by Django.
POSTGRES_INDEX_TABLES = (
    "search_entry",
    "search_section",
    "search_phrase",
    "search_word",
    "search_index_state",
    "search_journal",
)


def empty_postgres_index() -> None:
    """Empty the PostgreSQL backend's tables (those that exist at this migration).

    A test that commits (`django_db(transaction=True)`) leaves its index rows behind:
    Django's flush empties only managed tables, and a later test paging through
    `/articles/` would count documents of articles that no longer exist.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NOT NULL",
            [list(POSTGRES_INDEX_TABLES)],
        )
        present = [row[0] for row in cursor.fetchall()]
        if present:
            cursor.execute("TRUNCATE " + ", ".join(present))


def engine_config(name: str, index_dir) -> dict:
    if name == "postgres":
        return {"BACKEND": ENGINES[name], "DATABASE": "default"}
    return {"BACKEND": ENGINES[name], "PATH": index_dir}


def engine_backend(request, settings, index_dir) -> SearchBackend:
    """The configured `default` backend for engine `request.param`."""
    if request.param == "postgres":
        request.getfixturevalue("db")
    settings.SEARCH_BACKENDS = {"default": engine_config(request.param, index_dir)}
    reset_backends()
    return get_backend()


#: Marks for a test parameter that runs on PostgreSQL: deselected on SQLite, and the
#: database set up first (the PostgreSQL backend's tables are in it).
POSTGRES = [pytest.mark.postgres, pytest.mark.django_db]


# Documents built directly, no database: the contract and engine-specific suites share them.
UPDATED = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)

SYNONYMS = (
    ("Multiple sclerosis", "MS", "disseminated sclerosis"),
    (
        "Hematopoietic stem cell transplantation",
        "HSCT",
        "haematopoietic stem cell transplantation",
        "bone marrow transplant",
    ),
    ("Systemic sclerosis", "scleroderma", "SSc"),
)


def doc(
    id: int,
    title: str = "",
    *,
    summary: str = "A short summary.",
    body: str = "Some body text.",
    taxonomy: tuple[str, ...] = (),
    tag_names: tuple[str, ...] = (),
    diseases: tuple[str, ...] = (),
    therapies: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    published_on: datetime.date = datetime.date(2024, 1, 1),
    updated_at: datetime.datetime = UPDATED,
) -> SearchDocument:
    return SearchDocument(
        id=id,
        slug=f"article-{id}",
        title=title or f"Article {id}",
        summary=summary,
        body=body,
        taxonomy=taxonomy,
        tag_names=tag_names,
        diseases=diseases,
        therapies=therapies,
        tags=tags,
        published_on=published_on,
        updated_at=updated_at,
    )


def ids(backend, text="", **kwargs) -> list[int]:
    """Matching rules are tested with every meaningful word required (`relax=False`);
    relaxing for questions is tested in test_relevance.py."""
    kwargs.setdefault("relax", False)
    return [hit.id for hit in backend.search(SearchQuery(text=text, **kwargs)).hits]


def found(backend, text, **kwargs) -> set[int]:
    return set(ids(backend, text, per_page=100, **kwargs))
