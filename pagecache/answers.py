"""The engine answers a search page was built from, so that an index write need not rebuild it.

Every index write moves the `search` counter and so retires every results page and
`/api/search/` answer (`pagecache.models`): any write can add a match to any search or
change its scores. Most writes change neither for most searches, and the page would be
rebuilt byte for byte. A search page is a function of the engine's answer to its request
(`search.shared_results`), of the article rows it showed (checked on every request), of
what the `listing` counter covers (labels, vocabulary, taxonomy), of the day and of the
code; the `search` counter covers only the engine's answer. So a page stores, beside
itself, the request(s) it asked the engine, a fingerprint of each answer without its
scores, and the scores. When only the `search` counter has moved since (same `listing`, same
rows), the engine is asked again (the answer is then shared with the other page of the
query) and, if every fingerprint is the same, the stored page is what a rebuild would
make: it is served and kept under the new counter ("revalidated", as CDNs say of a copy
their origin confirmed). Any difference, or an error, and the page is built afresh.

What a page shows of an answer: everything in it (ids and their order, highlights,
sections, picks, totals, facet counts, suggestions, corrections, the question's reading)
is in the fingerprint, except the hits' scores, which are kept beside it. An HTML
results page never shows a score. The JSON API does, and with Whoosh's BM25 they move with every
write (the collection's document count and average length are in every score), most
often while nothing else in the answer does: its stored JSON then gets the new scores
(`search.views.rescored`, the same bytes a rebuild makes) and a new ETag.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
from dataclasses import dataclass, field

from search.backends.base import SearchPage, SearchQuery

#: One engine answer a page was built from: the request (without its vocabulary), the
#: answer's fingerprint without scores, and the hits' scores by slug, in rank order.
Answer = tuple[SearchQuery, str, tuple[tuple[str, float], ...]]


@dataclass
class Asked:
    """The engine answers used while one search page is built."""

    answers: list[Answer] = field(default_factory=list)


_asked: contextvars.ContextVar[Asked | None] = contextvars.ContextVar("page_asked", default=None)


def start() -> tuple[Asked, contextvars.Token]:
    """Note the answers of the page about to be built (`pagecache.middleware`)."""
    asked = Asked()
    return asked, _asked.set(asked)


def stop(token: contextvars.Token) -> None:
    _asked.reset(token)


def note(query: SearchQuery, page: SearchPage) -> None:
    """`search.shared_results`: the engine answered `query` with `page` for the page being
    built, if one is. The request is kept without its vocabulary, which the `listing`
    counter determines and which is read again when the answer is checked."""
    asked = _asked.get()
    if asked is not None:
        asked.answers.append(recorded(query, page))


def recorded(query: SearchQuery, page: SearchPage) -> Answer:
    kept = dataclasses.replace(query, vocabulary=None)
    return kept, fingerprint(page), tuple((hit.slug, hit.score) for hit in page.hits)


def fingerprint(page: SearchPage) -> str:
    """A digest of the answer without its scores (see the module docstring)."""
    unscored = dataclasses.replace(
        page, hits=[dataclasses.replace(hit, score=0.0) for hit in page.hits]
    )
    return hashlib.sha256(repr(unscored).encode()).hexdigest()


def asked_again(answers: list[Answer]) -> list[Answer] | None:
    """The engine asked again now for each answer: the new answers if all but their
    scores are as they were, else None (the page must be built). Called under the
    request's generation (`pagecache.models.request_state`), with the same `listing`
    counter as when the page was built: the vocabulary is that one's."""
    from search import shared_results
    from search.backends import get_backend
    from search.vocabulary import current_vocabulary

    if not answers:
        return None
    backend = get_backend()
    if not backend.exists():
        return None
    again = []
    for kept, digest, _scores in answers:
        query = dataclasses.replace(kept, vocabulary=current_vocabulary()) if kept.text else kept
        answer = recorded(query, shared_results.search(backend, query))
        if answer[1] != digest:
            return None
        again.append(answer)
    return again
