"""The Whoosh engine's operations for the search planner, related articles and
autocomplete helpers.

How a results page is built is `search.planner`'s business; `WhooshOperations`
answers its questions from the `_View`'s document masks: the exact counts, the
relaxation histogram, filters and facet counts are NumPy operations on them; BM25F is
computed from the same postings in bulk over the match set and a sort picks just
the page, so no matcher tree walks every posting. Snippets use this engine's
analyser (`normalize_word`); spelling candidates come from the `spell` field's terms
(Levenshtein automata over every segment), remembered while the index is unchanged.
"""

from __future__ import annotations

import contextlib
import datetime
import math
from collections.abc import Callable, Iterator

import numpy as np
from whoosh.automata.lev import levenshtein_automaton
from whoosh.codec.base import Automata
from whoosh.reading import TermNotFound

from search.backends.base import FACETS, SearchQuery, request_filters
from search.backends.query import (
    CompiledQuery,
    ParsedQuery,
    Unit,
    acceptable_correction,
    compile_query,
)
from search.backends.text import SNIPPET_CHARS
from search.backends.text import highlight as text_highlight
from search.backends.whoosh.view import _View
from search.backends.whoosh_analysis import analyse, normalize_word
from search.planner import FREQUENCY_CAP, Candidate, Coverage, Details, Ordering, Row, Text

MAX_REMEMBERED_CORRECTIONS = 4096  # per view: words readers misspell, and their fixes
MAX_REMEMBERED_DETAILS = 20_000  # per view: the answer stage's details of documents


def highlight(
    summary: str,
    body: str,
    terms: frozenset[str],
    size: int = SNIPPET_CHARS,
    phrases: tuple[tuple[str, ...], ...] = (),
    groups: dict[str, int] | None = None,
) -> str:
    """`search.backends.text.highlight` with this engine's analyser."""
    return text_highlight(summary, body, terms, normalize_word, size, phrases, groups)


def _similar(
    view: _View, terms: list[tuple[str, float]], exclude: frozenset[int], count: int
) -> list[int]:
    """The `count` live documents, none in `exclude`, with the highest key-term-weighted BM25 scores."""
    total_docs = view.searcher.doc_count_all() or 1
    average = (view.searcher.field_length("text") / total_docs) or 1.0
    k1 = 1.2
    norms = view.bm25_norms(average, k1, 0.75)
    scores = np.zeros(view.size)
    touched = np.zeros(view.size, dtype=bool)
    for token, weight in terms:
        ids, tfs = view.postings(token)
        idf = math.log(total_docs / (len(ids) + 1)) + 1
        scores[ids] += weight * idf * tfs * (k1 + 1) / (tfs + norms[ids])
        touched[ids] = True
    touched &= view.alive_mask
    if exclude:
        touched[list(exclude)] = False
    found = np.flatnonzero(touched)
    best = found[np.lexsort((found, -scores[found]))[:count]]
    return best.tolist()


def _scheduled_titles(view: _View, visible_on: datetime.date | None) -> frozenset[str]:
    """Case-folded titles of scheduled documents, which autocomplete must not offer."""
    scheduled = view.scheduled(visible_on)
    if not scheduled:
        return frozenset()
    stored = view.searcher.stored_fields
    return frozenset(stored(d).get("title", "").casefold() for d in scheduled)


def _take(iterator, count: int) -> Iterator:
    for n, item in enumerate(iterator):
        if n >= count:
            return
        yield item


def _phrase_prefix_at(words: tuple[str, ...], prefix: tuple[str, ...]) -> int | None:
    """Where `prefix` (whole words, the last one a prefix) starts within `words`."""
    last = len(prefix) - 1
    for start in range(len(words) - last):
        if words[start + last].startswith(prefix[last]) and all(
            words[start + i] == prefix[i] for i in range(last)
        ):
            return start
    return None


def _scoring_units(units: tuple[Unit, ...]) -> list[list[tuple[str, ...]]]:
    """What the scorer sees of each unit: the reader's own words and one-word synonyms.

    Multi-word synonym alternatives are left out (each would add a conjunction of
    common words to score across thousands of documents); the document set is
    already exact, so this only decides the order among matches. A multi-word
    alternative is scored as its words, since the set already guarantees the phrase.
    """
    scoring = []
    for unit in units:
        own, *others = unit.loose + unit.alternatives
        scoring.append([own, *(alt for alt in others if len(alt) == 1)])
    return scoring


class WhooshOperations:
    """The planner's operations over one open `_View` (the caller holds its lock).

    A match set is a boolean mask over the view's document numbers; a row's `ref`
    is a document number.
    """

    def __init__(self, view: _View) -> None:
        self.view = view
        self._coverages: dict[tuple[Unit, ...], np.ndarray] = {}
        self._texts: dict[int, Text] = {}  # by document number

    def compile(self, parsed: ParsedQuery, synonyms: tuple) -> CompiledQuery:
        return compile_query(parsed, analyse, synonyms)

    def candidates(self, compiled: CompiledQuery, request: SearchQuery) -> np.ndarray:
        view = self.view
        docs = view.alive_mask
        for unit in compiled.must_units():
            docs = docs & view.unit_mask(unit)
        for unit in compiled.excluded:
            docs = docs & ~view.unit_mask(unit)
        hidden = view.scheduled_mask(request.visible_on)
        if hidden is not None:
            docs = docs & ~hidden
        for facet, values in request_filters(request):
            masks = view.facet_masks(facet.name)
            for value in values:
                value_docs = masks.get(value)
                docs = docs & value_docs if value_docs is not None else np.zeros_like(docs)
        return docs

    def strict(self, within: np.ndarray, units: tuple[Unit, ...]) -> np.ndarray:
        for unit in units:
            within = within & self.view.unit_mask(unit)
        return within

    def _coverage(self, units: tuple[Unit, ...]) -> np.ndarray:
        """How many of `units` each document matches."""
        if units not in self._coverages:
            coverage = np.zeros(self.view.size, dtype=np.int16)
            for unit in units:
                coverage += self.view.unit_mask(unit)
            self._coverages[units] = coverage
        return self._coverages[units]

    def at_least(self, within: np.ndarray, units: tuple[Unit, ...], least: int) -> np.ndarray:
        return within & (self._coverage(units) >= least)

    def count(self, documents: np.ndarray) -> int:
        return int(np.count_nonzero(documents))

    def coverage_counts(
        self, within: np.ndarray, units: tuple[Unit, ...], *, zero: bool
    ) -> dict[int, int]:
        counts = np.bincount(self._coverage(units)[within], minlength=len(units) + 1)
        return {k: int(n) for k, n in enumerate(counts) if n and (k or zero)}

    def units_found(self, units: tuple[Unit, ...], within: np.ndarray | None) -> list[bool]:
        base = self.view.alive_mask if within is None else within
        return [bool((base & self.view.unit_mask(unit)).any()) for unit in units]

    def page(
        self, documents: np.ndarray, ordering: Ordering, offset: int, limit: int
    ) -> tuple[list[Row], dict[str, dict[str, int]]]:
        return self._rank(documents, ordering, offset, offset + limit), self._facets(documents)

    def texts(self, rows: list[Row]) -> list[Text]:
        """Read once per search (these operations serve one): the answer stage's
        sections and the snippets ask for the same rows."""
        stored = self.view.searcher.stored_fields
        read = self._texts
        texts = []
        for row in rows:
            if row.ref not in read:
                fields = stored(row.ref)
                read[row.ref] = Text(
                    int(fields["id"]),
                    fields.get("slug", ""),
                    fields.get("summary", ""),
                    fields.get("body", ""),
                )
            texts.append(read[row.ref])
        return texts

    def normaliser(self, texts: list[Text], wanted: frozenset[str]) -> Callable[[str], str]:
        return normalize_word

    def unknown_words(self, words: list[str]) -> dict[str, str]:
        reader = self.view.searcher.reader()
        unknown = {}
        for word in words:
            folded = normalize_word(word, stem=False)
            stemmed = normalize_word(word.casefold())
            if folded and not (
                reader.doc_frequency("text", stemmed) or reader.doc_frequency("spell", folded)
            ):
                unknown[word] = folded
        return unknown

    def spelling_candidates(self, words: dict[str, int]) -> dict[str, list[Candidate]]:
        """`_find_candidates`, remembered for as long as the view (the index) is
        unchanged: questions repeat words the library does not know ("husband",
        "daughter"), and each look-up builds an automaton and walks every segment's
        vocabulary."""
        corrections = self.view.corrections
        found = {}
        for word, max_distance in words.items():
            key = (word, max_distance)
            if key not in corrections:
                if len(corrections) >= MAX_REMEMBERED_CORRECTIONS:
                    corrections.clear()
                corrections[key] = self._find_candidates(word, max_distance)
            found[word] = corrections[key]
        return found

    def _find_candidates(self, word: str, max_distance: int) -> list[Candidate]:
        """`spell` terms within edit distance 1, or (only when none of those is an
        acceptable correction) up to `max_distance`, with their frequencies."""
        reader = self.view.searcher.reader()
        fieldname = reader.schema["spell"].spelling_fieldname("spell")
        for distance in range(1, max_distance + 1):
            # One automaton for every segment: building it costs more than walking a
            # segment's terms with it, and an index has up to MAX_SEGMENTS segments.
            dfa = levenshtein_automaton(word, distance, prefix=1).to_dfa()
            candidates: set[str] = set()
            for leaf, _offset in reader.leaf_readers():
                with contextlib.suppress(TermNotFound, KeyError):
                    candidates.update(Automata.find_matches(dfa, leaf.cursor(fieldname)))
            candidates.discard(word)
            candidates = {c for c in candidates if acceptable_correction(word, c)}
            if candidates:
                return [
                    Candidate(c, distance, reader.doc_frequency("spell", c))
                    for c in sorted(candidates)
                ]
        return []

    # -- the answer stage (issue 19)

    def details(self, rows: list[Row]) -> list[Details]:
        """Remembered for as long as the view (the index) is unchanged: each is read
        from the document's stored fields (its whole body unpickled), and the same
        articles fill the answer stage's window question after question."""
        remembered = self.view.details
        missing = [row for row in rows if row.ref not in remembered]
        if len(remembered) + len(missing) > MAX_REMEMBERED_DETAILS:
            remembered.clear()
            missing = rows
        for row, details in zip(missing, self._read_details(missing), strict=True):
            remembered[row.ref] = details
        return [remembered[row.ref] for row in rows]

    def _read_details(self, rows: list[Row]) -> list[Details]:
        stored = self.view.searcher.stored_fields
        refs = np.array([row.ref for row in rows], dtype=np.int64)
        filed: list[dict[str, list[str]]] = [{} for _ in rows]
        for facet in ("disease", "therapy", "tag"):
            for value, value_docs in self.view.facet_masks(facet).items():
                for n in np.flatnonzero(value_docs[refs]).tolist():
                    filed[n].setdefault(facet, []).append(value)
        details = []
        for row, facets in zip(rows, filed, strict=True):
            fields = stored(row.ref)
            details.append(
                Details(
                    fields.get("title", ""),
                    {facet: tuple(values) for facet, values in facets.items()},
                    tuple(tuple(section) for section in fields.get("sections") or ()),
                )
            )
        return details

    def coverage(self, rows: list[Row], units: tuple[Unit, ...]) -> Coverage:
        alive = self.view.alive_mask
        masks = [self.view.unit_mask(unit) & alive for unit in units]
        return Coverage(
            [frozenset(i for i, mask in enumerate(masks) if mask[row.ref]) for row in rows],
            tuple(min(int(np.count_nonzero(mask)), FREQUENCY_CAP) for mask in masks),
            int(np.count_nonzero(alive)),
        )

    def find(self, ids: list[int], within: np.ndarray) -> list[Row]:
        wanted = set(ids)
        return [
            Row(docnum, 0.0)
            for docnum, article_id in enumerate(self.view.ids)
            if article_id in wanted and within[docnum]
        ]

    # -- ranking and facets

    def _facets(self, docs: np.ndarray) -> dict[str, dict[str, int]]:
        facets: dict[str, dict[str, int]] = {}
        for facet in FACETS:
            counts = {}
            for value, value_docs in self.view.facet_masks(facet).items():
                count = int(np.count_nonzero(value_docs & docs))
                if count:
                    counts[value] = count
            facets[facet] = counts
        return facets

    def _rank(self, docs: np.ndarray, ordering: Ordering, offset: int, wanted: int) -> list[Row]:
        """The page's rows; only the top `wanted` are sorted."""
        if not docs.any():
            return []
        if ordering.by == "relevance":
            coverage = self._coverage(ordering.coverage) if ordering.coverage else None
            return self._rank_by_relevance(docs, ordering.scored, offset, wanted, coverage)
        top = self.view.ordered(ordering.by, docs, wanted)
        return [Row(d, 0.0) for d in top[offset:wanted]]

    def _rank_by_relevance(
        self,
        docs: np.ndarray,
        scored_units: tuple[Unit, ...],
        offset: int,
        wanted: int,
        coverage: np.ndarray | None,
    ) -> list[Row]:
        """BM25F over the exact document set, computed from the postings in bulk.

        Whoosh's collector walks a tree of matchers, one Python call per posting per
        query term; here each term adds its contribution to a score array in one
        vectorised step, with document lengths from a per-segment cache. The weights
        already carry the section boosts (see `FoldedText`), so this is BM25F with
        Whoosh's parameters (B=0.75, K1=1.2) and idf. The arithmetic is the same,
        in the same order, as a per-document loop, so scores are exactly those.

        Multi-word synonym alternatives are not scored (they would add conjunctions
        of common words for no change in which documents match): documents matched
        only through one score 0 and follow the scored ones, newest first. With
        `coverage` (not every word required), the number of meaningful units matched
        comes before the score: coordination first.

        The order is (more units matched, fully scored, higher score, newer, title,
        docnum). NumPy sorts by all but the title; the documents tied with the last
        one of the page on those keys are then sorted in full, so the page is
        exactly what one sort by the whole key would give.
        """
        view = self.view
        searcher = view.searcher
        total_docs = searcher.doc_count_all()
        average = (searcher.field_length("text") / total_docs) if total_docs else 1.0
        average = average or 1.0
        b, k1 = 0.75, 1.2
        norms = view.bm25_norms(average, k1, b)
        scores = np.zeros(view.size)
        matched = docs
        for alternatives in _scoring_units(scored_units):
            unit_docs = np.zeros(view.size, dtype=bool)
            for tokens in alternatives:
                unit_docs |= view.all_terms_mask(tokens)
                for token in dict.fromkeys(tokens):
                    ids, weights = view.postings(token)
                    idf = math.log(total_docs / (len(ids) + 1)) + 1
                    scores[ids] += idf * weights * (k1 + 1) / (weights + norms[ids])
            matched = matched & unit_docs
        if coverage is not None:
            matched = docs
        found = np.flatnonzero(docs)
        more = -coverage[found] if coverage is not None else np.zeros(len(found), np.int16)
        unscored = ~matched[found]
        negated = -scores[found]
        newer = -view.published_array[found]
        order = np.lexsort((newer, negated, unscored, more))
        top = order[:wanted]
        last = top[-1]
        tied = np.flatnonzero(
            (more == more[last])
            & (unscored == unscored[last])
            & (negated == negated[last])
            & (newer == newer[last])
        )
        chosen = found[np.union1d(top, tied)].tolist()
        titles = view.title_sort
        page = sorted(
            chosen,
            key=lambda d: (
                -int(coverage[d]) if coverage is not None else 0,
                not matched[d],
                -scores[d],
                -view.published[d],
                titles[d],
                d,
            ),
        )[:wanted]
        return [Row(d, float(scores[d]) if matched[d] else 0.0) for d in page[offset:]]
