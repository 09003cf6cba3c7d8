"""One build of a page at a time in each process: readers who ask while it is built wait.

When an edit retires a page that many readers are reading (the article in the news, the
search everyone types), every reader asking in the instant after would otherwise build
the same page at once, each taking a share of the same cores. As reverse proxies and
CDNs collapse requests (nginx's `proxy_cache_lock`, Varnish's request coalescing), the
first reader builds it; the others wait for that build, at most `WAIT_SECONDS`, and then
read the cache again, where the new page is served to them only if it is valid for the
generation they read at that moment (`pagecache.middleware`). If it is not (another
edit came in between, or the page was not stored: an error, a cookie), they build it
themselves, as they would have. Per process: the threads of one gunicorn worker share
these locks; processes with a shared cache each build at most once. The engine's answer
to a search, which the results page and the API share (`search.shared_results`), is
found once at a time the same way, under its own key: the two pages for one query,
retired together by an index write, then ask the engine once between them.
"""

from __future__ import annotations

import threading

WAIT_SECONDS = 10.0

_guard = threading.Lock()
_builds: dict[str, threading.Event] = {}


def claim(key: str) -> threading.Event | None:
    """This thread builds `key`: the event to `finish()`; None if another one does."""
    with _guard:
        if key in _builds:
            return None
        building = _builds[key] = threading.Event()
        return building


def wait(key: str, timeout: float = WAIT_SECONDS) -> None:
    """Until the build of `key` under way (if any) has finished, or `timeout` passed."""
    with _guard:
        building = _builds.get(key)
    if building is not None:
        building.wait(timeout)


def finish(key: str, building: threading.Event) -> None:
    """The build of `key` is over (stored or not): wake its waiters."""
    with _guard:
        if _builds.get(key) is building:
            del _builds[key]
    building.set()
