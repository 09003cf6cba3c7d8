"""Postings files: each segment's `text` postings as plain arrays, read without unpickling.

Whoosh stores a term's postings as pickled, zlib-compressed blocks, and each posting's
positions as a pickled list of deltas, so the first search for a common word in a
process unpickles every block of it and, for a phrase, every posting's positions: a
cost that grows with the library. When a writer flushes a segment (`internals._Writer`,
for saves, merges and each rebuild process alike), the same postings, on their way to
Whoosh's codec, are also written to a postings file, `<segment id>.npp`: per term, the
local document numbers (int32), the weights (float32, the precision Whoosh keeps), the
number of positions of each posting and the positions themselves (uint16 when the
term's fit, else uint32). Reading a term is then one read and `np.frombuffer`, and its
positions one more.

Whoosh packs the file into the segment's compound file with its own files, so it is
written, checked for truncation (`backend._check_segment_files`), merged and deleted
with its segment.

Layout, little-endian: one block per term in the order Whoosh writes them (ids,
weights, counts, positions), then the term table (block offset, postings, positions,
width of counts and positions), the term names' lengths and the names, and a trailer:
`_HEAD` (where the table starts, how many terms there are, how long the file is), then
`_TAIL`, the last 16 bytes, laid out alike in every version: the format `VERSION`, a
CRC-32 of every byte before it (the version included), and the magic number. A
change to the layout, or to what the arrays mean, must raise `VERSION`.

A file is read as postings only if it is whole, unchanged and of this `VERSION`.
Otherwise `PostingsFile.open` raises `UnknownVersion` (another version's file, or one
written before files carried a version) or `Damaged` (cut short, a failed write, a
changed byte); the segment is then read through Whoosh's blocks, with the same
results, `check_index` names it, and a rebuild (`check_index --fix`) rewrites it, as
it gives a segment written before postings files existed one.

The checksum is verified once per process and segment, when the segment is first
opened (`view._SegmentData`), by reading the file through once; term reads then trust
it. That is enough because a segment is written once and never changed: whatever
spoils its file (a write cut short or failed, another release's layout, bytes changed
on disk or in a copy) has happened by the time a process opens it, and a change after
that is found by the next process to open it (a restarted worker, `check_index`). The
one change a running process must not miss, its segment file cut short, is what
`backend._check_segment_files` checks before every search, and a term read cut short
raises instead of answering with part of its arrays.
"""

from __future__ import annotations

import itertools
import logging
import struct
import zlib
from collections.abc import Iterable, Iterator

import numpy as np

logger = logging.getLogger("search")

EXTENSION = ".npp"
FIELD = "text"  # the one positional field searches read (see `schema.build_schema`)
VERSION = 2  # of the layout below; files without a version field were version 1
_MAGIC = b"STEMPOST"
_UNVERSIONED = b"STEMNPP1"  # the magic number of the files written before versions
# term count, table offset, names offset, names length, file length
_HEAD = struct.Struct("<QQQQQ")
# version, CRC-32 of every byte before the checksum, magic: the same in every version
_TAIL = struct.Struct("<II8s")
_SUMMED = 4  # how much of `_TAIL` (the version) the checksum covers
_TRAILER_SIZE = _HEAD.size + _TAIL.size
_CHUNK = 1 << 20  # how much of the file is read at a time to verify its checksum
_TABLE = np.dtype([("offset", "<i8"), ("postings", "<i8"), ("positions", "<i8"), ("wide", "u1")])
_NARROW, _WIDE = np.dtype("<u2"), np.dtype("<u4")
_NARROW_MAX = int(np.iinfo(_NARROW).max)
# Terms converted together: a batch ends at this many terms or postings, whichever
# comes first, so a rebuild's writer, whose common terms have thousands of postings
# each, keeps a bounded number of postings as Python objects.
_BATCH_TERMS = 2_000
_BATCH_POSTINGS = 20_000


class Unreadable(Exception):
    """Why a postings file is not read as postings; `str()` is what follows "postings
    file" in a report: "damaged (fails its checksum)"."""

    kind = ""

    def __str__(self) -> str:
        return f"{self.kind} ({self.args[0]})"


class UnknownVersion(Unreadable):
    """A whole file of a layout this code does not read (another `VERSION`, or one
    written before files carried a version): only a rewrite upgrades it."""

    kind = "of an unknown version"


class Damaged(Unreadable):
    """A file that is not as it was written: cut short, unfinished, or failing its
    checksum."""

    kind = "damaged"


def positions_within_documents(steps: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Absolute positions from per-document position deltas (`counts` per document):
    a running sum restarted at the start of each document."""
    if not len(steps):
        return np.zeros(0, dtype=np.int64)
    running = np.cumsum(steps)
    firsts = np.cumsum(counts) - counts  # where each document's deltas start
    firsts = firsts[counts > 0]
    before = np.repeat(running[firsts] - steps[firsts], counts[counts > 0])
    return running - before


class PostingsFileWriter:
    """Writes the postings file of a segment from the postings Whoosh is writing.

    `tee()` passes Whoosh's sorted posting stream through unchanged while keeping one
    term of the `text` field at a time; `close()` writes the table and trailer. A
    failure here is logged and leaves the file without a trailer (so it is never read:
    `Damaged`), never stopping Whoosh's own write.
    """

    def __init__(self, handle, decode_deltas) -> None:
        self.handle = handle
        self.decode_deltas = decode_deltas  # internals._decode_many_deltas
        self.offset = 0
        self.checksum = 0  # CRC-32 of what is written so far
        self.names: list[bytes] = []
        self.rows: list[tuple[int, int, int, int]] = []
        self.failed = False
        # Terms kept until `_write_terms`: (term, index of its first posting), and the
        # postings' ids, weights and encoded positions.
        self.pending: list[tuple[bytes, int]] = []
        self.ids: list[int] = []
        self.weights: list[float] = []
        self.values: list[bytes] = []

    def _write(self, data: bytes) -> None:
        self.handle.write(data)
        self.checksum = zlib.crc32(data, self.checksum)

    def tee(self, postings: Iterable[tuple]) -> Iterator[tuple]:
        """Whoosh's (field, term, docnum, weight, value) postings, unchanged."""
        term = None
        for posting in postings:
            if posting[0] == FIELD:
                if posting[1] != term:
                    if len(self.pending) >= _BATCH_TERMS or len(self.ids) >= _BATCH_POSTINGS:
                        self._write_terms()
                    term = posting[1]
                    self.pending.append((term, len(self.ids)))
                self.ids.append(posting[2])
                self.weights.append(posting[3])
                self.values.append(posting[4])
            yield posting
        self._write_terms()

    def _write_terms(self) -> None:
        """Write the terms kept so far, converted together: one unpickling of all their
        position deltas and a few array operations for the batch, instead of a dozen
        small ones per term (most of a save's terms have one posting)."""
        pending, ids, weights, values = self.pending, self.ids, self.weights, self.values
        self.pending, self.ids, self.weights, self.values = [], [], [], []
        if self.failed or not pending:
            return
        try:
            deltas = self.decode_deltas(values)
            counts = np.fromiter(map(len, deltas), dtype=np.int64, count=len(deltas))
            starts = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=starts[1:])
            steps = np.fromiter(
                itertools.chain.from_iterable(deltas), dtype=np.int64, count=int(starts[-1])
            )
            positions = positions_within_documents(steps, counts)
            id_array = np.array(ids, dtype="<i4")
            weight_array = np.array(weights, dtype="<f4")
            narrow_max = _NARROW_MAX
            all_narrow = not (
                (len(positions) and positions.max() > narrow_max)
                or (len(counts) and counts.max() > narrow_max)
            )
            narrow_counts, narrow_positions = counts.astype(_NARROW), positions.astype(_NARROW)
            ends = [first for _term, first in pending[1:]] + [len(ids)]
            for (term, first), end in zip(pending, ends, strict=True):
                term_counts, term_positions = (
                    counts[first:end],
                    positions[starts[first] : starts[end]],
                )
                wide = not all_narrow and bool(
                    (len(term_positions) and term_positions.max() > narrow_max)
                    or term_counts.max() > narrow_max
                )
                if wide:
                    count_part, position_part = (
                        term_counts.astype(_WIDE),
                        term_positions.astype(_WIDE),
                    )
                else:
                    count_part = narrow_counts[first:end]
                    position_part = narrow_positions[starts[first] : starts[end]]
                data = b"".join(
                    (
                        id_array[first:end].tobytes(),
                        weight_array[first:end].tobytes(),
                        count_part.tobytes(),
                        position_part.tobytes(),
                    )
                )
                self._write(data)
                self.names.append(term)
                self.rows.append((self.offset, end - first, len(position_part), int(wide)))
                self.offset += len(data)
        except Exception:
            logger.exception("Could not write the postings file; this segment is read by block")
            self.failed = True

    def close(self) -> None:
        """Write the term table, the names and the trailer, then close the file."""
        try:
            if not self.failed:
                table = np.array(self.rows, dtype=_TABLE)
                lengths = np.array([len(name) for name in self.names], dtype="<i4")
                names = b"".join(self.names)
                table_offset = self.offset
                names_offset = table_offset + table.nbytes + lengths.nbytes
                length = names_offset + len(names) + _TRAILER_SIZE
                self._write(table.tobytes())
                self._write(lengths.tobytes())
                self._write(names)
                self._write(
                    _HEAD.pack(len(self.names), table_offset, names_offset, len(names), length)
                )
                self._write(_TAIL.pack(VERSION, 0, _MAGIC)[:_SUMMED])  # summed too
                self.handle.write(_TAIL.pack(VERSION, self.checksum, _MAGIC)[_SUMMED:])
        finally:
            self.handle.close()


class PostingsFile:
    """A segment's postings file, open for reading; see the module docstring.

    `handle` is a Whoosh file object (`seek`, `read`) shared with the segment's
    reader, so it is read under the backend's search lock like the reader is.
    """

    def __init__(self, handle, table: np.ndarray, terms: dict[bytes, int]) -> None:
        self.handle = handle
        self.table = table
        self.terms = terms

    @classmethod
    def open(cls, handle, length: int) -> PostingsFile:
        """The file behind `handle` (`length` bytes long), once it is found whole, of
        this `VERSION` and matching its checksum; else `UnknownVersion` or `Damaged`.

        The one place the whole file is read (see the module docstring for why once
        is enough): a read that `postings()` and `occurrences()` then never repeat.
        """
        if length < _TAIL.size:
            raise Damaged(f"cut short to {length} bytes, no trailer")
        version, checksum, magic = _TAIL.unpack(
            _read_exactly(handle, length - _TAIL.size, _TAIL.size)
        )
        if magic == _UNVERSIONED:
            raise UnknownVersion("written before postings files carried one")
        if magic != _MAGIC:
            raise Damaged("no trailer: cut short, or its writing failed")
        if _checksum(handle, length - _TAIL.size + _SUMMED) != checksum:
            raise Damaged("fails its checksum: changed since it was written")
        if version != VERSION:
            raise UnknownVersion(f"version {version}; this code reads version {VERSION}")
        if length < _TRAILER_SIZE:
            raise Damaged("a trailer that does not add up")
        head = _read_exactly(handle, length - _TRAILER_SIZE, _HEAD.size)
        count, table_offset, names_offset, names_length, total = _HEAD.unpack(head)
        table_end = table_offset + count * _TABLE.itemsize
        if (
            total != length
            or names_offset != table_end + count * 4
            or names_offset + names_length + _TRAILER_SIZE != length
        ):
            raise Damaged("a trailer that does not add up")
        table = np.frombuffer(_read_exactly(handle, table_offset, count * _TABLE.itemsize), _TABLE)
        lengths = np.frombuffer(handle.read(count * 4), dtype="<i4")
        names = handle.read(names_length)
        if len(lengths) != count or len(names) != names_length:
            raise Damaged("cut short")
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]] if ends else []
        terms = {names[s:e]: i for i, (s, e) in enumerate(zip(starts, ends, strict=True))}
        return cls(handle, table, terms)

    def _read(self, offset: int, size: int) -> bytes:
        self.handle.seek(offset)
        data = self.handle.read(size)
        if len(data) != size:
            raise OSError(f"postings file cut short at byte {offset}")
        return data

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The term's local document numbers (int32) and weights (float32): one read."""
        row = self.terms.get(term.encode("utf-8"))
        if row is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        offset, count = int(self.table["offset"][row]), int(self.table["postings"][row])
        data = self._read(offset, 8 * count)
        return (
            np.frombuffer(data, dtype="<i4", count=count),
            np.frombuffer(data, dtype="<f4", count=count, offset=4 * count),
        )

    def occurrences(self, term: str) -> np.ndarray:
        """Every occurrence of the term as `local docnum << 32 | position`, sorted: the
        term's whole block in one read."""
        row = self.terms.get(term.encode("utf-8"))
        if row is None:
            return np.zeros(0, dtype=np.int64)
        entry = self.table[row]
        offset, count, found = int(entry["offset"]), int(entry["postings"]), int(entry["positions"])
        width = _WIDE if entry["wide"] else _NARROW
        data = self._read(offset, 8 * count + width.itemsize * (count + found))
        ids = np.frombuffer(data, dtype="<i4", count=count).astype(np.int64)
        rest = np.frombuffer(data, dtype=width, offset=8 * count).astype(np.int64)
        counts, positions = rest[:count], rest[count:]
        return (np.repeat(ids, counts) << 32) | positions


def _read_exactly(handle, offset: int, size: int) -> bytes:
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise Damaged(f"cut short at byte {offset + len(data)}")
    return data


def _checksum(handle, size: int) -> int:
    """CRC-32 of the first `size` bytes, read `_CHUNK` at a time."""
    checksum, offset = 0, 0
    handle.seek(0)
    while offset < size:
        chunk = handle.read(min(_CHUNK, size - offset))
        if not chunk:
            raise Damaged(f"cut short at byte {offset}")
        checksum = zlib.crc32(chunk, checksum)
        offset += len(chunk)
    return checksum
