"""Site-wide middleware: JSON errors and rate limits for /api/, and Permissions-Policy.

- `ApiJsonErrorsMiddleware`: scripts calling /api/ parse JSON, so every error there (an
  unknown address, a wrong method, a crash, the database down) answers
  `{"error": "..."}` instead of an HTML page.
- `ApiRateLimitMiddleware`: a fixed-window count of /api/ requests per client address,
  kept in a cache shared by all worker processes; over the limit, 429 with Retry-After.
  Every counted answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset.
- `PermissionsPolicyMiddleware`: the site uses no camera, microphone, location and so
  on; saying so stops an injected or third-party script from asking for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse

from stemsite.throttling import client_ip

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
ERROR_MESSAGES = {
    400: "Bad request.",
    403: "Forbidden.",
    404: "Not found: there is no API endpoint at this address.",
    405: "Method not allowed: the API answers GET requests only.",
    429: "Too many requests: slow down and try again shortly.",
    500: "Internal server error: the problem has been logged.",
    503: "Temporarily unavailable: try again shortly.",
}
DATABASE_DOWN = "The database is temporarily unavailable: try again shortly."
KEPT_HEADERS = ("Allow", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def json_error(status: int, message: str | None = None, **headers: str) -> JsonResponse:
    """The API's error shape: `{"error": "<a sentence>"}` with the given status."""
    text = message or ERROR_MESSAGES.get(status) or f"HTTP error {status}."
    response = JsonResponse({"error": text}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class ApiJsonErrorsMiddleware:
    """Under /api/, replace any non-JSON error response with the JSON error shape.

    Placed near the top of MIDDLEWARE so that it also sees the 404/500 pages Django
    renders for errors raised further in. A database error raised by a view becomes
    503 (the request may well succeed shortly); it is logged with its traceback.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_api(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        replacement = json_error(response.status_code)
        for name in KEPT_HEADERS:
            if name in response:
                replacement[name] = response[name]
        return replacement

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_api(request) and isinstance(exception, DatabaseError):
            logger.error("Database error under %s", request.path, exc_info=exception)
            return json_error(503, DATABASE_DOWN, Retry_After="30")
        return None


class ApiRateLimitMiddleware:
    """At most API_RATE_LIMIT requests per API_RATE_LIMIT_PERIOD seconds per client address.

    Windows are fixed and aligned to the clock; the count lives in the cache named by
    API_RATE_LIMIT_CACHE, which must be shared by every worker process (see settings)
    and must increment atomically. A limit of 0 turns the limit off. If the cache
    itself fails, the request is served: a broken counter must not take the API down.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.API_RATE_LIMIT
        if limit <= 0 or not is_api(request):
            return self.get_response(request)
        period = settings.API_RATE_LIMIT_PERIOD
        now = time.time()
        window = int(now // period)
        key = f"api-rate:{client_ip(request)}:{window}"
        try:
            cache = caches[settings.API_RATE_LIMIT_CACHE]
            cache.add(key, 0, timeout=period + 5)
            count = cache.incr(key)
        except Exception:  # the cache is unavailable: serve, and say so in the log
            logger.exception("API rate limit counter unavailable; request served unthrottled")
            return self.get_response(request)
        reset = max(1, int((window + 1) * period - now + 0.999))  # seconds left in the window
        if count > limit:
            response = json_error(
                429,
                f"Too many requests: at most {limit} every {period} seconds from one address. "
                f"Try again in {reset} seconds.",
                Retry_After=str(reset),
            )
            response["Cache-Control"] = "no-store"
        else:
            response = self.get_response(request)
        # The IETF draft's RateLimit header fields, on every counted answer.
        response["RateLimit-Limit"] = str(limit)
        response["RateLimit-Remaining"] = str(max(0, limit - count))
        response["RateLimit-Reset"] = str(reset)
        return response


class PermissionsPolicyMiddleware:
    """Sends the Permissions-Policy header built from settings.PERMISSIONS_POLICY."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})"
            for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.setdefault("Permissions-Policy", self.header)
        return response
