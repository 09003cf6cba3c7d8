"""The load test on PostgreSQL, with or without a read replica (issue 22).

`LOADTEST_REPLICA=1 make loadtest` runs the site on a throw-away PostgreSQL primary and
its streaming hot standby (`tests/pg_cluster.py`, made as the README tells operators)
with `DATABASE_REPLICA_URLS` naming the standby; `LOADTEST_REPLICA=0` runs on the same
pair without it (every read on the primary), the baseline to compare with. Unset, the
load test runs on SQLite as before. Either way it prints how the statements split
between the two servers during the readers' runs: PostgreSQL's own counters
(`pg_stat_database`: transactions, which for these autocommit reads are statements,
and rows returned) read before and after, so nothing in the site is instrumented.

Kept apart from `run.py`, which calls it in three places, so that the load test's own
changes and this one merge without touching each other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import psycopg

from tests import pg_cluster

COUNTERS = (
    "SELECT xact_commit + xact_rollback, tup_returned + tup_fetched "
    "FROM pg_stat_database WHERE datname = %s"
)


class Split:
    """Statements and rows on each server between `start()` and `report()`."""

    def __init__(self, primary: pg_cluster.Server, standby: pg_cluster.Server, on: bool):
        self.servers = {"primary": primary, "standby": standby}
        self.replica_on = on
        self.before: dict[str, tuple[int, int]] = {}

    def _counters(self) -> dict[str, tuple[int, int]]:
        found = {}
        for name, server in self.servers.items():
            with psycopg.connect(server.url(), autocommit=True) as conn:
                conn.execute("SELECT pg_stat_force_next_flush()")
                found[name] = conn.execute(COUNTERS, [pg_cluster.DATABASE]).fetchone()
        return found

    def start(self) -> None:
        self.before = self._counters()

    def report(self) -> str:
        after = self._counters()
        delta = {n: [a - b for a, b in zip(after[n], self.before[n], strict=True)] for n in after}
        total = sum(d[0] for d in delta.values()) or 1
        lines = [
            f"\nStatements by server ({'replica configured' if self.replica_on else 'no replica'}"
            "; pg_stat_database transactions and rows returned, during the readers' runs):"
        ]
        lines += [
            f"  {name:8} {xacts:>9,} statements ({100 * xacts / total:.0f}%), {rows:>12,} rows"
            for name, (xacts, rows) in delta.items()
        ]
        return "\n".join(lines)


@contextlib.contextmanager
def database(env: dict) -> Iterator[Split | None]:
    """Point `env` at a fresh primary (and the standby, with LOADTEST_REPLICA=1)."""
    mode = os.environ.get("LOADTEST_REPLICA", "")
    if mode not in ("0", "1"):
        yield None
        return
    with pg_cluster.servers() as (primary, standby):
        env["DATABASE_URL"] = primary.url()
        env["SEARCH_BACKEND"] = "postgres"
        if mode == "1":
            env["DATABASE_REPLICA_URLS"] = standby.url()
        print(f"PostgreSQL primary {primary.url()}, hot standby on port {standby.port}")
        yield Split(primary, standby, on=mode == "1")
