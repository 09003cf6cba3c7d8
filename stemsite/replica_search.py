"""The PostgreSQL search backend, reading from the request's replica.

The index lives in the database, so a replica holds the index of its own rows: a search
there is always consistent with the articles it shows. The backend queries the one
database named in its settings (`PostgresBackend.using`); this subclass, which settings
choose only when `DATABASE_REPLICA_URLS` is set, makes that name follow the replica
scope of `stemsite.replicas` *while a read method runs* and stay the primary for all
else (index writes, bookkeeping, the backend's identity). Routing stays here, outside
the engine: the engine asks for `self.using` and is none the wiser.

A read that fails on the replica for a connection's reason marks it down and runs again
on the primary, so a replica going away mid-search costs the reader nothing but time.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable

from search.backends.base import SearchUnavailable
from search.backends.postgres import PostgresBackend
from stemsite import replicas

_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("search_reading", default=False)

# The backend interface's read methods (search.backends.base.SearchBackend).
READ_METHODS = ("search", "suggest", "suggest_items", "more_like_this", "exists", "indexed")


def _routed(name: str) -> Callable:
    method = getattr(PostgresBackend, name)

    @functools.wraps(method)
    def read(self, *args, **kwargs):
        token = _reading.set(True)
        try:
            try:
                return method(self, *args, **kwargs)
            except SearchUnavailable as exc:
                if not replicas.fall_back(exc):
                    raise
                return method(self, *args, **kwargs)  # now on the primary
        finally:
            _reading.reset(token)

    return read


class ReplicaPostgresBackend(PostgresBackend):
    """`PostgresBackend` whose read methods read from the request's replica."""

    @property
    def using(self) -> str:
        return replicas.read_alias() if _reading.get() else self._primary

    @using.setter
    def using(self, alias: str) -> None:
        self._primary = alias


for _name in READ_METHODS:
    setattr(ReplicaPostgresBackend, _name, _routed(_name))
