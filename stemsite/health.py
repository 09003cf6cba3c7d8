"""Health endpoints for load balancers and operators.

`/healthz/` is liveness: the process answers, nothing else is touched, so it stays
cheap enough to poll every second. `/readyz/` is readiness: it asks the database a
trivial query and the search index (through the backend interface only) for one
result, and answers 503 naming what failed, so traffic goes to a machine that can serve.
Read replicas (`DATABASE_REPLICA_URLS`) are checked and named too, but a replica that is
down or lagging leaves the machine ready: its reads fall back to the primary.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from search.backends import get_backend
from search.backends.base import SearchQuery, SearchUnavailable
from stemsite import replicas

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe for operators and the benchmarks' floor: no database, no index."""
    return HttpResponse("ok", content_type="text/plain")


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Readiness: the database did not answer")
        return "unavailable"
    return "ok"


def _search_index() -> str:
    try:
        backend = get_backend()
        if not backend.exists():
            logger.error("Readiness: the search index has not been built")
            return "not built"
        backend.search(SearchQuery(ordering="-published_on", per_page=1))
    except SearchUnavailable:
        logger.exception("Readiness: the search index cannot be read")
        return "unreadable"
    except Exception:  # a health check must answer, whatever the engine raised
        logger.exception("Readiness: the search index failed unexpectedly")
        return "unreadable"
    return "ok"


@never_cache
@replicas.reads_primary
def readyz(request: HttpRequest) -> JsonResponse:
    """200 `{"status": "ok", "checks": {...}}` or 503 with `error` naming what failed.

    With replicas, `checks["replicas"]` holds each one's state and a replica that is
    not "ok" is named in `warning`, still with 200: another replica or the primary
    serves its reads."""
    checks: dict = {"database": _database(), "search_index": _search_index()}
    failed = [
        f"{name.replace('_', ' ')} {state}" for name, state in checks.items() if state != "ok"
    ]
    warning = {}
    if replicas.replica_aliases():
        checks["replicas"] = replicas.health()
        states = checks["replicas"]
        faults = [f"replica {name} {state}" for name, state in states.items() if state != "ok"]
        if faults:
            elsewhere = "the other replicas" if len(faults) < len(states) else "the primary"
            warning = {"warning": f"{'; '.join(faults)}: its reads go to {elsewhere}."}
    if failed:
        return JsonResponse(
            {
                "status": "unavailable",
                "error": f"Not ready: {', '.join(failed)}.",
                "checks": checks,
                **warning,
            },
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": checks, **warning})
