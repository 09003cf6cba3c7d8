"""Reader pages from Django's cache, tied to the content generation, never stale.

For the views in `CACHED_VIEWS`, on GET and HEAD:

1. Signed-in users (editors, previews of drafts) bypass the cache: their pages are
   rendered afresh and sent `private, no-store`. A request without a session cookie is
   anonymous without a look at the session.
2. The cache entry for the address is looked up (no SQL): its key is today's date (a
   scheduled article appears when its day comes, with no save; `published_on` is a
   date), the code's release, the kind of answer, scheme, host, path and the
   normalised query string (parameters sorted, spaces in the query text collapsed; the
   view then renders that normalised form, so every spelling of one query shares one
   entry and one page).
3. Then one query reads the content generation (`Generation.objects.current()`) and,
   for a listing or search entry, the `updated_at` of the article rows it showed, in
   the same statement. The entry is served if it is still valid, by its scope:
   - "content" (the sitemap, and any page below that loaded too many articles to
     check): built under the current `value`, which every change moves;
   - "search" (results pages and anything with query text, the search API): built
     under the current `search` counter (which every change moves except the commit of
     an article's text edit, whose index write moves it) *and* every article row the
     page loaded has the same `updated_at` now, as for a listing below. So the commit of
     a text edit retires the results that show the edited article (its title, summary
     or highlight) and no others, and the index write that follows, which can change
     any search (a new match, other scores), retires them all. Such a page, retired by
     the `search` counter alone, is revalidated before it is rebuilt: served again if
     the engine's answer is unchanged (scores aside, which an API answer then takes),
     see `pagecache.answers`;
   - "listing" (lists, topic and taxonomy pages, the home page, `/explore/`, the feed,
     suggestions, article pages): built under the current `listing` counter (which
     moves when an article is created, deleted, published, unpublished, retitled,
     re-slugged, re-dated or re-filed, or the taxonomy changes) *and* every article row
     the page loaded while it was built (recorded by a `post_init` receiver) has the
     same `updated_at` now. So an edit of one article's text retires the pages that
     show that article, and no others. A page that loaded more than `MAX_ROWS` articles,
     or an article without its `updated_at`, is kept as "content" instead;
   - "static" (pages that show no content, such as the editorial policy): the release
     and the settings the page shows (`STATIC_SETTINGS`), part of its key; no query.
4. `If-None-Match` matching the ETag (or `If-Modified-Since` not older than the
   generation) is answered 304 (before building the page, except a listing or search
   page without a cache entry, whose validators are only known once it is built); a valid cached
   copy is served next; only then does the view run, and a 200 or 301 without cookies
   is stored for the next reader, replacing the address's older entry. One thread of a
   process builds an address at a time: readers asking for it meanwhile wait for that
   build and are served it if it is valid for the generation they then read
   (`pagecache.builds`), one more read of the generation.

Why a page stored under a generation is never older than that generation is explained in
`pagecache.signals`. The article page's related-articles box is a listing: its titles
and links are rows checked like any other, and it is rebuilt when articles are
published, unpublished, retitled or re-filed, but not when another article's text
changes, which can only reorder the similarity ranking it is chosen by.

Two kinds of answer: "page" (HTML a reader sees; `Vary: Cookie`, since a session
changes it) and "shared" (the JSON API, the feed and the sitemap: the same for every
client, so editors share them too and nothing varies on cookies). Both are sent with
an ETag, `Cache-Control: public, max-age=0, s-maxage=PAGE_CACHE_MAX_AGE` (browsers
revalidate every time, cheaply; shared caches may hold them briefly) and
`CDN-Cache-Control: public, max-age=…, stale-while-revalidate=…`. With PAGE_CACHE off
(`STEMSITE_PAGE_CACHE=0`) nothing is stored or served from the cache; the headers and
304 answers stay. `X-Page-Cache` says "hit" (served from the cache, or 304), "revalidated"
(served from the cache once the engine confirmed its answer) or "miss" (built and
stored), as CDNs report theirs.
"""

from __future__ import annotations

import contextvars
import datetime
import functools
import hashlib
import logging
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
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

from pagecache import answers, builds
from pagecache.models import Generation, State, instant, request_state

logger = logging.getLogger(__name__)

PAGE = "page"
SHARED = "shared"
CONTENT = "content"
LISTING = "listing"
SEARCH = "search"
STATIC = "static"
#: Scopes valid while the article rows a page loaded are unchanged (`Shown`).
ROW_SCOPES = {LISTING, SEARCH}

#: URL names whose GET answers are cached: their kind, and the scope of their validity.
CACHED_VIEWS = {
    "library:home": (PAGE, LISTING),
    "library:article_list": (PAGE, LISTING),
    "library:article_detail": (PAGE, LISTING),
    "library:disease_list": (PAGE, LISTING),
    "library:disease_detail": (PAGE, LISTING),
    "library:therapy_list": (PAGE, LISTING),
    "library:therapy_detail": (PAGE, LISTING),
    "library:tag_list": (PAGE, LISTING),
    "library:tag_detail": (PAGE, LISTING),
    "library:explore": (PAGE, LISTING),
    "library:editorial_policy": (PAGE, STATIC),
    "library:article_feed": (SHARED, LISTING),
    "search:api_search": (SHARED, SEARCH),
    "search:api_suggest": (SHARED, LISTING),
    "sitemap": (SHARED, CONTENT),
    "sitemap_section": (SHARED, CONTENT),
}
#: The settings a "static" page shows: part of its key and ETag, so that a changed
#: setting (a shared cache outliving a restart, a test) never meets the old page.
STATIC_SETTINGS = {"library:editorial_policy": ("CORRECTIONS_EMAIL", "REVIEW_INTERVAL_DAYS")}
#: A listing page that loaded more article rows than this is kept as "content": checking
#: them would make the one read per request a large one.
MAX_ROWS = 100
# Query text makes any listing a search: its results depend on the search index.
QUERY_PARAMETER = "q"
# Except where it is a prefix matched against titles and taxonomy names, which are
# listing fields.
PREFIX_QUERIES = {"search:api_suggest"}
STORED_STATUSES = {200, 301}
# Answers that show the hits' scores and whose stored body can take new ones
# (`search.views.rescored`) when an index write moved nothing else in their answer.
RESCORED_VIEWS = {"search:api_search"}
# Whether the cache answered ("hit", a 304 included) or the page was built and stored
# ("miss"), as CDNs report theirs; the load test counts them.
CACHE_STATUS = "X-Page-Cache"
# Set by this middleware on the way out, never stored with a cached answer.
OWN_HEADERS = {
    "cache-control", "cdn-cache-control", "etag", "last-modified", "vary", "expires", "date",
    "x-page-cache",
}  # fmt: skip
KEY_PREFIX = "page:"
# zlib's fastest level: a page's HTML shrinks several times over, for a fraction of a
# millisecond when it is built and less when it is served.
COMPRESS_LEVEL = 1
# Free text whose runs of spaces mean one space; other parameters are checked strictly
# (the API refuses `page= 2`), so they are keyed exactly as sent.
SPACED_PARAMETERS = {"q"}


class Shown:
    """The article rows a listing page loaded while it was built: id → `updated_at`."""

    def __init__(self) -> None:
        self.rows: dict[int, str] = {}
        self.trackable = True  # False once a row came without its updated_at, or twice

    def add(self, pk: int, updated_at: datetime.datetime | None) -> None:
        if updated_at is None:
            self.trackable = False
            return
        when = instant(updated_at)
        if self.rows.setdefault(pk, when) != when:
            self.trackable = False  # two versions of one article: a save in between


_shown: contextvars.ContextVar[Shown | None] = contextvars.ContextVar("page_shown", default=None)


def article_loaded(sender, instance, **kwargs) -> None:
    """`post_init` of Article: note the row if a listing page is being built."""
    shown = _shown.get()
    if shown is not None and instance.pk is not None:
        shown.add(instance.pk, instance.__dict__.get("updated_at"))


@dataclass
class Plan:
    """What this middleware decided for one request."""

    kind: str
    scope: str = CONTENT
    key: str = ""
    state: State | None = None
    etag: str = ""
    last_modified: int | None = None
    served: bool = False  # answered by the cache or with 304: nothing to store
    shown: Shown | None = None
    shown_token: contextvars.Token | None = field(default=None, repr=False)
    building: threading.Event | None = field(default=None, repr=False)  # builds.claim()
    state_token: contextvars.Token | None = field(default=None, repr=False)  # request_state
    asked: answers.Asked | None = None  # the engine answers a search page is built from
    asked_token: contextvars.Token | None = field(default=None, repr=False)
    status: str = "hit"  # X-Page-Cache when served: "hit", or "revalidated"


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
        try:
            return self._respond(request)
        finally:  # stored or not: wake the readers waiting for this build
            plan: Plan | None = getattr(request, "_page_cache", None)
            if plan is not None and plan.building is not None:
                builds.finish(plan.key, plan.building)
                plan.building = None

    def _respond(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        finally:
            plan: Plan | None = getattr(request, "_page_cache", None)
            if plan is not None and plan.shown_token is not None:
                _shown.reset(plan.shown_token)
                plan.shown_token = None
            if plan is not None and plan.state_token is not None:
                request_state.reset(plan.state_token)
                plan.state_token = None
            if plan is not None and plan.asked_token is not None:
                answers.stop(plan.asked_token)
                plan.asked_token = None
        if plan is None:
            return response
        if plan.kind == "bypass":
            add_never_cache_headers(response)
            return response
        if plan.served:
            response[CACHE_STATUS] = plan.status
            return response
        if response.status_code not in STORED_STATUSES or response.cookies:
            patch_cache_control(response, no_cache=True)
            if plan.kind == PAGE:
                patch_vary_headers(response, ["Cookie"])
            return response
        rows = _settle(plan)
        if settings.PAGE_CACHE and request.method == "GET" and not response.streaming:
            response[CACHE_STATUS] = "miss"
            entry = {
                "scope": plan.scope,
                "version": _version(plan.scope, plan.state),
                "rows": rows,
                **_revalidation(plan),
                "etag": plan.etag,
                "last_modified": plan.last_modified,
                "response": _freeze(response),
            }
            try:
                cache.set(plan.key, entry)
            except Exception:  # a cache server down must not take pages down
                logger.exception("Page cache unavailable: page not stored")
        answer = get_conditional_response(
            request, etag=plan.etag, last_modified=plan.last_modified, response=response
        )
        return _with_headers(answer, plan)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.method not in ("GET", "HEAD"):
            return None
        kind, scope = CACHED_VIEWS.get(request.resolver_match.view_name, (None, None))
        if kind is None:
            return None
        if kind == PAGE and _signed_in(request):
            request._page_cache = Plan("bypass")
            return None
        _normalise_query(request)
        searched = request.GET.get(QUERY_PARAMETER, "").strip()
        if scope == LISTING and searched and request.resolver_match.view_name not in PREFIX_QUERIES:
            scope = SEARCH
        key = _key(request, kind, scope)
        entry = _cached(key) if settings.PAGE_CACHE else None
        state = None
        if scope != STATIC:
            listed = entry["rows"] if entry and entry["scope"] in ROW_SCOPES else {}
            try:
                state = Generation.objects.current(listed)
            except DatabaseError:  # the view will meet it too, and answer as it does
                return None
            if state is None:
                return None
        plan = request._page_cache = Plan(kind, scope, key, state)
        if state is not None:  # read once per request: the view's code reads this one
            plan.state_token = request_state.set(state)
        if entry is not None and _valid(entry, state):
            return _serve(request, plan, entry)
        if settings.PAGE_CACHE and request.method == "GET":
            plan.building = builds.claim(key)
            if plan.building is None:  # another thread builds it now: wait, then take it
                builds.wait(key)
                served = _serve_built(request, plan)
                if served is not None:
                    return served
            if entry is not None:
                revalidated = _revalidate(request, plan, entry)
                if revalidated is not None:
                    return revalidated
        if scope in ROW_SCOPES:  # its validators are known once it is built
            plan.shown = Shown()
            plan.shown_token = _shown.set(plan.shown)
            if scope == SEARCH:
                plan.asked, plan.asked_token = answers.start()
            return None
        _validators(plan, {})
        not_modified = _answer(request, plan)
        if not_modified is not None:
            plan.served = True
            return _with_headers(not_modified, plan)
        return None


def _serve(request: HttpRequest, plan: Plan, entry: dict) -> HttpResponse:
    """A valid cached copy, or 304 if the request's validators match it."""
    plan.etag, plan.last_modified = entry["etag"], entry["last_modified"]
    response = _answer(request, plan) or _thaw(entry["response"])
    plan.served = True
    return _with_headers(response, plan)


def _revalidation(plan: Plan) -> dict:
    """What a search page keeps to be revalidated after an index write (`pagecache.answers`):
    the engine answers it was built from, and the `listing` counter it was built under."""
    if plan.scope != SEARCH or plan.asked is None or not plan.asked.answers:
        return {}
    return {"answers": plan.asked.answers, "listing": plan.state.listing_token}


def _revalidate(request: HttpRequest, plan: Plan, entry: dict) -> HttpResponse | None:
    """A search page retired by an index write alone (the `search` counter moved; the
    `listing` counter and the rows it shows did not), served and kept under the new
    counter if the engine's answers are the ones it was built from; else None (build it).
    The body is then exactly what a rebuild would make; an unchanged body keeps its ETag,
    so a browser or CDN holding it gets a 304."""
    state = plan.state
    if (
        entry["scope"] != SEARCH
        or "answers" not in entry
        or state is None
        or entry.get("listing") != state.listing_token
        or entry["rows"] != state.rows
    ):
        return None
    try:
        again = answers.asked_again(entry["answers"])
    except Exception:  # the engine failing: the view will meet it too, and answer as it does
        logger.exception("Search page not revalidated: built afresh")
        return None
    if again is None:
        return None
    # Only scores moved, if anything. HTML pages show none; the API shows a hit's score
    # when text was searched (`search.views.search_api`; browsing shows null).
    moved = [
        new for new, old in zip(again, entry["answers"], strict=True)
        if new[2] != old[2] and new[0].text
    ]  # fmt: skip
    if moved and plan.kind == SHARED:
        if request.resolver_match.view_name not in RESCORED_VIEWS or len(again) != 1:
            return None
        entry = _rescored(plan, entry, dict(moved[0][2]))
        if entry is None:
            return None
    entry = {**entry, "version": _version(SEARCH, state), "answers": again}
    try:
        cache.set(plan.key, entry)
    except Exception:
        logger.exception("Page cache unavailable: revalidated page not stored")
    plan.status = "revalidated"
    return _serve(request, plan, entry)


def _rescored(plan: Plan, entry: dict, scores: dict[str, float]) -> dict | None:
    """The entry of an answer that shows scores, with the new ones and the ETag and
    Last-Modified of a page built now; None if its body cannot be rewritten exactly."""
    from search.views import rescored

    status, body, headers, after = entry["response"]
    content = rescored(zlib.decompress(body), scores)
    if content is None or any(name.lower() == "content-length" for name, _value in headers):
        return None
    _validators(plan, entry["rows"])
    frozen = (status, zlib.compress(content, COMPRESS_LEVEL), headers, after)
    return {
        **entry, "response": frozen, "etag": plan.etag, "last_modified": plan.last_modified
    }  # fmt: skip


def _serve_built(request: HttpRequest, plan: Plan) -> HttpResponse | None:
    """The page another thread has just built, if it is valid for the generation now."""
    entry = _cached(plan.key)
    if entry is None:
        return None
    if entry["scope"] == STATIC:
        return _serve(request, plan, entry)
    listed = entry["rows"] if entry["scope"] in ROW_SCOPES else {}
    try:
        state = Generation.objects.current(listed)
    except DatabaseError:
        return None
    if state is None or not _valid(entry, state):
        return None
    plan.state = state
    return _serve(request, plan, entry)


def _cached(key: str) -> dict | None:
    try:
        entry = cache.get(key)
    except Exception:
        logger.exception("Page cache unavailable: page built afresh")
        return None
    return entry if isinstance(entry, dict) else None


def _valid(entry: dict, state: State | None) -> bool:
    if entry["scope"] == STATIC:
        return True
    if entry["version"] != _version(entry["scope"], state):
        return False
    return entry["scope"] not in ROW_SCOPES or entry["rows"] == state.rows


def _version(scope: str, state: State | None) -> str:
    if scope == STATIC or state is None:
        return ""
    if scope == LISTING:
        return state.listing_token
    return state.search_token if scope == SEARCH else state.token


def _settle(plan: Plan) -> dict[int, str]:
    """A built page's scope and validators; for a listing or search, the rows it showed."""
    rows: dict[int, str] = {}
    if plan.scope in ROW_SCOPES:
        shown = plan.shown or Shown()
        if shown.trackable and len(shown.rows) <= MAX_ROWS:
            rows = shown.rows
        else:
            plan.scope = CONTENT
    _validators(plan, rows)
    return rows


def _validators(plan: Plan, rows: dict[int, str]) -> None:
    version = f"{release()}|{timezone.localdate().isoformat()}|{plan.scope}"
    if plan.scope == STATIC:
        version += f"|{plan.key}"  # its settings, and its address
    version += f"|{_version(plan.scope, plan.state)}|{sorted(rows.items())}"
    plan.etag = f'W/"{hashlib.sha256(version.encode()).hexdigest()[:24]}"'
    if plan.state is not None:
        midnight = datetime.datetime.combine(
            timezone.localdate(), datetime.time(), tzinfo=timezone.get_current_timezone()
        )
        # HTTP has seconds; changed_at moves on every change, so it is never too early.
        plan.last_modified = int(max(plan.state.changed_at, midnight).timestamp())


def _answer(request: HttpRequest, plan: Plan) -> HttpResponse | None:
    """304 if the request's validators match the plan's, else None."""
    return get_conditional_response(request, etag=plan.etag, last_modified=plan.last_modified)


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


def _key(request: HttpRequest, kind: str, scope: str) -> str:
    today = timezone.localdate().isoformat()
    where = f"{request.scheme}://{request.get_host()}{request.path}?{request.META['QUERY_STRING']}"
    text = f"{release()}|{today}|{kind}|{scope}|{where}"
    if scope == STATIC:
        names = STATIC_SETTINGS.get(request.resolver_match.view_name, ())
        text += f"|{[getattr(settings, name, None) for name in names]!r}"
    return KEY_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def _with_headers(response: HttpResponse, plan: Plan) -> HttpResponse:
    response["ETag"] = plan.etag
    if plan.last_modified is not None:
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
    """What is stored of an answer: its body compressed (`COMPRESS_LEVEL`), so that the
    cache's `MAX_ENTRIES` pages (`stemsite.cache.MAX_ENTRIES`) fit in memory: a local
    memory cache keeps all of them in each process."""
    headers = [(k, v) for k, v in response.items() if k.lower() not in OWN_HEADERS]
    after = response.__dict__.get("_after_each_response", [])
    body = zlib.compress(response.content, COMPRESS_LEVEL)
    return (response.status_code, body, headers, after)


def _thaw(frozen: tuple) -> HttpResponse:
    status, body, headers, after = frozen
    response = HttpResponse(zlib.decompress(body), status=status)
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
