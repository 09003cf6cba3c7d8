"""One open searcher and the per-segment arrays and document masks derived from it.

Segments are immutable, so each one's columns (ids, dates, sort titles, text
lengths), facet value masks, sort orders and the term weights an article's related box
looks up are read once (`_SegmentData`) and
shared by every `_View` that still shows that segment. A term's postings and the
documents matching a query word with its synonyms (a `Unit`) are read once per
segment too and kept across searches in a
bounded least-recently-used cache (`TermCache`): readers' queries repeat the same
words and synonym phrases ("stem", "cell", "multiple sclerosis"), and an editor's
save adds a small segment without invalidating what the big ones already gave.

A `_View` joins its segments' arrays into one global document numbering. Document
sets are NumPy boolean masks over it: exact totals, facet counts, relaxation and
filters are then a few vectorised operations whatever the library's size, and
positions are decoded only to find a phrase's documents in a segment for the
first time.
"""

from __future__ import annotations

import datetime
import heapq
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from whoosh import classify, index

from search.backends.base import FACETS
from search.backends.query import Unit
from search.backends.whoosh.internals import (
    _decode_many_deltas,
    _field_lengths,
    _leaf_postings,
    _postings_file,
)
from search.backends.whoosh.postings import Unreadable, positions_within_documents

# How documents are listed when not by relevance: the sort key of one document.
ORDER_KEYS = {
    "title": lambda data, d: (data.title_sort[d], -data.published[d], d),
    "published_on": lambda data, d: (data.published[d], data.title_sort[d], d),
    "-published_on": lambda data, d: (-data.published[d], data.title_sort[d], d),
}
DEFAULT_CACHE_BYTES = 64 * 2**20
# A phrase decodes only its candidate documents' positions of a word when they are
# fewer than one in this many of the word's documents (and none are kept yet).
PARTIAL_DECODE = 4


def _occurrences(ids: np.ndarray, deltas: list[int], counts: list[int]) -> np.ndarray:
    """`docnum << 32 | position` for each occurrence, from per-document position deltas."""
    if not deltas:
        return np.zeros(0, dtype=np.int64)
    sizes = np.array(counts, dtype=np.int64)
    positions = positions_within_documents(np.array(deltas, dtype=np.int64), sizes)
    return (np.repeat(ids, sizes) << 32) | positions


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both of two sorted arrays of unique values (binary search of the
    shorter in the longer: no sort, unlike `np.intersect1d`)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    where = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return a[b[where] == a]


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array."""
    if len(values) < 2:
        return values
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


class _SegmentData:
    """Column values, facet masks and sort orders of one (immutable) segment."""

    def __init__(self, reader) -> None:
        self.segment_id = reader.segment().segment_id()
        self.size = reader.doc_count_all()
        self.published = list(reader.column_reader("published"))
        self.title_sort = list(reader.column_reader("title_sort"))
        self.ids = [int(v) if v.isdigit() else None for v in reader.column_reader("id")]
        # Vocabulary pseudo-documents (and any id that is not an article's) never match.
        self.shown = np.array([v is not None for v in self.ids], dtype=bool)
        self.text_lengths = np.array(_field_lengths(reader, "text", self.size), dtype=np.float64)
        self.updated = list(reader.column_reader("updated_at"))
        self.facets: dict[str, dict[str, np.ndarray]] = {}
        for facet in FACETS:  # each facet is the field of that name
            values = {}
            for term in reader.lexicon(facet):
                value = term.decode("utf-8")
                mask = np.zeros(self.size, dtype=bool)
                mask[_leaf_postings(reader, facet, value)[0]] = True
                values[value] = mask
            self.facets[facet] = values
        self._orders: dict[str, np.ndarray] = {}
        # The segment's `text` postings as arrays, or None: read by block instead,
        # and when it has a file that must not be read, why (`postings.Unreadable`).
        self.postings_problem: Unreadable | None = None
        try:
            self.postings_file = _postings_file(reader)
        except Unreadable as problem:
            self.postings_file, self.postings_problem = None, problem
        self.problem_logged = False  # a search logs the problem once (`WhooshBackend`)
        # A `text` term's total weight in this segment (None: not in it), as looked up
        # for an article's related box (`_View.key_terms`): fixed for the segment's life.
        self.text_weights: dict[bytes, float | None] = {}

    def order(self, ordering: str) -> np.ndarray:
        """This segment's document numbers sorted by `ORDER_KEYS[ordering]`, once."""
        if ordering not in self._orders:
            key = ORDER_KEYS[ordering]
            ranked = sorted(range(self.size), key=lambda d: key(self, d))
            self._orders[ordering] = np.array(ranked, dtype=np.int64)
        return self._orders[ordering]


class TermCache:
    """A bounded LRU of per-segment term postings and unit matches, shared across searches.

    Keys start with the segment id; a segment's entries are dropped when it leaves
    the index (`forget`). Values are NumPy arrays, and the bound counts their bytes.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple, tuple[tuple[np.ndarray, ...], int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[np.ndarray, ...] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: tuple, arrays: tuple[np.ndarray, ...]) -> None:
        size = sum(a.nbytes for a in arrays) + 200  # plus the entry's own objects
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (arrays, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _key, (_arrays, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def forget(self, live_segments: set[str]) -> None:
        """Drop the entries of segments no longer in the index."""
        with self._lock:
            for key in [k for k in self._entries if k[0] not in live_segments]:
                self.bytes -= self._entries.pop(key)[1]

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class _Leaf:
    reader: object
    offset: int
    data: _SegmentData


@dataclass
class _View:
    """One searcher and what is derived from it, rebuilt when the index changes."""

    generation: str
    ix: index.Index
    searcher: object
    segments: dict  # segment id -> _SegmentData, shared across views
    terms: TermCache = field(default_factory=TermCache)
    _cache: dict = field(default_factory=dict)
    _query_cache: dict = field(default_factory=dict)  # cleared after every search
    # (word, distance) -> the did-you-mean correction from this view's vocabulary
    corrections: dict = field(default_factory=dict)
    # document number -> the answer stage's `Details` of it (`WhooshOperations.details`)
    details: dict = field(default_factory=dict)

    # -- segments and their columns, joined

    def _leaves(self) -> list[_Leaf]:
        if "leaves" not in self._cache:
            leaves = []
            for reader, offset in self.searcher.reader().leaf_readers():
                if reader.segment() is None:  # an empty index has an EmptyReader
                    continue
                segid = reader.segment().segment_id()
                if segid not in self.segments:
                    self.segments[segid] = _SegmentData(reader)
                leaves.append(_Leaf(reader, offset, self.segments[segid]))
            self._cache["leaves"] = leaves
        return self._cache["leaves"]

    @property
    def size(self) -> int:
        """How many document numbers the view has (deleted and hidden ones included)."""
        leaves = self._leaves()
        return leaves[-1].offset + leaves[-1].data.size if leaves else 0

    def _concat(self, attribute: str) -> list:
        if attribute not in self._cache:
            values: list = []
            for leaf in self._leaves():
                values.extend(getattr(leaf.data, attribute))
            self._cache[attribute] = values
        return self._cache[attribute]

    def _join(self, arrays, dtype) -> np.ndarray:
        return np.concatenate(list(arrays)) if self._leaves() else np.zeros(0, dtype=dtype)

    @property
    def alive_mask(self) -> np.ndarray:
        """Documents a search may find: not deleted, not a vocabulary document."""
        if "alive" not in self._cache:
            parts = []
            for leaf in self._leaves():
                shown = leaf.data.shown
                if leaf.reader.has_deletions():
                    shown = shown.copy()
                    shown[list(leaf.reader.deleted_docs_set)] = False
                parts.append(shown)
            self._cache["alive"] = self._join(parts, bool)
        return self._cache["alive"]

    @property
    def alive(self) -> list[int]:
        """The live document numbers, ascending."""
        return np.flatnonzero(self.alive_mask).tolist()

    @property
    def text_lengths(self) -> np.ndarray:
        if "lengths" not in self._cache:
            self._cache["lengths"] = self._join(
                (leaf.data.text_lengths for leaf in self._leaves()), np.float64
            )
        return self._cache["lengths"]

    def bm25_norms(self, average: float, k1: float, b: float) -> np.ndarray:
        """BM25's length normalisation of every document, `k1 * (1 - b + b * len / avg)`."""
        key = ("norms", average, k1, b)
        if key not in self._cache:
            self._cache[key] = k1 * (1 - b + b * self.text_lengths / average)
        return self._cache[key]

    @property
    def published(self) -> list[int]:
        return self._concat("published")

    @property
    def published_array(self) -> np.ndarray:
        if "published_array" not in self._cache:
            self._cache["published_array"] = np.array(self.published, dtype=np.int64)
        return self._cache["published_array"]

    @property
    def title_sort(self) -> list[bytes]:
        return self._concat("title_sort")

    @property
    def ids(self) -> list[int]:
        return self._concat("ids")

    @property
    def updated(self) -> list[bytes]:
        return self._concat("updated")

    def scheduled_mask(self, visible_on: datetime.date | None) -> np.ndarray | None:
        """Live documents published after `visible_on` (scheduled articles), or None."""
        if visible_on is None:
            return None
        key = ("scheduled", visible_on.toordinal())
        if key not in self._cache:
            mask = (self.published_array > key[1]) & self.alive_mask
            self._cache[key] = mask if mask.any() else None
        return self._cache[key]

    def scheduled(self, visible_on: datetime.date | None) -> frozenset[int]:
        """The scheduled documents' numbers (see `scheduled_mask`)."""
        mask = self.scheduled_mask(visible_on)
        return frozenset() if mask is None else frozenset(np.flatnonzero(mask).tolist())

    def facet_masks(self, facet: str) -> dict[str, np.ndarray]:
        """Each value of `facet` and the documents that have it."""
        key = ("facet", facet)
        if key not in self._cache:
            leaves = self._leaves()
            values = {v for leaf in leaves for v in leaf.data.facets[facet]}
            merged = {}
            for value in sorted(values):
                parts = []
                for leaf in leaves:
                    part = leaf.data.facets[facet].get(value)
                    parts.append(part if part is not None else np.zeros(leaf.data.size, bool))
                merged[value] = np.concatenate(parts)
            self._cache[key] = merged
        return self._cache[key]

    def ordered(self, ordering: str, docs: np.ndarray, wanted: int) -> list[int]:
        """The first `wanted` documents of the mask `docs` in `ordering`.

        Each segment's order is computed once; here each segment contributes its
        first `wanted` matching documents and only those are merged.
        """
        key = ORDER_KEYS[ordering]
        candidates = []
        for leaf in self._leaves():
            order = leaf.data.order(ordering)
            local = docs[leaf.offset : leaf.offset + leaf.data.size]
            for d in order[local[order]][:wanted].tolist():
                candidates.append((key(leaf.data, d)[:-1], leaf.offset + d))
        return [d for _key, d in heapq.nsmallest(wanted, candidates)]

    # -- an article's key terms (its related box)

    def key_terms(self, text: str, count: int) -> list[tuple[str, float]]:
        """Whoosh's `searcher.key_terms_from_text("text", text, count)` (Bo1, weights
        normalised), with each term's collection weight summed from the segments'
        remembered weights: an article page's related box looks up a few hundred terms,
        each a hash-file probe per segment, and the same words recur from article to
        article while the large segments stay."""
        expander = classify.Expander(_RememberedWeights(self), "text", model=classify.Bo1Model)
        expander.add_text(text)
        return expander.expanded_terms(count, normalize=True)

    def text_weight(self, btext: bytes) -> float | None:
        """The term's total weight in the `text` field over the view's segments, as
        `reader.frequency("text", btext)` gives it; None if no segment has the term."""
        total, found = 0, False
        for leaf in self._leaves():
            weights = leaf.data.text_weights
            if btext in weights:
                weight = weights[btext]
            else:
                reader = leaf.reader
                weight = reader.frequency("text", btext) if ("text", btext) in reader else None
                weights[btext] = weight
            if weight is not None:
                total, found = total + weight, True
        return total if found else None

    # -- terms, phrases and units (per segment, cached across searches)

    def _leaf_read(self, leaf: _Leaf, token: str) -> tuple[list, list, list]:
        """The token's raw postings in this segment, values included, read once per search."""
        key = ("raw", leaf.data.segment_id, token)
        if key not in self._query_cache:
            self._query_cache[key] = _leaf_postings(leaf.reader, "text", token)
        return self._query_cache[key]

    def _leaf_term(self, leaf: _Leaf, token: str) -> tuple[np.ndarray, np.ndarray]:
        """The token's local docnums (int32) and weights (float32) in this segment."""
        key = (leaf.data.segment_id, "term", token)
        cached = self.terms.get(key)
        if cached is None:
            if leaf.data.postings_file is not None:
                cached = leaf.data.postings_file.postings(token)
            else:
                ids, weights, _values = self._leaf_read(leaf, token)
                # Whoosh stores weights as 32-bit floats, so float32 loses nothing.
                cached = (np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32))
            self.terms.put(key, cached)
        return cached  # type: ignore[return-value]

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """The token's postings in the `text` field: global docnums and weights."""
        key = ("postings", token)
        if key not in self._query_cache:
            ids, weights = [], []
            for leaf in self._leaves():
                leaf_ids, leaf_weights = self._leaf_term(leaf, token)
                ids.append(leaf_ids.astype(np.int64) + leaf.offset)
                weights.append(leaf_weights.astype(np.float64))
            self._query_cache[key] = (
                self._join(ids, np.int64),
                self._join(weights, np.float64),
            )
        return self._query_cache[key]

    def term_mask(self, token: str) -> np.ndarray:
        """Documents containing `token` (deleted ones included: callers intersect)."""
        key = ("mask", token)
        if key not in self._query_cache:
            mask = np.zeros(self.size, dtype=bool)
            mask[self.postings(token)[0]] = True
            self._query_cache[key] = mask
        return self._query_cache[key]

    def all_terms_mask(self, tokens: tuple[str, ...]) -> np.ndarray:
        """Documents containing every token, anywhere."""
        mask = self.term_mask(tokens[0])
        for token in tokens[1:]:
            mask = mask & self.term_mask(token)
        return mask

    def _leaf_all_terms(self, leaf: _Leaf, tokens: tuple[str, ...]) -> np.ndarray:
        """Local numbers of this segment's documents containing every token, anywhere."""
        found = self._leaf_term(leaf, tokens[0])[0]
        for token in tokens[1:]:
            found = _intersect(found, self._leaf_term(leaf, token)[0])
        return found

    def _leaf_positions(
        self, leaf: _Leaf, token: str, only: np.ndarray | None = None
    ) -> np.ndarray:
        """Occurrences of `token` in this segment as `local docnum << 32 | position`.

        Sorted, since postings are in document order and positions ascend within a
        document. All of a token's occurrences are decoded once per segment and
        search (phrases sharing a word, "stem cell" and "stem cell transplant",
        decode it once). A segment with a postings file gives them all in one read;
        a segment read by block decodes, when `only` (sorted local docnums) is a small part
        of the token's documents and nothing is decoded yet, just those. Positions are
        not kept across searches: they are large, and the units they decide are.
        """
        key = ("positions", leaf.data.segment_id, token)
        cached = self._query_cache.get(key)
        if cached is not None:
            return cached
        if leaf.data.postings_file is not None:  # all of them: a read and a few array steps
            occurrences = leaf.data.postings_file.occurrences(token)
            self._query_cache[key] = occurrences
            return occurrences
        ids, _weights, values = self._leaf_read(leaf, token)
        partial = only is not None and len(only) * PARTIAL_DECODE < len(ids)
        if partial:
            where = np.searchsorted(np.array(ids, dtype=np.int64), only).tolist()
            ids = only.tolist()
            values = [values[i] for i in where]
        deltas: list[int] = []
        counts: list[int] = []
        for decoded in _decode_many_deltas(values):
            deltas.extend(decoded)
            counts.append(len(decoded))
        occurrences = _occurrences(np.array(ids, dtype=np.int64), deltas, counts)
        if not partial:
            self._query_cache[key] = occurrences
        return occurrences

    def _leaf_phrase(
        self, leaf: _Leaf, tokens: tuple[str, ...], candidates: np.ndarray
    ) -> np.ndarray:
        """Which of `candidates` (sorted local docnums) contain the phrase.

        The phrase starts where the first word occurs and the n-th word occurs n
        positions later: one sorted-array intersection per word.
        """
        starts = self._leaf_positions(leaf, tokens[0], candidates)
        for shift, token in enumerate(tokens[1:], 1):
            if not len(starts):
                break
            # A position before `shift` borrows from the document bits and so lands
            # beyond any real position of the previous document: it never matches.
            later = self._leaf_positions(leaf, token, candidates) - shift
            starts = _intersect(starts, later)
        found = _distinct(starts >> 32)
        return _intersect(found, candidates)

    def _leaf_unit(self, leaf: _Leaf, unit: Unit) -> np.ndarray:
        """Local numbers of this segment's documents matching the unit, cached.

        Single words first, then phrases, whose positions are checked only for
        documents no cheaper alternative already matched.
        """
        key = (leaf.data.segment_id, "unit", unit)
        cached = self.terms.get(key)
        if cached is not None:
            return cached[0]
        docs = np.zeros(leaf.data.size, dtype=bool)
        for alternative in unit.loose:
            docs[self._leaf_all_terms(leaf, alternative)] = True
        for alternative in unit.alternatives:
            if len(alternative) == 1:
                docs[self._leaf_term(leaf, alternative[0])[0]] = True
        for alternative in unit.alternatives:
            if len(alternative) > 1:
                candidates = self._leaf_all_terms(leaf, tuple(dict.fromkeys(alternative)))
                candidates = candidates[~docs[candidates]]
                if len(candidates):
                    docs[self._leaf_phrase(leaf, alternative, candidates)] = True
        result = np.flatnonzero(docs).astype(np.int32)
        self.terms.put(key, (result,))
        return result

    def unit_mask(self, unit: Unit) -> np.ndarray:
        """Documents matching any of the unit's alternatives (cached for one search:
        a question's units are counted, reported and scored from the same masks)."""
        key = ("unit", unit)
        if key not in self._query_cache:
            mask = np.zeros(self.size, dtype=bool)
            for leaf in self._leaves():
                mask[self._leaf_unit(leaf, unit) + leaf.offset] = True
            self._query_cache[key] = mask
        return self._query_cache[key]


class _RememberedWeights:
    """The view's reader for `classify.Expander`, answering its term lookups (whether a
    term is in the index, its collection weight) from `_View.text_weight`."""

    def __init__(self, view: _View) -> None:
        self._view = view
        self._reader = view.searcher.reader()

    def __getattr__(self, name: str):
        return getattr(self._reader, name)

    def __contains__(self, term: tuple[str, bytes]) -> bool:
        fieldname, btext = term
        if fieldname != "text":
            return term in self._reader
        return self._view.text_weight(btext) is not None

    def frequency(self, fieldname: str, btext: bytes) -> float:
        if fieldname != "text":
            return self._reader.frequency(fieldname, btext)
        weight = self._view.text_weight(btext)
        return 0 if weight is None else weight
