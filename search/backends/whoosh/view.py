"""One open searcher and the per-segment caches and document sets derived from it.

Segments are immutable, so each one's columns (ids, dates, sort titles, text
lengths) and facet value sets are read once (`_SegmentData`) and shared by every
`_View` that still shows that segment. A `_View` reads a term's postings block by
block (`internals._leaf_postings`) into document *sets*, cached for one search:
set algebra then gives exact totals, facet counts and phrase candidates, whose
positions are checked only for documents no cheaper synonym already matched.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from whoosh import index

from search.backends.base import (
    FACETS,
)
from search.backends.query import (
    Unit,
)
from search.backends.whoosh.internals import _decode_positions, _field_lengths, _leaf_postings


class _SegmentData:
    """Column values and facet document sets of one (immutable) segment."""

    def __init__(self, reader) -> None:
        self.size = reader.doc_count_all()
        self.published = list(reader.column_reader("published"))
        self.title_sort = list(reader.column_reader("title_sort"))
        self.ids = [int(v) if v.isdigit() else None for v in reader.column_reader("id")]
        # Vocabulary pseudo-documents (and any id that is not an article's) never match.
        self.hidden = frozenset(d for d, v in enumerate(self.ids) if v is None)
        self.text_lengths = _field_lengths(reader, "text", self.size)
        self.updated = list(reader.column_reader("updated_at"))
        self.facets: dict[str, dict[str, list[int]]] = {}
        for facet in FACETS:  # each facet is the field of that name
            values = {}
            for term in reader.lexicon(facet):
                value = term.decode("utf-8")
                values[value] = _leaf_postings(reader, facet, value)[0]
            self.facets[facet] = values


@dataclass
class _View:
    """One searcher and what is derived from it, rebuilt when the index changes."""

    generation: str
    ix: index.Index
    searcher: object
    segments: dict  # segment id -> _SegmentData, shared across views
    _cache: dict = field(default_factory=dict)
    _query_cache: dict = field(default_factory=dict)  # cleared after every search

    def _leaves(self) -> list[tuple[object, int, _SegmentData]]:
        if "leaves" not in self._cache:
            leaves = []
            for reader, offset in self.searcher.reader().leaf_readers():
                if reader.segment() is None:  # an empty index has an EmptyReader
                    continue
                segid = reader.segment().segment_id()
                if segid not in self.segments:
                    self.segments[segid] = _SegmentData(reader)
                leaves.append((reader, offset, self.segments[segid]))
            self._cache["leaves"] = leaves
        return self._cache["leaves"]

    def _concat(self, attribute: str) -> list:
        if attribute not in self._cache:
            values: list = []
            for _reader, _offset, data in self._leaves():
                values.extend(getattr(data, attribute))
            self._cache[attribute] = values
        return self._cache[attribute]

    @property
    def alive(self) -> frozenset[int]:
        if "alive" not in self._cache:
            docs: set[int] = set()
            for reader, offset, data in self._leaves():
                deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
                hidden = deleted | data.hidden
                if hidden or offset:
                    docs.update(offset + d for d in range(data.size) if d not in hidden)
                else:
                    docs.update(range(data.size))
            self._cache["alive"] = frozenset(docs)
        return self._cache["alive"]

    @property
    def text_lengths(self) -> list[int]:
        return self._concat("text_lengths")

    @property
    def published(self) -> list[int]:
        return self._concat("published")

    @property
    def title_sort(self) -> list[bytes]:
        return self._concat("title_sort")

    @property
    def ids(self) -> list[int]:
        return self._concat("ids")

    @property
    def updated(self) -> list[bytes]:
        return self._concat("updated")

    def scheduled(self, visible_on: datetime.date | None) -> frozenset[int]:
        """Documents published after `visible_on` (scheduled articles), cached per view.

        Readers must not see them; scheduled articles are few, so subtracting this
        set is cheaper than intersecting with the visible ones.
        """
        if visible_on is None:
            return frozenset()
        key = ("scheduled", visible_on.toordinal())
        if key not in self._cache:
            day, published = key[1], self.published
            self._cache[key] = frozenset(d for d in self.alive if published[d] > day)
        return self._cache[key]

    def facet_docs(self, facet: str) -> dict[str, set[int]]:
        key = ("facet", facet)
        if key not in self._cache:
            merged: dict[str, set[int]] = {}
            for _reader, offset, data in self._leaves():
                for value, ids in data.facets[facet].items():
                    target = merged.setdefault(value, set())
                    target.update(ids if not offset else (offset + d for d in ids))
            self._cache[key] = merged
        return self._cache[key]

    def postings(self, token: str) -> tuple[list[int], list[float], list]:
        """The token's postings in the `text` field as global (docnums, weights, values).

        Cached for the current search only: a synonym group repeats the same words
        ("stem", "cell", "transplant") across many alternatives.
        """
        key = ("postings", token)
        if key not in self._query_cache:
            ids: list[int] = []
            weights: list[float] = []
            values: list = []
            for reader, offset, _data in self._leaves():
                leaf_ids, leaf_weights, leaf_values = _leaf_postings(reader, "text", token)
                ids.extend(leaf_ids if not offset else [offset + d for d in leaf_ids])
                weights.extend(leaf_weights)
                values.extend(leaf_values)
            self._query_cache[key] = (ids, weights, values)
        return self._query_cache[key]

    def term_docs(self, token: str) -> set[int]:
        """Documents containing `token` (deleted ones included: callers intersect)."""
        key = ("docs", token)
        if key not in self._query_cache:
            self._query_cache[key] = set(self.postings(token)[0])
        return self._query_cache[key]

    def positions(self, token: str, docnum: int) -> frozenset[int]:
        key = ("positions", token)
        if key not in self._query_cache:
            ids, _weights, values = self.postings(token)
            self._query_cache[key] = (dict(zip(ids, values, strict=True)), {})
        encoded, decoded = self._query_cache[key]
        if docnum not in decoded:
            decoded[docnum] = frozenset(_decode_positions(encoded[docnum]))
        return decoded[docnum]

    def phrase_docs(self, tokens: tuple[str, ...], known: set[int]) -> set[int]:
        """Documents containing the phrase, not counting those already in `known`.

        Candidates are the intersection of the words' document sets; only those not
        already matched (by a cheaper synonym) have their positions checked.
        """
        words = tuple(dict.fromkeys(tokens))
        candidates = set.intersection(*(self.term_docs(t) for t in words)) - known
        found: set[int] = set()
        for docnum in candidates:
            starts = self.positions(tokens[0], docnum)
            for shift, token in enumerate(tokens[1:], 1):
                starts = starts & {p - shift for p in self.positions(token, docnum)}
                if not starts:
                    break
            if starts:
                found.add(docnum)
        return found

    def unit_docs(self, unit: Unit) -> set[int]:
        """Documents matching any alternative: single words first, then phrases.

        Cached for the current search: a question's units are counted, reported and
        scored from the same sets.
        """
        key = ("unit", unit)
        if key not in self._query_cache:
            self._query_cache[key] = self._unit_docs(unit)
        return self._query_cache[key]

    def _unit_docs(self, unit: Unit) -> set[int]:
        docs: set[int] = set()
        for alternative in unit.loose:
            docs |= set.intersection(*(self.term_docs(t) for t in alternative))
        for alternative in unit.alternatives:
            if len(alternative) == 1:
                docs |= self.term_docs(alternative[0])
        for alternative in unit.alternatives:
            if len(alternative) > 1:
                docs |= self.phrase_docs(alternative, docs)
        return docs
