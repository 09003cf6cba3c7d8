"""Read replicas: reader reads go to PostgreSQL streaming replicas, everything else to
the primary, and a replica that fails or lags is a log line, not an outage.

Configured by `DATABASE_REPLICA_URLS` (settings make each URL a database alias,
`replica1`, `replica2`, …) and `DATABASE_REPLICA_MAX_LAG`. Without replicas nothing
here changes where a query goes.

- **Where reads go.** The primary, unless the request is a reader's: `ReplicaMiddleware`
  opens a *replica scope* for a GET or HEAD request that is not the admin's, not a view
  marked `reads_primary`, not from a signed-in user, and not from a browser that wrote
  something in the last few seconds (a signed cookie set on every unsafe request, as
  pinning routers do). Inside the scope `ReplicaRouter` sends reads to the scope's
  replica, except for the models in `PRIMARY_ONLY` (sessions, users, login throttling,
  admin log, search-term recording, index bookkeeping), which must see the latest write.
  Writes, migrations and management commands (no request, so no scope) use the primary.
- **Which replica.** Round robin over the replicas that answered their last check. A
  replica is checked (one `SELECT`, on the connection the request then reads from) at
  most every `CHECK_SECONDS`, or `RETRY_SECONDS` after it failed: it must answer, be a
  standby, and lag no more than `DATABASE_REPLICA_MAX_LAG` seconds. None fit: the primary.
- **Failing during a request.** A query on the replica that fails for a connection's
  reason marks the replica down and the request is served again from the primary
  (`ReplicaMiddleware.process_exception`; the search backend does the same in
  `stemsite.replica_search`), so a reader never sees an error page because a replica
  went away. Every change of a replica's state is logged once per process: when reads
  fall back, and when they return.

django-multidb-router's pinning router was the model; it is not used because its
pinning cookie is not signed and it has no health or lag check (a replica that goes
away gives every reader sent there an error page): what remained of it is a
thread-local flag and a round robin.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core import checks
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

CHECK_SECONDS = 1.0  # how often a working replica's state is read again, per process
RETRY_SECONDS = 3.0  # how long a failed replica is left alone before it is tried again
LAG_RECHECKS = (0.05, 0.1, 0.15)  # seconds to wait before reading a lag over the bound again
PIN_COOKIE = "stemsite_wrote"
PIN_SALT = "stemsite.replicas.pin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
READ_METHODS = frozenset({"GET", "HEAD"})

# Must see the latest write, or are written on the way: always the primary.
PRIMARY_ONLY_APPS = frozenset({"admin", "auth", "axes", "sessions", "django_cache"})
PRIMARY_ONLY_MODELS = frozenset(
    {"search.searchterm", "search.pendingindexupdate", "search.indexstate"}
)

# The standby's view of itself: in recovery, and how far behind its primary. Zero when it
# has replayed all it received (an idle primary sends nothing, so the age of the last
# replayed transaction alone would read as lag). Otherwise the age of the last
# transaction it replayed: when the first write after a quiet spell has arrived but is
# not yet replayed, that is the length of the quiet spell for a few milliseconds, so a
# lag over the bound is read again (`LAG_RECHECKS`) before it counts.
LAG_SQL = (
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    " THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)"
    " END::float"
)

_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("replica_scope", default=None)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", ()))


def pin_seconds() -> int:
    """How long a browser that wrote reads from the primary: longer than any lag we accept."""
    return math.ceil(settings.DATABASE_REPLICA_MAX_LAG + CHECK_SECONDS) + 1


def read_alias() -> str:
    """The database this request's reader reads go to now: a replica, or the primary.

    For code that reads through `connections[...]` rather than the ORM. A value that keys
    a cache of what the page shows (a content-generation counter) must be read here, from
    the same server as the page's rows, never forced to the primary: a replica that is
    behind would otherwise store old content under the new key.
    """
    return _scope.get() or DEFAULT_DB_ALIAS


def describe(alias: str) -> str:
    """`replica1 (db.example:5432/stemsite)`: names a server without its password."""
    config = settings.DATABASES[alias]
    host, port = config.get("HOST") or "localhost", config.get("PORT") or 5432
    return f"{alias} ({host}:{port}/{config['NAME']})"


# --- Health of each replica, per process ------------------------------------------------


@dataclass
class Replica:
    alias: str
    state: str = "unchecked"  # "ok", "down", "lagging", "not a standby"
    detail: str = ""
    lag: float | None = None
    checked_at: float = -math.inf
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def usable(self) -> bool:
        return self.state == "ok"

    def due(self, now: float) -> bool:
        wait = CHECK_SECONDS if self.state in ("ok", "lagging") else RETRY_SECONDS
        return self.state == "unchecked" or now - self.checked_at >= wait

    def summary(self) -> str:
        if self.state in ("ok", "lagging"):
            return f"{self.state} ({self.detail})" if self.detail else self.state
        return f"{self.state}: {self.detail}" if self.detail else self.state


class ReplicaPool:
    """Every replica's last known state, and the choice of one for a request."""

    def __init__(self, aliases: list[str]) -> None:
        self.replicas = {alias: Replica(alias) for alias in aliases}
        self._turn = itertools.count()

    def check(self, replica: Replica, force: bool = False) -> Replica:
        """Read the replica's state again if it is due (one thread at a time)."""
        if not (force or replica.due(time.monotonic())):
            return replica
        with replica.lock:
            if not (force or replica.due(time.monotonic())):
                return replica  # another thread just did
            connection = connections[replica.alias]
            max_lag = settings.DATABASE_REPLICA_MAX_LAG
            try:
                with connection.cursor() as cursor:
                    cursor.execute(LAG_SQL)
                    in_recovery, lag = cursor.fetchone()
                    for wait in LAG_RECHECKS:
                        if not in_recovery or lag <= max_lag:
                            break
                        time.sleep(wait)
                        cursor.execute(LAG_SQL)
                        in_recovery, lag = cursor.fetchone()
            except DatabaseError as exc:
                _close_quietly(replica.alias)
                self._record(replica, "down", _first_line(exc), None)
                return replica
            if not in_recovery:
                self._record(replica, "not a standby", "pg_is_in_recovery() is false", None)
            elif lag > max_lag:
                detail = f"{lag:.1f} s behind, over DATABASE_REPLICA_MAX_LAG ({max_lag:g} s)"
                self._record(replica, "lagging", detail, lag)
            else:
                self._record(replica, "ok", "", lag)
        return replica

    def fail(self, alias: str, error: BaseException) -> None:
        """A query on `alias` failed for a connection's reason: down until rechecked."""
        replica = self.replicas.get(alias)
        if replica is not None:
            with replica.lock:
                self._record(replica, "down", _first_line(error), None)
            _close_quietly(alias)

    def choose(self) -> str | None:
        """A replica fit to read from, in turn; None when none is (read the primary)."""
        aliases = list(self.replicas)
        if not aliases:
            return None
        start = next(self._turn)
        for offset in range(len(aliases)):
            replica = self.check(self.replicas[aliases[(start + offset) % len(aliases)]])
            if replica.usable:
                return replica.alias
        return None

    def _record(self, replica: Replica, state: str, detail: str, lag: float | None) -> None:
        before = replica.state
        replica.state, replica.detail, replica.lag = state, detail, lag
        replica.checked_at = time.monotonic()
        if state == before or (before == "unchecked" and state == "ok"):
            return
        if state == "ok":
            logger.warning(
                "Reads return to replica %s: it answers, %.1f s behind.",
                describe(replica.alias),
                lag or 0.0,
            )
            return
        others = [r for r in self.replicas.values() if r is not replica]
        working = [r.alias for r in others if r.usable]
        if working:
            target = f"replica {', '.join(working)}"
        elif any(r.state == "unchecked" for r in others):
            target = "another replica or the primary"
        else:
            target = "the primary"
        reason = {
            "down": f"it failed ({detail})",
            "lagging": f"it is {detail}",
        }.get(state, f"it is {state} ({detail})")
        logger.warning(
            "Reads fall back from replica %s to %s: %s.", describe(replica.alias), target, reason
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _close_quietly(alias: str) -> None:
    with contextlib.suppress(Exception):
        connections[alias].close()


@functools.cache
def pool() -> ReplicaPool:
    return ReplicaPool(replica_aliases())


def health() -> dict[str, str]:
    """Each replica's state, checked now: for `/readyz/` (`{"replica1": "ok", …}`)."""
    replicas = pool().replicas.values()
    return {describe(r.alias): pool().check(r, force=True).summary() for r in replicas}


# --- The scope of a reader's request ----------------------------------------------------


@contextlib.contextmanager
def reading_from(alias: str | None) -> Iterator[None]:
    """Reads inside go to `alias` (None: the primary)."""
    token = _scope.set(alias)
    try:
        yield
    finally:
        _scope.reset(token)


def primary() -> contextlib.AbstractContextManager[None]:
    """Everything inside reads the primary, whatever the request."""
    return reading_from(None)


def fall_back(error: BaseException) -> bool:
    """After `error` on this scope's replica: mark it down and read the primary from now
    on. False when the error is not a replica's to blame (no replica, or not a
    connection's failure): then it must be raised as it is."""
    alias = _scope.get()
    cause = error if isinstance(error, DatabaseError) else error.__cause__
    if alias is None or not isinstance(cause, OperationalError | InterfaceError):
        return False
    pool().fail(alias, cause)
    _scope.set(None)
    return True


def reads_primary(view: Callable) -> Callable:
    """Mark a view whose reads must all go to the primary (health checks)."""
    view.reads_primary = True
    return view


class ReplicaRouter:
    """Reads inside a replica scope go to its replica; all else goes to the primary."""

    def db_for_read(self, model, **hints) -> str | None:
        alias = _scope.get()
        if alias is None:
            return DEFAULT_DB_ALIAS if replica_aliases() else None
        if (
            model._meta.app_label in PRIMARY_ONLY_APPS
            or model._meta.label_lower in PRIMARY_ONLY_MODELS
        ):
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints) -> str | None:
        return DEFAULT_DB_ALIAS if replica_aliases() else None

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # A replica holds the primary's rows: an object read there may relate to one
        # read from the primary.
        same = {DEFAULT_DB_ALIAS, *replica_aliases()}
        return True if {obj1._state.db, obj2._state.db} <= same else None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        # A replica is read-only; it receives the primary's schema by replication.
        return False if db in replica_aliases() else None


class ReplicaMiddleware:
    """Opens the replica scope for a reader's request; pins a browser that wrote."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_aliases():
            return self.get_response(request)
        token = _scope.set(None)
        try:
            response = self.get_response(request)
        finally:
            _scope.reset(token)
        if request.method not in SAFE_METHODS:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=PIN_SALT,
                max_age=pin_seconds(),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if not replica_aliases() or not self.reads_replica(request, view_func):
            return
        request._replica_view = (view_func, view_args, view_kwargs)
        _scope.set(pool().choose())

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A replica that failed mid-request: serve the same GET again from the primary."""
        view = getattr(request, "_replica_view", None)
        if view is None or not fall_back(exception):
            return None
        view_func, view_args, view_kwargs = view
        response = view_func(request, *view_args, **view_kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        return response

    @staticmethod
    def reads_replica(request: HttpRequest, view_func) -> bool:
        if request.method not in READ_METHODS or getattr(view_func, "reads_primary", False):
            return False
        match = request.resolver_match
        if match is not None and match.app_name == "admin":
            return False
        if request.get_signed_cookie(PIN_COOKIE, None, salt=PIN_SALT, max_age=pin_seconds()):
            return False
        user = getattr(request, "user", None)
        return not (user is not None and user.is_authenticated)


def check_replicas(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`manage.py check`: replica URLs that do not parse, replicas of a non-PostgreSQL primary."""
    messages: list[checks.CheckMessage] = [
        checks.Error(
            f"DATABASE_REPLICA_URLS {problem}.",
            hint="Give comma-separated postgres:// URLs, one per replica.",
            id="stemsite.E002",
        )
        for problem in settings.DATABASE_REPLICA_ERRORS
    ]
    primary = settings.DATABASES[DEFAULT_DB_ALIAS]["ENGINE"]
    if settings.DATABASE_REPLICA_URLS and primary != "django.db.backends.postgresql":
        messages.append(
            checks.Error(
                f"DATABASE_REPLICA_URLS is set, but the primary database is "
                f"{primary.rsplit('.', 1)[-1]}: replicas need a PostgreSQL primary, so "
                "every read goes to the primary.",
                hint="Set DATABASE_URL to the PostgreSQL primary the replicas stream from.",
                id="stemsite.E001",
            )
        )
    return messages
