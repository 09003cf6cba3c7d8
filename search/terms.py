"""Recording what readers search for, once per search, after the page is sent.

A search counts once: when the results page is asked for with the query alone (the
search box sends only `q`), on its first page. Following a facet, sorting or paging
adds parameters and is not a new search, so it is not counted again. The one UPSERT
runs when the response is closed (after the WSGI server sent it), so the reader never
waits for it, not even when a fixture load holds SQLite's write lock; any database
error is logged and swallowed: recording must never break a search.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpResponse, QueryDict

from pagecache.middleware import after_response
from search.models import SearchTerm

logger = logging.getLogger("search")

_NEW_SEARCH_PARAMS = {"q", "page"}


def is_new_search(params: QueryDict) -> bool:
    """A query typed in the box: `q` (non-blank) and at most `page=1`, nothing else."""
    if not (params.get("q") or "").strip() or not set(params) <= _NEW_SEARCH_PARAMS:
        return False
    return params.get("page", "1") in ("", "1")


def record(text: str, results: int) -> None:
    try:
        SearchTerm.objects.record(text, results)
    except DatabaseError:
        logger.warning("Could not record a search term", exc_info=True)


def record_after_response(response: HttpResponse, text: str, results: int) -> None:
    """Count the search when `response` is closed, i.e. after it reached the reader;
    and again whenever the page cache serves a copy of this page to another reader."""
    closers = getattr(response, "_resource_closers", None)
    if closers is None:  # not an HttpResponse we know: record at once
        record(text, results)
    else:
        after_response(response, record, text, results)
