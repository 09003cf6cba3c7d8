"""An in-memory backend that keeps the contract's bookkeeping and records every call.

Sync tests use it to count batches and to fail on demand; the same tests also run on
the real engine (see `sync_backend` in the test modules).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from search.backends.base import SearchBackend, SearchDocument


class MemoryBackend(SearchBackend):
    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        self.documents: dict[int, SearchDocument] = {}
        self.created = False

    def index(self, documents: Iterable[SearchDocument]) -> int:
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

    def indexed(self) -> dict[int, datetime.datetime]:
        return {pk: document.updated_at for pk, document in self.documents.items()}

    def exists(self) -> bool:
        return self.created
