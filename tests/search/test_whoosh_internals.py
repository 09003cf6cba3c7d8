"""Canary for the Whoosh backend's fast path through Whoosh's private structures.

`search.backends.whoosh.internals` reads whole posting blocks from Whoosh 2.7's
`W3LeafMatcher` instead of stepping a matcher posting by posting. If a Whoosh
release changed those structures, the code would silently fall back to the public
(much slower) matcher API and every search would slow down. These tests fail
instead: the block path must be the one taken, and it must return exactly what
Whoosh's public matcher API returns, over a small real index with several
segments, deletions and terms spanning several posting blocks.
"""

from __future__ import annotations

import datetime

import pytest
from whoosh.codec.whoosh3 import W3LeafMatcher

from search.backends.base import SearchDocument, SearchQuery
from search.backends.whoosh import backend as whoosh_backend
from search.backends.whoosh import internals, view
from search.backends.whoosh.backend import WhooshBackend
from search.backends.whoosh.internals import _leaf_postings
from search.backends.whoosh_analysis import analyse

UPDATED = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)
WORDS = ("lupus", "remission", "stem cell", "fatigue", "trial")
TERMS = analyse("lupus remission stem cell fatigue trial word7 absent")


def _doc(n: int, extra: str = "") -> SearchDocument:
    return SearchDocument(
        id=n,
        slug=f"article-{n}",
        title=f"Report {n:04d} on {WORDS[n % 5]}",
        summary="A short summary.",
        body=f"{WORDS[n % 5]} and {WORDS[n % 3]} studied word{n % 10} {extra}",
        taxonomy=("Lupus", "SLE") if n % 2 else ("Multiple sclerosis",),
        tag_names=(),
        diseases=("lupus",) if n % 2 else ("ms",),
        therapies=(),
        tags=("trial",) if n % 7 == 0 else (),
        published_on=datetime.date(2020 + n % 5, 1, 1 + n % 28),
        updated_at=UPDATED,
    )


@pytest.fixture
def backend(tmp_path, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCESSES", 1)
    backend = WhooshBackend("default", {"PATH": tmp_path / "index"})
    backend.rebuild(_doc(n) for n in range(1, 601))  # "lupus": several 128-posting blocks
    backend.index([_doc(n, "lupus fatigue") for n in (3, 10, 250)])  # a segment, deletions
    yield backend
    backend.close()


def _leaves(backend):
    with backend._lock:
        view = backend._view()
        return [(r, offset) for r, offset in view.searcher.reader().leaf_readers()]


def _public(matcher) -> tuple[list, list, list]:
    """(ids, weights, values) through Whoosh's public matcher API, posting by posting."""
    ids, weights, values = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        values.append(matcher.value())
        matcher.next()
    return ids, weights, values


def test_the_index_uses_whooshs_block_matcher(backend):
    leaves = _leaves(backend)
    assert len(leaves) == 2
    assert any(reader.has_deletions() for reader, _offset in leaves)
    for reader, _offset in leaves:
        matcher = reader.postings("text", TERMS[0])
        assert type(getattr(matcher, "child", matcher)) is W3LeafMatcher


def test_block_reads_equal_the_public_matcher_api(backend):
    longest = 0
    for reader, _offset in _leaves(backend):
        for term in TERMS:
            fast = _leaf_postings(reader, "text", term)
            if ("text", term) not in reader:
                assert fast == ([], [], [])
                continue
            longest = max(longest, len(fast[0]))
            # _leaf_postings includes deleted documents (callers intersect with the
            # live set); without them it is exactly what the public matcher yields.
            deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
            keep = [i for i, docnum in enumerate(fast[0]) if docnum not in deleted]
            live = tuple([column[i] for i in keep] for column in fast)
            assert live == _public(reader.postings("text", term))
    assert longest > 128  # several of Whoosh's 128-posting blocks


def test_a_search_reads_postings_by_block_never_posting_by_posting(backend, monkeypatch):
    calls = {"block": 0, "posting": 0}
    blocks, value = internals._blocks, W3LeafMatcher.value

    def counted_blocks(matcher):
        for block in blocks(matcher):
            calls["block"] += 1
            yield block

    def counted_value(self):
        calls["posting"] += 1
        return value(self)

    monkeypatch.setattr(internals, "_blocks", counted_blocks)
    monkeypatch.setattr(W3LeafMatcher, "value", counted_value)  # the slow path reads each
    # Segments without a postings file (see test_whoosh_postings.py) are read by block.
    monkeypatch.setattr(view, "_postings_file", lambda reader: None)
    backend.close()
    page = backend.search(SearchQuery(text='lupus "stem cell"', relax=False))
    assert page.total > 0
    assert calls["block"] > 0
    assert calls["posting"] == 0
