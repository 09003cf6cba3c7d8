"""An in-memory backend that keeps the contract's bookkeeping and records every call.

Sync tests use it to count batches and to fail on demand; the same tests also run on
the real engine (see `sync_backend` in the test modules).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from search.backends import get_backend, reset_backends
from search.backends.base import (
    DocumentSource,
    Hit,
    SearchBackend,
    SearchDocument,
    SearchPage,
    SearchQuery,
)
from search.backends.files import DirectoryIndex
from search.backends.query import is_stopword


class MemoryBackend(DirectoryIndex, SearchBackend):
    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        self.documents: dict[int, SearchDocument] = {}
        self.created = False

    def index(
        self, documents: Iterable[SearchDocument], *, source: DocumentSource | None = None
    ) -> int:
        documents = list(documents)
        self.created = True
        for document in documents:
            self.documents[document.id] = document
        return len(documents)

    def remove(self, ids: Iterable[int]) -> int:
        self.created = True
        return sum(self.documents.pop(pk, None) is not None for pk in ids)

    def clear(self) -> None:
        self.created = True
        self.documents.clear()

    def rebuild(self, documents: Iterable[SearchDocument]) -> int:
        fresh = {document.id: document for document in documents}
        self.documents = fresh
        self.created = True
        return len(fresh)

    def search(self, query: SearchQuery) -> SearchPage:
        """Filters and every-word substring matching: enough to see what was indexed.

        Stopwords are never required, as the contract says.
        """
        words = [w for w in query.text.casefold().split() if not is_stopword(w)]
        hits = []
        for doc in sorted(self.documents.values(), key=lambda d: d.id):
            text = " ".join(
                [doc.title, doc.summary, doc.body, *doc.taxonomy, *doc.tag_names]
            ).casefold()
            if (
                all(word in text for word in words)
                and set(query.diseases) <= set(doc.diseases)
                and set(query.therapies) <= set(doc.therapies)
                and set(query.tags) <= set(doc.tags)
                and (query.visible_on is None or doc.published_on <= query.visible_on)
            ):
                hits.append(Hit(id=doc.id, slug=doc.slug, score=1.0, highlight=""))
        return SearchPage(hits=hits, total=len(hits), page=1, num_pages=1)

    def indexed(self) -> dict[int, datetime.datetime]:
        return {pk: document.updated_at for pk, document in self.documents.items()}

    def exists(self) -> bool:
        return self.created


class Instrumented:
    """Wraps a backend instance's writes: records each call and fails on demand."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend
        self.calls: list[tuple[str, list[int]]] = []
        self.fail = False
        for name in ("index", "remove", "rebuild"):
            setattr(backend, name, self._wrap(name, getattr(backend, name)))

    def _wrap(self, name, method):
        def wrapper(items, **kwargs):
            items = list(items)
            if self.fail:
                raise RuntimeError(f"index unavailable ({name})")
            ids = sorted(item if isinstance(item, int) else item.id for item in items)
            self.calls.append((name, ids))
            return method(items, **kwargs)

        return wrapper

    def calls_to(self, name: str) -> list[list[int]]:
        return [ids for call, ids in self.calls if call == name]

    def reset(self) -> None:
        self.calls.clear()

    def indexed(self) -> dict[int, datetime.datetime]:
        return self.backend.indexed() if self.backend.exists() else {}

    def found(self, text: str = "", **filters) -> set[int]:
        """Ids the backend finds for this text and these filters (slugs), first page."""
        filters = {key: tuple(value) for key, value in filters.items()}
        page = self.backend.search(SearchQuery(text=text, per_page=100, **filters))
        return {hit.id for hit in page.hits}


BACKENDS = {
    "memory": "tests.search.fake_backend.MemoryBackend",
    "whoosh": "search.backends.whoosh.WhooshBackend",
}


def use_backend(name: str, settings, index_dir) -> Instrumented:
    """Configure backend `name` ("memory", "whoosh" or "postgres") for this test,
    instrumented."""
    if name == "postgres":
        from tests.search.engines import engine_config

        config = engine_config(name, index_dir)
    else:
        config = {"BACKEND": BACKENDS[name], "PATH": index_dir}
    settings.SEARCH_BACKENDS = {"default": config}
    reset_backends()
    return Instrumented(get_backend())
