"""Reader pages from Django's cache, tied to the content generation, never stale.

For the views in `CACHED_VIEWS`, on GET and HEAD:

1. Signed-in users (editors, previews of drafts) bypass the cache: their pages are
   rendered afresh and sent `private, no-store`. A request without a session cookie is
   anonymous without a look at the session.
2. Otherwise the content generation is read: one query (`Generation.objects.current()`).
   The cache key is the generation, today's date (a scheduled article appears when its
   day comes, with no save; `published_on` is a date), the code's release, the kind of
   answer, scheme, host, path and the normalised query string (parameters sorted, spaces
   in the query text collapsed; the view then renders that normalised form, so every spelling
   of one query shares one entry and one page).
3. `If-None-Match` matching the ETag (or `If-Modified-Since` not older than the
   generation) is answered 304 at once; a cached copy is served next; only then does
   the view run, and a 200 or 301 without cookies is stored for the next reader.

Entries are never invalidated: a change moves the generation, so the next request asks
for another key, and old entries age out of the cache. Why a page stored under a
generation is never older than that generation is explained in `pagecache.signals`.

Two kinds of answer: "page" (HTML a reader sees; `Vary: Cookie`, since a session
changes it) and "shared" (the JSON API, the feed and the sitemap: the same for every
client, so editors share them too and nothing varies on cookies). Both are sent with
an ETag, `Cache-Control: public, max-age=0, s-maxage=PAGE_CACHE_MAX_AGE` (browsers
revalidate every time, cheaply; shared caches may hold them briefly) and
`CDN-Cache-Control: public, max-age=…, stale-while-revalidate=…`. With PAGE_CACHE off
(`STEMSITE_PAGE_CACHE=0`) nothing is stored or served from the cache; the headers and
304 answers stay. `X-Page-Cache` says "hit" (served from the cache, or 304) or "miss"
(built and stored), as CDNs report theirs.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.http import http_date

from pagecache.models import Generation, State

logger = logging.getLogger(__name__)

PAGE = "page"
SHARED = "shared"

#: URL names whose GET answers are cached, and their kind.
CACHED_VIEWS = {
    "library:home": PAGE,
    "library:article_list": PAGE,
    "library:article_detail": PAGE,
    "library:disease_list": PAGE,
    "library:disease_detail": PAGE,
    "library:therapy_list": PAGE,
    "library:therapy_detail": PAGE,
    "library:tag_list": PAGE,
    "library:tag_detail": PAGE,
    "library:explore": PAGE,
    "library:article_feed": SHARED,
    "search:api_search": SHARED,
    "search:api_suggest": SHARED,
    "sitemap": SHARED,
    "sitemap_section": SHARED,
}
STORED_STATUSES = {200, 301}
# Whether the cache answered ("hit", a 304 included) or the page was built and stored
# ("miss"), as CDNs report theirs; the load test counts them.
CACHE_STATUS = "X-Page-Cache"
# Set by this middleware on the way out, never stored with a cached answer.
OWN_HEADERS = {
    "cache-control", "cdn-cache-control", "etag", "last-modified", "vary", "expires", "date",
    "x-page-cache",
}  # fmt: skip
KEY_PREFIX = "page:"
# Free text whose runs of spaces mean one space; other parameters are checked strictly
# (the API refuses `page= 2`), so they are keyed exactly as sent.
SPACED_PARAMETERS = {"q"}


@dataclass
class Plan:
    """What this middleware decided for one request."""

    kind: str
    key: str = ""
    etag: str = ""
    last_modified: int = 0
    served: bool = False  # answered by the cache or with 304: nothing to store


def after_response(response: HttpResponse, func: Callable, *args) -> None:
    """Call `func(*args)` once `response` has been sent, and again each time the cache
    serves a copy of it (counting searches must not stop when pages come from the cache).
    `func` and `args` are stored with the page, so they must pickle (a module function)."""
    response._resource_closers.append(functools.partial(func, *args))
    response.__dict__.setdefault("_after_each_response", []).append((func, args))


class ReaderCacheMiddleware:
    """See the module docstring. Placed after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        plan: Plan | None = getattr(request, "_page_cache", None)
        if plan is None:
            return response
        if plan.kind == "bypass":
            add_never_cache_headers(response)
            return response
        if plan.served:
            response[CACHE_STATUS] = "hit"
            return response
        if response.status_code not in STORED_STATUSES or response.cookies:
            patch_cache_control(response, no_cache=True)
            if plan.kind == PAGE:
                patch_vary_headers(response, ["Cookie"])
            return response
        if settings.PAGE_CACHE and request.method == "GET" and not response.streaming:
            response[CACHE_STATUS] = "miss"
            try:
                cache.set(plan.key, _freeze(response))
            except Exception:  # a cache server down must not take pages down
                logger.exception("Page cache unavailable: page not stored")
        return _with_headers(response, plan)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.method not in ("GET", "HEAD"):
            return None
        kind = CACHED_VIEWS.get(request.resolver_match.view_name)
        if kind is None:
            return None
        if kind == PAGE and _signed_in(request):
            request._page_cache = Plan("bypass")
            return None
        try:
            state = Generation.objects.current()
        except DatabaseError:  # the view will meet it too, and answer as it does
            return None
        if state is None:
            return None
        _normalise_query(request)
        plan = request._page_cache = _plan(request, kind, state)
        not_modified = get_conditional_response(
            request, etag=plan.etag, last_modified=plan.last_modified
        )
        if not_modified is not None:
            plan.served = True
            return _with_headers(not_modified, plan)
        if not settings.PAGE_CACHE:
            return None
        try:
            frozen = cache.get(plan.key)
        except Exception:
            logger.exception("Page cache unavailable: page built afresh")
            return None
        if frozen is None:
            return None
        plan.served = True
        return _with_headers(_thaw(frozen), plan)


def _signed_in(request: HttpRequest) -> bool:
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def _normalise_query(request: HttpRequest) -> None:
    pairs = sorted(
        (key, " ".join(value.split()) if key in SPACED_PARAMETERS else value)
        for key, values in request.GET.lists()
        for value in values
    )
    query = urlencode(pairs)
    if query != request.META.get("QUERY_STRING", ""):
        request.GET = QueryDict(query)
        request.META["QUERY_STRING"] = query


def _plan(request: HttpRequest, kind: str, state: State) -> Plan:
    today = timezone.localdate()
    version = f"{release()}|{state.token}|{today.isoformat()}"
    where = f"{request.scheme}://{request.get_host()}{request.path}?{request.META['QUERY_STRING']}"
    key = hashlib.sha256(f"{version}|{kind}|{where}".encode()).hexdigest()
    midnight = datetime.datetime.combine(
        today, datetime.time(), tzinfo=timezone.get_current_timezone()
    )
    return Plan(
        kind=kind,
        key=KEY_PREFIX + key,
        etag=f'W/"{hashlib.sha256(version.encode()).hexdigest()[:24]}"',
        last_modified=int(max(state.changed_at, midnight).timestamp()),  # HTTP has seconds
    )


def _with_headers(response: HttpResponse, plan: Plan) -> HttpResponse:
    response["ETag"] = plan.etag
    response["Last-Modified"] = http_date(plan.last_modified)
    # Browsers ask again every time (max-age=0; the ETag makes that a cheap 304), so a
    # reader never sees an old page after a correction; shared caches may hold it for
    # s-maxage, and CDNs that read CDN-Cache-Control (RFC 9213) also serve it stale
    # while they revalidate.
    shared_age = settings.PAGE_CACHE_MAX_AGE
    patch_cache_control(response, public=True, max_age=0, s_maxage=shared_age)
    cdn = f"public, max-age={shared_age}"
    if settings.PAGE_CACHE_STALE_WHILE_REVALIDATE:
        cdn += f", stale-while-revalidate={settings.PAGE_CACHE_STALE_WHILE_REVALIDATE}"
    response["CDN-Cache-Control"] = cdn
    if plan.kind == PAGE:
        patch_vary_headers(response, ["Cookie"])
    return response


def _freeze(response: HttpResponse) -> tuple:
    headers = [(k, v) for k, v in response.items() if k.lower() not in OWN_HEADERS]
    after = response.__dict__.get("_after_each_response", [])
    return (response.status_code, response.content, headers, after)


def _thaw(frozen: tuple) -> HttpResponse:
    status, content, headers, after = frozen
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    for func, args in after:
        after_response(response, func, *args)
    return response


@functools.cache
def release() -> str:
    """Which code renders the pages: PAGE_CACHE_RELEASE, or a digest of the project's
    Python files, templates and static manifest. A shared cache (Redis, memcached) then
    never serves a page of the previous release, and every machine running the same
    code computes the same keys and ETags."""
    if settings.PAGE_CACHE_RELEASE:
        return settings.PAGE_CACHE_RELEASE
    base = Path(settings.BASE_DIR).resolve()
    roots = {Path(config.path).resolve() for config in apps.get_app_configs()}
    roots |= {Path(d).resolve() for t in settings.TEMPLATES for d in t.get("DIRS", [])}
    roots.add(base / "stemsite")
    digest = hashlib.sha256()
    ours = sorted(r for r in roots if r.is_relative_to(base) and "site-packages" not in r.parts)
    for root in ours:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".html", ".xml", ".txt") and path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.is_file():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()[:16]
