"""The Whoosh backend's cross-search cache of per-segment postings, positions and matches.

Searches keep what they read from each (immutable) segment in a bounded LRU
(`TermCache`). These tests pin down what that must never change: the answers (the
same with no room in the cache as with plenty, and before and after warming it),
what an editor's save shows (new, edited and deleted articles, merges), and the
memory bound.
"""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from search.backends.base import SearchQuery, Vocabulary
from search.backends.whoosh import backend as whoosh_backend
from search.backends.whoosh import internals, postings, writing
from search.backends.whoosh.backend import WhooshBackend
from search.backends.whoosh.internals import _decode_deltas, _decode_many_deltas
from search.backends.whoosh.view import TermCache
from tests.search.test_whoosh_internals import _doc

SYNONYMS = (("Multiple sclerosis", "MS"), ("Stem cell", "stem-cell therapy"))
QUERIES = [
    SearchQuery(text="lupus", relax=False),
    SearchQuery(text='"stem cell"', relax=False),
    SearchQuery(text="stem cell remission", page=2, relax=False),
    SearchQuery(text="MS fatigue", synonyms=SYNONYMS),
    SearchQuery(text="lupus -fatigue", ordering="title"),
    SearchQuery(text="trial OR remission", ordering="published_on", page=3),
    SearchQuery(text="cell lupus word7 absent nothing", synonyms=SYNONYMS),
    SearchQuery(text="", diseases=("lupus",), per_page=50),
    SearchQuery(text="", ordering="-published_on", page=4),
]


def _backend(path, cache_bytes: int | None = None) -> WhooshBackend:
    params: dict = {"PATH": path}
    if cache_bytes is not None:
        params["CACHE_BYTES"] = cache_bytes
    return WhooshBackend("default", params)


@pytest.fixture
def index_path(tmp_path, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCESSES", 1)
    backend = _backend(tmp_path / "index")
    backend.rebuild(_doc(n) for n in range(1, 601))
    backend.index([_doc(n, "lupus fatigue") for n in (3, 10, 250)])  # a segment, deletions
    backend.close()
    return tmp_path / "index"


def _answers(backend) -> list[dict]:
    return [dataclasses.asdict(backend.search(query)) for query in QUERIES]


def test_answers_are_the_same_with_no_room_in_the_cache_and_with_plenty(index_path):
    uncached = _backend(index_path, cache_bytes=0)
    cached = _backend(index_path)
    try:
        expected = _answers(uncached)
        assert len(uncached._terms) == 0
        assert _answers(cached) == expected  # filling the cache
        assert len(cached._terms) > 0
        assert _answers(cached) == expected  # answered from it
    finally:
        uncached.close()
        cached.close()


def test_a_repeated_search_reads_no_postings_again(index_path, monkeypatch):
    backend = _backend(index_path)
    reads = {"blocks": 0}
    blocks = internals._blocks

    def counted(matcher):
        for block in blocks(matcher):
            reads["blocks"] += 1
            yield block

    read_file = postings.PostingsFile._read

    def counted_file(self, *args):
        reads["file"] += 1
        return read_file(self, *args)

    reads["file"] = 0
    monkeypatch.setattr(internals, "_blocks", counted)
    monkeypatch.setattr(postings.PostingsFile, "_read", counted_file)
    query = SearchQuery(text='lupus "stem cell" fatigue', relax=False)
    first = backend.search(query)
    assert reads["file"] > 0  # the terms, from the segments' postings files
    reads["blocks"] = reads["file"] = 0
    assert backend.search(query) == first
    assert reads == {"blocks": 0, "file": 0}
    backend.close()


def test_a_save_after_searches_shows_at_once_in_every_kind_of_answer(index_path):
    backend = _backend(index_path)
    _answers(backend)  # warm
    before = backend.search(SearchQuery(text='"stem cell" remission', relax=False, per_page=100))
    assert 9 not in {hit.id for hit in before.hits}
    edited = dataclasses.replace(_doc(9), body="stem cell remission, new text")
    backend.index([edited])
    after = backend.search(SearchQuery(text='"stem cell" remission', relax=False, per_page=100))
    assert 9 in {hit.id for hit in after.hits}
    assert after.total == before.total + 1
    backend.remove([9])
    gone = backend.search(SearchQuery(text='"stem cell" remission', relax=False, per_page=100))
    assert gone.total == before.total
    assert 9 not in {hit.id for hit in gone.hits}
    backend.close()


def test_merged_segments_leave_the_cache(index_path, monkeypatch):
    monkeypatch.setattr(writing, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(whoosh_backend, "MAX_SEGMENTS", 3)
    backend = _backend(index_path)
    for n in range(20, 26):  # each save is a segment; past three, the small ones merge
        backend.index([_doc(n, "lupus fatigue")])
        backend.search(SearchQuery(text="lupus fatigue", relax=False))
    with backend._lock:
        view = backend._view()
        live = {r.segment().segment_id() for r, _o in view.searcher.reader().leaf_readers()}
    assert len(live) <= 3 + 1  # merged: fewer segments than saves
    assert {key[0] for key in backend._terms._entries} <= live
    fresh = _backend(index_path, cache_bytes=0)
    query = SearchQuery(text="lupus fatigue", relax=False, per_page=100)
    assert backend.search(query) == fresh.search(query)
    fresh.close()
    backend.close()


def test_the_cache_stays_within_its_bound_dropping_the_least_recently_used():
    cache = TermCache(max_bytes=3 * (8000 + 200))
    for n in range(3):
        cache.put(("segment", "term", str(n)), (np.zeros(1000, dtype=np.int64),))
    assert cache.get(("segment", "term", "0")) is not None  # now the most recent
    cache.put(("segment", "term", "3"), (np.zeros(1000, dtype=np.int64),))
    assert cache.bytes <= cache.max_bytes
    assert cache.get(("segment", "term", "1")) is None  # the least recently used went
    assert cache.get(("segment", "term", "0")) is not None
    cache.put(("segment", "term", "big"), (np.zeros(10**6, dtype=np.int64),))
    assert cache.get(("segment", "term", "big")) is None  # larger than the bound: not kept
    cache.forget({"other"})
    assert len(cache) == 0
    assert cache.bytes == 0


def test_positions_decoded_together_equal_positions_decoded_one_by_one():
    values = []
    for deltas in ([5], [1, 2], [0, 65535, 70000, 2**31], list(range(300))):
        encoded = pickle.dumps(deltas, 2)
        values.append(b"\x00\x00\x00\x01" + encoded)
        values.append(b"\x00\x00\x00\x01" + encoded[:-1])  # stored without the STOP
    assert _decode_many_deltas(values) == [_decode_deltas(v) for v in values]
    assert _decode_many_deltas([]) == []


def test_did_you_mean_sees_a_saved_word_at_once(index_path):
    backend = _backend(index_path)
    query = SearchQuery(text="zorbaxe", relax=False)
    assert backend.search(query).corrected is None
    assert backend.search(query).corrected is None  # remembered: still nothing to offer
    renamed = dataclasses.replace(_doc(9), title="Report on zorbaxa")
    backend.index([renamed])
    corrected = backend.search(query)
    assert corrected.corrected == "zorbaxa"
    assert [hit.id for hit in corrected.hits] == [9]
    backend.close()


def test_a_changed_section_shows_under_the_next_answer(index_path):
    """The answer stage's details (title, topics, sections) are remembered per view:
    a changed index gives a new view, and the next question sees the article as saved."""
    backend = _backend(index_path)
    question = SearchQuery(text="zorbflare lupus", vocabulary=Vocabulary())

    def section() -> tuple[int, str]:
        hit = backend.search(question).hits[0]
        return hit.id, hit.section.heading if hit.section else ""

    body = "Intro.\n{heading}\nZorbflare in lupus is rare."
    for heading in ("Risks", "Side effects"):
        saved = dataclasses.replace(
            _doc(9),
            body=body.format(heading=heading),
            sections=((heading, heading.lower().replace(" ", "-"), len("Intro.\n")),),
        )
        # Rebuilt, so that the article keeps its document number in the new index.
        backend.rebuild(saved if n == 9 else _doc(n) for n in range(1, 601))
        assert section() == (9, heading)
        assert section() == (9, heading)  # remembered: the same
    backend.close()
