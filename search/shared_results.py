"""One engine answer per search and search counter, shared by every page that asks it.

The results page (`/articles/?q=…`) and the JSON API (`/api/search/?q=…`) ask the engine
the same question (`SearchQuery`) and differ only in how they show the answer, and the
page cache keeps them apart (their addresses differ). Here the engine's answer (the
`SearchPage`: ids, scores, highlights, facets, corrections, the answer stage's reading)
is kept in Django's cache under the request, so the second of the two to be built since
the index last changed costs the rows and the template, not a search.

An answer is used only under the content generation's `search` counter it was found at
(`pagecache.models`): the counter moves once the search index holds any change that can
alter what a search finds, in what order, with what scores, highlights or suggestions,
and on every change to the vocabulary, picks and taxonomy the answer stage reads; the
day is part of the request (`visible_on`). The articles' rows (titles, links) are still
read from the database for every page, so the page cache's check of the rows a page
showed (`pagecache.middleware`) is unchanged. An answer found from a newer index than
the counter read says is newer, never older, than what that counter promises.

One search per process at a time: when the results page and the API for one query miss
at once (an index write has just retired both, and readers ask for both), the second
waits for the first's answer (`pagecache.builds`, as readers of one page wait for its
build) and uses it if it was found under the `search` counter the second request read,
the only answer it would have accepted from the cache anyway; otherwise (the build
failed, or the counter moved in between) it asks the engine itself.

Used only while the page cache is on (`PAGE_CACHE`) and for requests whose generation
the page cache read (`request_state`; not for signed-in editors, who bypass it). One
entry per request, replaced when the counter has moved, so old answers never crowd the
cache's pages out.

The answer a page is built from is also noted for that page (`pagecache.answers`), so
that after the next index write the page can be checked against the engine's new answer
instead of being rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

from pagecache import answers, builds
from pagecache.models import State, request_state
from search.backends.base import SearchBackend, SearchPage, SearchQuery

logger = logging.getLogger(__name__)

KEY_PREFIX = "search-answer:"


def search(backend: SearchBackend, query: SearchQuery) -> SearchPage:
    """`backend.search(query)`, or the answer found for the same request under the
    current `search` counter."""
    state = request_state.get()
    if not settings.PAGE_CACHE or state is None:
        return backend.search(query)
    found = _answer(backend, query, state)
    answers.note(query, found)  # what the page being built shows: for its revalidation
    return found


def _answer(backend: SearchBackend, query: SearchQuery, state: State) -> SearchPage:
    key = _key(backend, query)
    kept = _kept(key, state)
    if kept is not None:
        return kept
    building = builds.claim(key)
    if building is None:  # another thread asks the engine now: wait, then take its answer
        builds.wait(key)
        kept = _kept(key, state)
        if kept is not None:
            return kept
    try:
        found = backend.search(query)
        try:
            cache.set(key, (state.search_token, found))
        except Exception:
            logger.exception("Search answer cache unavailable: answer not stored")
        return found
    finally:
        if building is not None:
            builds.finish(key, building)


def _kept(key: str, state: State) -> SearchPage | None:
    """The answer kept for `key` if it was found under this request's `search` counter."""
    try:
        entry = cache.get(key)
    except Exception:  # a cache server down must not take searches down
        logger.exception("Search answer cache unavailable")
        return None
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == state.search_token:
        return entry[1]
    return None


def _key(backend: SearchBackend, query: SearchQuery) -> str:
    """The request without its vocabulary and synonyms, which the counter already
    determines; the engine; the code's release (a shared cache outlives a deploy)."""
    from pagecache.middleware import release

    asked = dataclasses.replace(query, vocabulary=None, synonyms=())
    engine = f"{type(backend).__module__}.{type(backend).__qualname__}"
    text = f"{release()}|{engine}|{asked!r}"
    return KEY_PREFIX + hashlib.sha256(text.encode()).hexdigest()
