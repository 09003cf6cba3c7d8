"""Answering a results page (`_Search`), related articles and autocomplete helpers.

The reader's query is parsed by our own small language (`search.backends.query`),
never Whoosh's QueryParser. `_Search` takes document masks from the `_View`: the
exact total, relaxation of the meaningful words when few articles match them all,
filters and facet counts are NumPy operations on them; then BM25F is computed from
the same postings in bulk over the exact set and a sort picks just the page, so no
matcher tree walks every posting.
Highlights use the engine-neutral `search.backends.text.highlight` with this
engine's analyser. Did-you-mean corrections come from the `spell` field's terms
(Levenshtein automata over every segment).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import math
from collections.abc import Iterator

import numpy as np
from whoosh.automata.lev import levenshtein_automaton
from whoosh.codec.base import Automata
from whoosh.reading import TermNotFound

from search.backends.base import (
    FACETS,
    ORDERINGS,
    FacetCount,
    Hit,
    SearchPage,
    SearchQuery,
)
from search.backends.query import (
    FEW_RESULTS,
    CompiledQuery,
    ParsedQuery,
    Unit,
    acceptable_correction,
    compile_query,
    correctable,
    correction_distance,
    parse_query,
    relaxation_steps,
    suggestion_helps,
)
from search.backends.text import SNIPPET_CHARS
from search.backends.text import highlight as text_highlight
from search.backends.whoosh.view import _View
from search.backends.whoosh_analysis import (
    analyse,
    normalize_word,
)

MAX_PER_PAGE = 100
MAX_REMEMBERED_CORRECTIONS = 4096  # per view: words readers misspell, and their fixes


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


def _no_facets() -> dict[str, list[FacetCount]]:
    return {facet: [] for facet in FACETS}


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


class _Search:
    """One results page: sets first, then scoring of just the page, then decoration."""

    def __init__(
        self, view: _View, request: SearchQuery, parsed: ParsedQuery, compiled: CompiledQuery
    ) -> None:
        self.view = view
        self.request = request
        self.parsed = parsed
        self.compiled = compiled
        self.per_page = min(max(int(request.per_page or 20), 1), MAX_PER_PAGE)
        self.ordering = request.ordering if request.ordering in ORDERINGS else "relevance"

    def page(self) -> SearchPage:
        try:
            return self._page()
        finally:
            self.view._query_cache.clear()

    def _page(self) -> SearchPage:
        view, compiled = self.view, self.compiled
        unmatched: list[str] = []
        for unit in compiled.required:
            if not (view.alive_mask & view.unit_mask(unit)).any():
                unmatched.extend(unit.source)
        unmatched = list(dict.fromkeys(unmatched))
        docs, coverage, not_found = self._matching()
        total = int(np.count_nonzero(docs))
        if not total and compiled.required:
            corrected = self._corrected_search()
            if corrected is not None:
                return corrected
        num_pages = max(1, math.ceil(total / self.per_page))
        page_number = min(max(int(self.request.page or 1), 1), num_pages)
        offset = (page_number - 1) * self.per_page
        ranked = self._rank(docs, total, offset, coverage)
        words, phrases = compiled.highlight_terms()
        groups = compiled.highlight_groups()
        hits = []
        for docnum, score in ranked:
            stored = view.searcher.stored_fields(docnum)
            summary, body = stored.get("summary", ""), stored.get("body", "")
            hits.append(
                Hit(
                    id=int(stored["id"]),
                    slug=stored.get("slug", ""),
                    score=round(float(score), 4),
                    highlight=highlight(summary, body, words, phrases=phrases, groups=groups),
                )
            )
        countable = len(compiled.countable_units())
        relaxed = coverage is not None and total and int(coverage[docs].min()) < countable
        return SearchPage(
            hits=hits,
            total=total,
            page=page_number,
            num_pages=num_pages,
            facets=self._facets(docs),
            suggestion=self._suggestion(unmatched),
            unmatched_terms=unmatched,
            match="most" if relaxed else "all",
            not_found=not_found,
            expanded=compiled.expanded(),
            shortened=self.parsed.shortened,
        )

    def _matching(self) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        """The documents to list (a mask), how many meaningful units each matches,
        and the meaningful words no candidate contains.

        Quoted units are required and exclusions apply in every mode; the meaningful
        units are required all together when that finds `FEW_RESULTS` or more, and
        relaxed one by one otherwise (`relaxation_steps`). `coverage` is None when
        every unit was required.
        """
        view, compiled = self.view, self.compiled
        candidates = view.alive_mask
        for unit in compiled.must_units():
            candidates = candidates & view.unit_mask(unit)
        for unit in compiled.excluded:
            candidates = candidates & ~view.unit_mask(unit)
        candidates = self._filtered(candidates)
        units = compiled.countable_units()
        if not units:
            return candidates, None, []
        masks = [view.unit_mask(u) for u in units]
        strict = candidates
        for mask in masks:
            strict = strict & mask
        not_found = [
            word
            for unit, mask in zip(units, masks, strict=True)
            if not unit.stop and not (candidates & mask).any()
            for word in unit.source
        ]
        not_found = list(dict.fromkeys(not_found))
        steps = relaxation_steps(len(units), has_must=bool(compiled.must_units()))
        if np.count_nonzero(strict) >= FEW_RESULTS or len(steps) == 1 or not self.request.relax:
            return strict, None, not_found
        coverage = np.zeros(view.size, dtype=np.int16)
        for mask in masks:
            coverage += mask
        for least in steps:
            docs = candidates & (coverage >= least)
            if np.count_nonzero(docs) >= FEW_RESULTS or least == steps[-1]:
                return docs, coverage, not_found
        return strict, None, not_found

    def _strict_total(self, compiled: CompiledQuery) -> int:
        """How many articles match every meaningful word of `compiled` (with filters)."""
        view = self.view
        docs = view.alive_mask
        for unit in compiled.must_units() + compiled.countable_units():
            docs = docs & view.unit_mask(unit)
        for unit in compiled.excluded:
            docs = docs & ~view.unit_mask(unit)
        return int(np.count_nonzero(self._filtered(docs)))

    def _corrected_search(self) -> SearchPage | None:
        """The page for the corrected query, when the reader's own query found nothing."""
        replace = self._corrections()
        if not replace:
            return None
        parsed = parse_query(self.parsed.render(replace))
        compiled = compile_query(parsed, analyse, self.request.synonyms or ())
        if not self._strict_total(compiled):
            return None
        page = _Search(self.view, self.request, parsed, compiled)._page()
        return dataclasses.replace(
            page, corrected=parsed.render(), suggestion=None, shortened=self.parsed.shortened
        )

    def _filtered(self, docs: np.ndarray) -> np.ndarray:
        request = self.request
        hidden = self.view.scheduled_mask(request.visible_on)
        if hidden is not None:
            docs = docs & ~hidden
        wanted = [("disease", s) for s in request.diseases]
        wanted += [("therapy", s) for s in request.therapies]
        wanted += [("tag", s) for s in request.tags]
        if request.year is not None:
            wanted.append(("year", str(request.year)))
        for facet, value in wanted:
            value_docs = self.view.facet_masks(facet).get(str(value))
            docs = docs & value_docs if value_docs is not None else np.zeros_like(docs)
        return docs

    def _rank(
        self, docs: np.ndarray, total: int, offset: int, coverage: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """The page's (docnum, score) pairs; only the top `offset + per_page` are sorted.

        When not every word was required (`coverage`), articles matching more of the
        meaningful words come first in every ordering's relevance.
        """
        if not total:
            return []
        wanted = offset + self.per_page
        if self.ordering == "relevance" and self.compiled.required:
            return self._rank_by_relevance(docs, offset, wanted, coverage)
        # "title", "published_on", "-published_on"; relevance without words: newest first
        ordering = "-published_on" if self.ordering == "relevance" else self.ordering
        top = self.view.ordered(ordering, docs, wanted)
        return [(d, 0.0) for d in top[offset:wanted]]

    def _rank_by_relevance(
        self, docs: np.ndarray, offset: int, wanted: int, coverage: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """BM25F over the exact document set, computed from the postings in bulk.

        Whoosh's collector walks a tree of matchers, one Python call per posting per
        query term; here each term adds its contribution to a score array in one
        vectorised step, with document lengths from a per-segment cache. The weights
        already carry the section boosts (see `FoldedText`), so this is BM25F with
        Whoosh's parameters (B=0.75, K1=1.2) and idf. The arithmetic is the same,
        in the same order, as a per-document loop, so scores are exactly those.

        Multi-word synonym alternatives are not scored (they would add conjunctions
        of common words for no change in which documents match): documents matched
        only through one score 0 and follow the scored ones, newest first. Stopwords
        are not scored. With `coverage` (not every word required), the number of
        meaningful units matched comes before the score: coordination first.

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
        scored_units = [u for u in self.compiled.required if not u.stop]
        scored_units = scored_units or list(self.compiled.required)
        for alternatives in _scoring_units(tuple(scored_units)):
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
        return [(d, float(scores[d]) if matched[d] else 0.0) for d in page[offset:]]

    def _facets(self, docs: np.ndarray) -> dict[str, list[FacetCount]]:
        facets = {}
        for facet in FACETS:
            counts = []
            for value, value_docs in self.view.facet_masks(facet).items():
                count = int(np.count_nonzero(value_docs & docs))
                if count:
                    counts.append(FacetCount(value, count))
            counts.sort(key=lambda c: (-c.count, c.value))
            facets[facet] = counts
        return facets

    def _suggestion(self, unmatched: list[str]) -> str | None:
        """A corrected query that finds more articles (matching all its words), or None.

        Only words the library does not know are corrected (`correctable`), so a word
        any article, title or taxonomy name uses is never changed; see `_corrections`.
        """
        if not unmatched:
            return None
        replace = self._corrections()
        if not replace:
            return None
        suggestion = self.parsed.render(replace)
        if suggestion.casefold() == self.parsed.render().casefold():
            return None
        compiled = compile_query(parse_query(suggestion), analyse, self.request.synonyms or ())
        if not suggestion_helps(self._strict_total(self.compiled), self._strict_total(compiled)):
            return None
        return suggestion

    def _corrections(self) -> dict[str, str]:
        """Reader's word (casefolded) → the likeliest spelling from the library's words."""
        reader = self.view.searcher.reader()

        def known(word: str) -> bool:
            folded = normalize_word(word, stem=False)
            stemmed = normalize_word(word.casefold())
            return not folded or bool(
                reader.doc_frequency("text", stemmed) or reader.doc_frequency("spell", folded)
            )

        replace: dict[str, str] = {}
        plain = [
            word
            for group in self.parsed.required
            for clause in group
            if not clause.quoted
            for word in clause.words
        ]
        for word in dict.fromkeys(plain):
            if not correctable(word, known):
                continue
            folded = normalize_word(word, stem=False)
            best = self._correct(folded, correction_distance(folded))
            if best is not None and acceptable_correction(folded, best[0]):
                replace[word.casefold()] = best[0]
        return replace

    def _correct(self, word: str, max_distance: int) -> tuple[str, int] | None:
        """`_find_correction`, remembered for as long as the view (the index) is unchanged:
        questions repeat words the library does not know ("husband", "daughter"), and
        each look-up builds an automaton and walks every segment's vocabulary."""
        corrections = self.view.corrections
        key = (word, max_distance)
        if key not in corrections:
            if len(corrections) >= MAX_REMEMBERED_CORRECTIONS:
                corrections.clear()
            corrections[key] = self._find_correction(word, max_distance)
        return corrections[key]

    def _find_correction(self, word: str, max_distance: int) -> tuple[str, int] | None:
        """The most frequent `spell` term within edit distance 1, else up to `max_distance`."""
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
                scored = [(reader.doc_frequency("spell", c), c) for c in candidates]
                frequency, best = max(scored, key=lambda fc: (fc[0], [-ord(ch) for ch in fc[1]]))
                return best, frequency
        return None
