"""Postings files: every segment's `text` postings as arrays, equal to Whoosh's own.

A search reads a term from the segment's postings file instead of unpickling
Whoosh's blocks. These tests hold it to the same answers: the same documents,
weights and positions as the blocks for every term, the same results pages with
and without the files, files that live and die with their segments, and a missing,
damaged or failed file that leaves search working through the blocks.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from search.backends.base import SearchQuery
from search.backends.whoosh import backend as whoosh_backend
from search.backends.whoosh import internals, postings, view
from search.backends.whoosh.backend import WhooshBackend
from search.backends.whoosh.internals import _decode_many_deltas, _leaf_postings
from search.backends.whoosh.view import _occurrences
from tests.search.test_whoosh_internals import _doc, _leaves
from tests.search.test_whoosh_internals import backend as backend

QUERIES = [
    "lupus",
    "stem cell",
    '"stem cell"',
    "lupus fatigue",
    "remission -trial",
    "lupus OR fatigue",
    "SLE",
    "MS",
    "fatigue trial remission nowhere",
    "word7",
]


def _page(backend, text: str) -> tuple:
    page = backend.search(SearchQuery(text=text, per_page=50, synonyms=(("sle", "lupus"),)))
    return (
        [(h.id, h.score, h.highlight) for h in page.hits],
        page.total,
        page.facets,
        page.match,
        page.not_found,
    )


def test_every_segment_has_a_postings_file_equal_to_its_blocks(backend):
    terms = 0
    for reader, _offset in _leaves(backend):
        sidecar = internals._postings_file(reader)
        assert sidecar is not None
        for term in reader.lexicon("text"):
            token = term.decode("utf-8")
            ids, weights, values = _leaf_postings(reader, "text", token)
            got_ids, got_weights = sidecar.postings(token)
            assert got_ids.tolist() == ids
            assert got_weights.tolist() == np.array(weights, dtype=np.float32).tolist()
            deltas = _decode_many_deltas(values)
            expected = _occurrences(
                np.array(ids, dtype=np.int64),
                [d for ds in deltas for d in ds],
                list(map(len, deltas)),
            )
            assert sidecar.occurrences(token).tolist() == expected.tolist()
            terms += 1
    assert terms > 50
    assert sidecar.postings("absent")[0].size == 0 and sidecar.occurrences("absent").size == 0


def test_searches_answer_the_same_with_and_without_postings_files(backend, monkeypatch):
    with_files = {text: _page(backend, text) for text in QUERIES}
    assert with_files["lupus"][1] > 100 and with_files['"stem cell"'][1] > 0

    monkeypatch.setattr(view, "_postings_file", lambda reader: None)
    by_block = WhooshBackend("default", {"PATH": backend.path})
    try:
        assert {text: _page(by_block, text) for text in QUERIES} == with_files
        with by_block._lock:
            leaves = by_block._view()._leaves()
        assert all(leaf.data.postings_file is None for leaf in leaves)
    finally:
        by_block.close()


def test_a_search_reads_no_block_of_a_segment_with_a_postings_file(backend, monkeypatch):
    backend._view()._leaves()  # segment data (facets are read by block) loaded first
    calls = {"block": 0}
    blocks = internals._blocks

    def counted(matcher):
        calls["block"] += 1
        yield from blocks(matcher)

    monkeypatch.setattr(internals, "_blocks", counted)
    page = backend.search(SearchQuery(text='lupus "stem cell" fatigue', relax=False))
    assert page.total > 0
    assert calls["block"] == 0


def test_the_postings_file_is_inside_its_segment_and_goes_with_it(backend):
    directory = backend.path / backend._view().generation
    before = backend.search(SearchQuery(text="lupus", relax=False)).total
    for n in range(25):  # enough saves to make the index merge its small segments
        backend.index([_doc(700 + n, "lupus")])
    assert backend.search(SearchQuery(text="lupus", relax=False)).total == before + 25
    live = {reader.segment().segment_id() for reader, _offset in _leaves(backend)}
    assert not list(directory.glob("*" + postings.EXTENSION))  # packed, never loose
    for reader, _offset in _leaves(backend):
        assert reader.segment().is_compound()
        assert internals._postings_file(reader) is not None
    segment_files = {path.name.removesuffix(".seg") for path in directory.glob("*.seg")}
    assert segment_files == live  # merged-away segments are gone, their files with them
    assert len(live) < 25


def test_a_damaged_or_foreign_file_is_not_read_as_postings():
    handle = io.BytesIO()
    writer = postings.PostingsFileWriter(_Unclosed(handle), _decode_many_deltas)
    list(writer.tee([("text", b"lupus", 0, 1.0, _positions([3]))]))
    writer.close()
    whole = handle.getvalue()
    assert postings.PostingsFile.open(io.BytesIO(whole), len(whole)) is not None
    cut = whole[:-1]
    assert postings.PostingsFile.open(io.BytesIO(cut), len(cut)) is None
    empty = io.BytesIO()  # a segment with no searchable text (only vocabulary words)
    postings.PostingsFileWriter(_Unclosed(empty), _decode_many_deltas).close()
    opened = postings.PostingsFile.open(io.BytesIO(empty.getvalue()), len(empty.getvalue()))
    assert opened is not None and opened.postings("lupus")[0].size == 0
    foreign = b"\0" * len(whole)
    assert postings.PostingsFile.open(io.BytesIO(foreign), len(foreign)) is None
    assert postings.PostingsFile.open(io.BytesIO(b"short"), 5) is None


@pytest.fixture
def one_writer(monkeypatch):
    """Rebuilds write in this process, where the test's patches apply."""
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCESSES", 1)


def test_positions_past_sixteen_bits_are_kept(tmp_path, one_writer):
    backend = WhooshBackend("default", {"PATH": tmp_path / "index"})
    try:
        filler = "word " * 70_000
        backend.rebuild([_doc(1, f"{filler} bone marrow")])
        (reader, _offset), *_ = _leaves(backend)
        sidecar = internals._postings_file(reader)
        assert sidecar.occurrences("marrow").tolist()[-1] & 0xFFFFFFFF > 65_535
        assert backend.search(SearchQuery(text='"bone marrow"', relax=False)).total == 1
        assert backend.search(SearchQuery(text='"marrow bone"', relax=False)).total == 0
    finally:
        backend.close()


def test_a_failed_postings_file_leaves_the_segment_searchable(
    tmp_path, monkeypatch, caplog, one_writer
):
    def broken(values):
        raise ValueError("cannot decode")

    monkeypatch.setattr(internals, "_decode_many_deltas", broken)
    backend = WhooshBackend("default", {"PATH": tmp_path / "index"})
    try:
        backend.rebuild(_doc(n) for n in range(1, 40))
        monkeypatch.setattr(internals, "_decode_many_deltas", _decode_many_deltas)
        (reader, _offset), *_ = _leaves(backend)
        assert internals._postings_file(reader) is None
        assert "postings file" in caplog.text
        assert backend.search(SearchQuery(text='"stem cell"', relax=False)).total > 0
    finally:
        backend.close()


class _Unclosed:
    """A file object whose close() keeps the bytes readable."""

    def __init__(self, handle: io.BytesIO) -> None:
        self.handle = handle

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def close(self) -> None:
        pass


def _positions(found: list[int]) -> bytes:
    from whoosh.formats import Positions

    return Positions().encode(found)


@pytest.mark.django_db
def test_check_index_advises_a_rebuild_for_segments_without_postings_files(
    whoosh_index, monkeypatch, one_writer
):
    from django.core.management import call_command

    from search.backends import reset_backends
    from search.index import rebuild
    from tests.conftest import make_article

    def check() -> str:
        out = io.StringIO()
        call_command("check_index", stdout=out)
        return out.getvalue()

    make_article(slug="one")
    monkeypatch.setattr(view, "_postings_file", lambda reader: None)  # as an older index
    rebuild()
    assert "1 of 1 index segments were written before postings files existed" in check()

    monkeypatch.undo()
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCESSES", 1)
    reset_backends()
    assert "postings files" not in check()
