"""Postings files: every segment's `text` postings as arrays, equal to Whoosh's own.

A search reads a term from the segment's postings file instead of unpickling
Whoosh's blocks. These tests hold it to the same answers: the same documents,
weights and positions as the blocks for every term, the same results pages with
and without the files, files that live and die with their segments, and a missing,
failed, damaged (a changed byte, cut short) or unknown-version file (another
version's, or one written before files carried a version) that is never read as
postings: search works through the blocks with the same results, `check_index` names
the segment and the problem in one line, and `check_index --fix` rewrites it.
"""

from __future__ import annotations

import io
import logging
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from search.backends import get_backend, reset_backends
from search.backends.base import SearchQuery
from search.backends.whoosh import backend as whoosh_backend
from search.backends.whoosh import internals, postings, view
from search.backends.whoosh.backend import WhooshBackend
from search.backends.whoosh.internals import _decode_many_deltas, _leaf_postings
from search.backends.whoosh.view import _occurrences
from search.index import rebuild
from tests.conftest import make_article
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
    _assert_postings_files_equal_blocks(backend)


@pytest.mark.parametrize("batch_terms, batch_postings", [(3, 10_000), (2_000, 7)])
def test_postings_files_are_the_same_wherever_a_batch_of_terms_ends(
    tmp_path, monkeypatch, batch_terms, batch_postings
):
    # Terms are converted in batches that end at a number of terms or of postings
    # (a rebuild's common terms have hundreds each): small batches of either kind
    # must write the same postings as one term at a time would.
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCESSES", 1)
    monkeypatch.setattr(postings, "_BATCH_TERMS", batch_terms)
    monkeypatch.setattr(postings, "_BATCH_POSTINGS", batch_postings)
    small = WhooshBackend("default", {"PATH": tmp_path / "small-batches"})
    try:
        small.rebuild(_doc(n) for n in range(1, 301))
        small.index([_doc(n, "lupus fatigue") for n in (3, 10, 250)])
        _assert_postings_files_equal_blocks(small)
    finally:
        small.close()


def _assert_postings_files_equal_blocks(backend) -> None:
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


def _written(*postings_of_terms: tuple) -> bytes:
    """A postings file as the writer writes it, for `(term, docnum, positions)`."""
    handle = io.BytesIO()
    writer = postings.PostingsFileWriter(_Unclosed(handle), _decode_many_deltas)
    stream = [("text", term, doc, 1.0, _positions(found)) for term, doc, found in postings_of_terms]
    list(writer.tee(stream))
    writer.close()
    return handle.getvalue()


def _open(data: bytes) -> postings.PostingsFile:
    return postings.PostingsFile.open(io.BytesIO(data), len(data))


def test_a_whole_file_opens_and_reads_its_postings():
    opened = _open(_written((b"lupus", 0, [3]), (b"lupus", 2, [1, 4])))
    assert opened.postings("lupus")[0].tolist() == [0, 2]
    assert opened.occurrences("lupus").tolist() == [3, 2 << 32 | 1, 2 << 32 | 4]
    empty = _written()  # a segment with no searchable text (only vocabulary words)
    assert _open(empty).postings("lupus")[0].size == 0


def test_a_changed_byte_anywhere_is_damage_never_postings():
    whole = _written((b"lupus", 0, [3]), (b"remission", 1, [5, 9]))
    for at in range(len(whole)):  # blocks, table, names, trailer, version, checksum, magic
        changed = bytearray(whole)
        changed[at] ^= 0x10
        with pytest.raises(postings.Damaged):
            _open(bytes(changed))


def test_a_file_cut_short_is_damage_never_postings():
    whole = _written((b"lupus", 0, [3]))
    for size in range(len(whole)):
        with pytest.raises(postings.Damaged, match=r"cut short|no trailer"):
            _open(whole[:size])
    foreign = b"\0" * len(whole)
    with pytest.raises(postings.Damaged):
        _open(foreign)


def test_another_version_or_none_is_an_unknown_version_never_postings():
    whole = _written((b"lupus", 0, [3]))
    with pytest.raises(postings.UnknownVersion, match=f"version {postings.VERSION + 1};"):
        _open(_other_version(whole))
    with pytest.raises(postings.UnknownVersion, match="written before postings files carried"):
        _open(_unversioned(whole))


def _other_version(data: bytes) -> bytes:
    """The file as a release with the next layout version would write it: whole, with
    a checksum that matches."""
    summed = data[:-12] + struct.pack("<I", postings.VERSION + 1)
    return summed + struct.pack("<I", zlib.crc32(summed)) + data[-8:]


def _unversioned(data: bytes) -> bytes:
    """The file as the writer before versions and checksums wrote it (the same
    blocks and table, then magic, term count, table offset, names offset, names
    length, file length and magic again)."""
    payload = data[: -postings._TRAILER_SIZE]
    *fields, _length = postings._HEAD.unpack(data[-postings._TRAILER_SIZE : -16])
    old = struct.Struct("<8sQQQQQ8s")
    return payload + old.pack(b"STEMNPP1", *fields, len(payload) + old.size, b"STEMNPP1")


def _flip_a_byte(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[len(data) // 3] ^= 0x01  # within the term blocks
    return bytes(changed)


def _cut_short(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


DAMAGE = {
    "another version": (_other_version, postings.UnknownVersion),
    "a flipped byte": (_flip_a_byte, postings.Damaged),
    "cut short": (_cut_short, postings.Damaged),
    "no version": (_unversioned, postings.UnknownVersion),
}


def _rewrite_postings_file(directory: Path, change) -> str:
    """Replace the postings file inside the largest segment's compound file with
    `change(its bytes)`, as if Whoosh had packed that: the new bytes go after the old
    ones and the compound file's directory points at them. Returns the segment id."""
    segment = max(directory.glob("*.seg"), key=lambda path: path.stat().st_size)
    data = segment.read_bytes()
    directory_at, _length = struct.unpack("!qi", data[:12])  # CompoundStorage's header
    stream = io.BytesIO(data[directory_at:])
    files, options = pickle.load(stream), pickle.load(stream)
    name = next(name for name in files if name.endswith(postings.EXTENSION))
    entry = files[name]
    new = change(data[entry["offset"] : entry["offset"] + entry["length"]])
    files[name] = {**entry, "offset": directory_at, "length": len(new)}
    tail = pickle.dumps(files, -1) + pickle.dumps(options, -1)
    header = struct.pack("!qi", directory_at + len(new), len(tail))
    segment.write_bytes(header + data[12:directory_at] + new + tail)
    return segment.stem


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_spoilt_file_is_read_by_block_with_the_same_results(backend, monkeypatch, caplog, damage):
    change, problem = DAMAGE[damage]
    with monkeypatch.context() as patch:
        patch.setattr(view, "_postings_file", lambda reader: None)
        by_block = WhooshBackend("default", {"PATH": backend.path})
        expected = {text: _page(by_block, text) for text in QUERIES}
        by_block.close()
    backend.close()
    segment = _rewrite_postings_file(backend.path / backend._pointer(), change)

    worker = WhooshBackend("default", {"PATH": backend.path})  # one started after the damage
    try:
        with caplog.at_level(logging.WARNING, logger="search"):
            assert {text: _page(worker, text) for text in QUERIES} == expected
        spoilt = [data for data in worker._segment_data() if data.segment_id == segment]
        assert spoilt[0].postings_file is None
        assert isinstance(spoilt[0].postings_problem, problem)
        others = [data for data in worker._segment_data() if data.segment_id != segment]
        assert others and all(data.postings_file is not None for data in others)
        # The worker's log says so once, in one line, naming the segment.
        logged = [record for record in caplog.records if segment in record.getMessage()]
        assert len(logged) == 1 and logged[0].exc_info is None
        assert str(spoilt[0].postings_problem) in logged[0].getMessage()
    finally:
        worker.close()


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
        with pytest.raises(postings.Damaged):
            internals._postings_file(reader)
        assert "postings file" in caplog.text
        assert backend.search(SearchQuery(text='"stem cell"', relax=False)).total > 0
        (line,) = backend.damaged_files()
        assert line.startswith(f"Index segment {reader.segment().segment_id()}: postings file")
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


def _check_index(*args: str) -> tuple[str, CommandError | None]:
    """What `check_index` prints and the error it ends with (manage.py prints its
    message, without a traceback)."""
    out = io.StringIO()
    try:
        call_command("check_index", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.mark.django_db
def test_check_index_advises_a_rebuild_for_segments_without_postings_files(
    whoosh_index, monkeypatch, one_writer
):
    make_article(slug="one")
    monkeypatch.setattr(view, "_postings_file", lambda reader: None)  # as an older index
    rebuild()
    out, error = _check_index()
    assert error is None
    assert "1 of 1 index segments were written before postings files existed" in out

    monkeypatch.undo()
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCESSES", 1)
    reset_backends()
    assert "postings files" not in _check_index()[0]


@pytest.mark.django_db
@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_check_index_names_a_spoilt_postings_file_in_one_line_and_fix_rewrites_it(
    whoosh_index, one_writer, caplog, damage
):
    change, problem = DAMAGE[damage]
    for n in range(1, 9):
        make_article(f"Lupus report {n}", slug=f"lupus-{n}", body=f"Stem cell therapy, year {n}.")
    rebuild()
    segment = _rewrite_postings_file(whoosh_index / (whoosh_index / "CURRENT").read_text(), change)
    reset_backends()  # a process started after the damage

    with caplog.at_level(logging.DEBUG):
        out, error = _check_index()
    (line,) = [line for line in out.splitlines() if segment in line]
    assert not caplog.records  # nothing logged, so no traceback either
    assert "Traceback" not in out
    if problem is postings.Damaged:
        assert line.startswith(f"Index segment {segment}: postings file damaged (")
        assert error is not None and error.returncode == 1
        assert "1 damaged file(s)" in str(error) and "check_index --fix" in str(error)
    else:  # searches work as well, more slowly: advice, not a failed check
        assert f"({segment}) have a postings file of an unknown version (" in line
        assert "check_index --fix" in line
        assert error is None

    out, error = _check_index("--fix")
    assert error is None, error
    assert "now matches the database" in out
    out, error = _check_index()
    assert error is None
    assert out.splitlines() == [
        "Database: 8 published articles. Index: 8 documents.",
        "The search index matches the database: 8 published articles indexed.",
    ]
    assert all(data.postings_file is not None for data in get_backend()._segment_data())
