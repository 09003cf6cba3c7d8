"""Every access to Whoosh's private structures, in one place.

The fast paths depend on Whoosh 2.7's codec internals: `W3LeafMatcher`'s posting
block layout as its `_goto` and `_read_*` methods read it (`_postfile`,
`_baseoffset`, `_fixedsize`, `_byteids`; a block is a signed length, a pickled
info tuple, then the possibly compressed pickle of ids, weights and values), the lengths
column (`LENGTHS_COLUMN`, `_<field>_len`), a reader's `_perdoc`, the TOC
(`Index._read_toc`, `Index._segments`), the Positions encoding, and a copied
`SegmentReader` that sees new deletions (`_with_deletions`), and the writer's new
segment and a reader's storage, through which each segment's postings file is
written and read (`_Writer`, `_postings_file`). When a Whoosh release
changes them, this module is the one to update; `_leaf_postings` falls back to the
public matcher API (much slower), and tests/search/test_whoosh_internals.py fails
if the block path is no longer the one taken or disagrees with the public API.
"""

from __future__ import annotations

import contextlib
import copy
import io
import pickle
import zlib
from collections.abc import Iterator

from whoosh import index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.reading import EmptyReader, MultiReader, SegmentReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.system import _INT_SIZE, unpack_int
from whoosh.util.numeric import byte_to_length
from whoosh.util.numlists import delta_decode
from whoosh.writing import SegmentWriter

from search.backends.whoosh import postings


class _Lengths:
    """Field lengths of a segment being written, read once per field.

    Whoosh looks up the field length of the document of every posting when it
    writes a new segment (to record per-block min/max lengths): ~500 column reads
    per ~800-word article. Reading each field's lengths column once into a list
    takes a third off commit time.
    """

    def __init__(self, perdoc) -> None:
        self.perdoc = perdoc
        self.cache: dict[str, list] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0):
        lengths = self.cache.get(fieldname)
        if lengths is None:
            lengths = self.cache[fieldname] = self._load(fieldname)
        return lengths[docnum] if docnum < len(lengths) else default

    def _load(self, fieldname: str) -> list:
        name = f"_{fieldname}_len"  # whoosh.codec.whoosh3._lenfield
        if not self.perdoc.has_column(name):
            return []
        reader = self.perdoc.column_reader(name, LENGTHS_COLUMN)
        # Same values as W3PerDocReader.doc_field_length, which answers None for 0.
        return [byte_to_length(b) if b else None for b in reader]


class _Writer(SegmentWriter):
    """Whoosh's SegmentWriter, with field lengths cached while flushing a segment and
    the segment's postings file (`postings`) written from the same postings."""

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        perdoc = self.per_document_reader() if self.codec.length_stats else None
        lengths = _Lengths(perdoc) if perdoc else None
        # Created before the codec's files are assembled into the compound file.
        handle = self.newsegment.create_file(self.storage, postings.EXTENSION)
        sidecar = postings.PostingsFileWriter(handle, _decode_many_deltas)
        try:
            self.fieldwriter.add_postings(
                self.schema, lengths, sidecar.tee(self.pool.iter_postings())
            )
        finally:
            sidecar.close()
        self.fieldwriter.close()
        if perdoc:
            perdoc.close()


def _postings_file(reader) -> postings.PostingsFile | None:
    """The postings file of a segment reader's segment, or None if it has none;
    `postings.Unreadable` if it has one that must not be read.

    Opened through the reader's own storage (`_storage`: the compound file, then the
    directory), so it shares the segment's open file.
    """
    storage = getattr(reader, "_storage", None)
    segment = reader.segment()
    if storage is None or segment is None:
        return None
    name = segment.make_filename(postings.EXTENSION)
    if not storage.file_exists(name):
        return None
    return postings.PostingsFile.open(storage.open_file(name), storage.file_length(name))


def _field_lengths(reader, fieldname: str, size: int) -> list[int]:
    """Every document's length in `fieldname` (what BM25 normalises by)."""
    perdoc = getattr(reader, "_perdoc", None)
    name = f"_{fieldname}_len"  # whoosh.codec.whoosh3._lenfield
    if perdoc is not None and perdoc.has_column(name):
        column = perdoc.column_reader(name, LENGTHS_COLUMN)
        return [byte_to_length(b) if b else 0 for b in column]
    return [reader.doc_field_length(d, fieldname, 0) or 0 for d in range(size)]


def _leaf_postings(reader, fieldname: str, text: str) -> tuple[list, list, list]:
    """A term's postings in one segment as (docnums, weights, encoded values).

    Reads whole posting blocks (one unpickle each gives ids, weights and values)
    instead of stepping a matcher posting by posting: about 10x faster. Deleted
    documents are included; callers intersect with the live set.
    """
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return [], [], []
    matcher = getattr(matcher, "child", matcher)  # unwrap the deletions filter
    ids: list[int] = []
    weights: list[float] = []
    values: list = []
    if type(matcher) is not W3LeafMatcher:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            values.append(matcher.value())
            matcher.next()
        return ids, weights, values
    for block_ids, block_weights, block_values in _blocks(matcher):
        ids.extend(block_ids)
        weights.extend(block_weights)
        values.extend(block_values)
    return ids, weights, values


def _blocks(matcher: W3LeafMatcher) -> Iterator[tuple]:
    """Each posting block of the matcher's term as (ids, weights, values).

    What `W3LeafMatcher._goto` and its `_read_*` methods do, with one read per block:
    Whoosh unpickles each block's info tuple straight from the file, which is a
    read (a system call, as files are not memory-mapped) per pickle opcode.
    """
    postfile = matcher._postfile
    position = matcher._baseoffset
    fixedsize, byteids = matcher._fixedsize, matcher._byteids
    while True:
        postfile.seek(position)
        length = unpack_int(postfile.read(_INT_SIZE))[0]
        last = length < 0
        length = abs(length)
        block = postfile.read(length)
        if len(block) != length:
            raise OSError(f"posting block cut short: {len(block)} of {length} bytes")
        stream = io.BytesIO(block)
        count, _maxid, _maxweight, compression, _minlength, _maxlength = pickle.load(stream)
        data = block[stream.tell() :]
        if compression:
            data = zlib.decompress(data)
        block_ids, block_weights, block_values = pickle.loads(data)
        if not byteids:
            block_ids = tuple(delta_decode(block_ids))
        if block_weights is None:
            block_weights = (1.0,) * count
        elif isinstance(block_weights, float):
            block_weights = (block_weights,) * count
        if fixedsize is None or fixedsize < 0:
            pass
        elif fixedsize == 0:
            block_values = (None,) * count
        else:
            block_values = tuple(
                block_values[i : i + fixedsize] for i in range(0, len(block_values), fixedsize)
            )
        yield block_ids, block_weights, block_values
        if last:
            return
        position += _INT_SIZE + length


def _decode_many_deltas(values: list[bytes]) -> list[list[int]]:
    """`_decode_deltas` of many values with one unpickle instead of one each.

    Each value's payload is a protocol-2 pickle of one list of ints; without its
    header and STOP it is a program that pushes that list. Between a MARK and a
    LIST opcode, the programs build one list of the lists. Any other shape falls
    back to decoding one value at a time.
    """
    parts = []
    for value in values:
        payload = value[4:]
        if not payload.startswith(b"\x80\x02"):
            return [_decode_deltas(v) for v in values]
        parts.append(payload[2:-1] if payload.endswith(b".") else payload[2:])
    try:
        decoded = pickle.loads(b"\x80\x02(" + b"".join(parts) + b"l.")
    except Exception:
        decoded = None
    if not isinstance(decoded, list) or len(decoded) != len(values):
        return [_decode_deltas(v) for v in values]
    return decoded


def _decode_deltas(value: bytes) -> list[int]:
    """Position deltas from Whoosh's Positions encoding (a count, then pickled deltas)."""
    payload = value[4:]
    if not payload.endswith(b"."):
        payload += b"."
    return pickle.loads(payload)


def _fresh_searcher(ix: index.Index, old: Searcher | None) -> Searcher:
    """A searcher on the index's latest commit, reusing unchanged segments' readers.

    Not `searcher.refresh()`: Whoosh 2.7 reuses a segment's reader whenever the
    segment id is unchanged, so deletions committed since stay invisible, and it
    cannot refresh from an empty reader. Here a segment whose deletions changed
    gets a reader that sees them (`_with_deletions`), so after an editor's save only
    the new small segment (and any merged one) is opened.
    """
    toc = ix._read_toc()
    previous: dict[str, SegmentReader] = {}
    if old is not None:
        for reader, _offset in old.reader().leaf_readers():
            if isinstance(reader, SegmentReader) and reader.segment() is not None:
                previous[reader.segment().segment_id()] = reader
    readers = []
    for segment in toc.segments:
        reader = previous.pop(segment.segment_id(), None)
        if reader is None:
            reader = SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
        elif reader.segment().deleted_count() != segment.deleted_count():
            reader = _with_deletions(reader, segment)
        readers.append(reader)
    for reader in previous.values():
        with contextlib.suppress(Exception):
            reader.close()
    if not readers:
        return Searcher(EmptyReader(toc.schema), fromindex=ix)
    # Always a MultiReader, so the generation (what up_to_date() compares) is new.
    return Searcher(MultiReader(readers, generation=toc.generation), fromindex=ix)


def _with_deletions(reader: SegmentReader, segment) -> SegmentReader:
    """A reader of the same segment that sees the deletions recorded in `segment`.

    Opening a SegmentReader copies the segment's whole term index out of its
    memory map (~30 ms for a 10,000-article segment), and every editor's save
    deletes the old version of an article from the big segment. Whoosh keeps a
    segment's deletions only in its per-document reader, so the new reader shares
    the old one's open files and gets a per-document reader of its own; the old
    reader must not be closed afterwards (its files live on in the new one).
    """
    fresh = copy.copy(reader)
    fresh.__dict__.pop("deleted_docs_set", None)  # a cached_property of the deletions
    fresh._segment = segment
    fresh._perdoc = reader.codec().per_document_reader(reader.storage(), segment)
    reader._perdoc.close()
    return fresh


def segment_count(ix: index.Index) -> int:
    """How many segments the index's latest commit has (`Index._segments()`)."""
    return len(ix._segments())
