"""Answering a results page (`_Search`), related articles and autocomplete helpers.

The reader's query is parsed by our own small language (`search.backends.query`),
never Whoosh's QueryParser. `_Search` takes document sets from the `_View`: the
exact total, relaxation of the meaningful words when few articles match them all,
filters and facet counts; then BM25F is computed from the same postings over the
exact set and a heap picks just the page, so no matcher tree walks every posting.
Highlights use the engine-neutral `search.backends.text.highlight` with this
engine's analyser. Did-you-mean corrections come from the `spell` field's terms
(Levenshtein automata over every segment).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import heapq
import math
from collections.abc import Iterator

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
    lengths, alive = view.text_lengths, view.alive
    b, k1 = 0.75, 1.2
    scores: dict[int, float] = {}
    for token, weight in terms:
        ids, tfs, _values = view.postings(token)
        idf = math.log(total_docs / (len(ids) + 1)) + 1
        for docnum, tf in zip(ids, tfs, strict=True):
            if docnum in exclude or docnum not in alive:
                continue
            norm = k1 * (1 - b + b * lengths[docnum] / average)
            scores[docnum] = scores.get(docnum, 0.0) + weight * idf * tf * (k1 + 1) / (tf + norm)
    best = heapq.nsmallest(count, scores.items(), key=lambda item: (-item[1], item[0]))
    return [docnum for docnum, _score in best]


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
            if view.alive.isdisjoint(view.unit_docs(unit)):
                unmatched.extend(unit.source)
        unmatched = list(dict.fromkeys(unmatched))
        docs, coverage, not_found = self._matching()
        if not docs and compiled.required:
            corrected = self._corrected_search()
            if corrected is not None:
                return corrected
        total = len(docs)
        num_pages = max(1, math.ceil(total / self.per_page))
        page_number = min(max(int(self.request.page or 1), 1), num_pages)
        offset = (page_number - 1) * self.per_page
        ranked = self._rank(docs, offset, coverage)
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
        return SearchPage(
            hits=hits,
            total=total,
            page=page_number,
            num_pages=num_pages,
            facets=self._facets(docs),
            suggestion=self._suggestion(unmatched),
            unmatched_terms=unmatched,
            match="most" if coverage and min(coverage.values()) < countable else "all",
            not_found=not_found,
            expanded=compiled.expanded(),
            shortened=self.parsed.shortened,
        )

    def _matching(self) -> tuple[set[int] | frozenset[int], dict[int, int], list[str]]:
        """The documents to list, how many meaningful units each matches, and the
        meaningful words no candidate contains.

        Quoted units are required and exclusions apply in every mode; the meaningful
        units are required all together when that finds `FEW_RESULTS` or more, and
        relaxed one by one otherwise (`relaxation_steps`). `coverage` is empty when
        every unit was required.
        """
        view, compiled = self.view, self.compiled
        candidates: set[int] | frozenset[int] = view.alive
        for unit in compiled.must_units():
            candidates = candidates & view.unit_docs(unit)
        for unit in compiled.excluded:
            candidates = candidates - view.unit_docs(unit)
        candidates = self._filtered(candidates)
        units = compiled.countable_units()
        if not units:
            return candidates, {}, []
        sets = sorted((view.unit_docs(u) for u in units), key=len)
        strict = candidates.intersection(*sets) if sets[0] else set()
        not_found = [
            word
            for unit in units
            if not unit.stop and candidates.isdisjoint(view.unit_docs(unit))
            for word in unit.source
        ]
        not_found = list(dict.fromkeys(not_found))
        steps = relaxation_steps(len(units), has_must=bool(compiled.must_units()))
        if len(strict) >= FEW_RESULTS or len(steps) == 1 or not self.request.relax:
            return strict, {}, not_found
        coverage: dict[int, int] = dict.fromkeys(candidates, 0) if steps[-1] == 0 else {}
        for unit_docs in sets:
            for docnum in unit_docs & candidates:
                coverage[docnum] = coverage.get(docnum, 0) + 1
        for least in steps:
            docs = {d for d, n in coverage.items() if n >= least}
            if len(docs) >= FEW_RESULTS or least == steps[-1]:
                return docs, {d: coverage[d] for d in docs}, not_found
        return strict, {}, not_found

    def _strict_total(self, compiled: CompiledQuery) -> int:
        """How many articles match every meaningful word of `compiled` (with filters)."""
        view = self.view
        docs: set[int] | frozenset[int] = view.alive
        for unit in compiled.must_units() + compiled.countable_units():
            docs = docs & view.unit_docs(unit)
        for unit in compiled.excluded:
            docs = docs - view.unit_docs(unit)
        return len(self._filtered(docs))

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

    def _filtered(self, docs):
        request = self.request
        hidden = self.view.scheduled(request.visible_on)
        if hidden:
            docs = docs - hidden
        wanted = [("disease", s) for s in request.diseases]
        wanted += [("therapy", s) for s in request.therapies]
        wanted += [("tag", s) for s in request.tags]
        if request.year is not None:
            wanted.append(("year", str(request.year)))
        for facet, value in wanted:
            docs = self.view.facet_docs(facet).get(str(value), set()).intersection(docs)
        return docs

    def _rank(self, docs, offset: int, coverage: dict[int, int]) -> list[tuple[int, float]]:
        """The page's (docnum, score) pairs; only the top `offset + per_page` are scored.

        When not every word was required (`coverage`), articles matching more of the
        meaningful words come first in every ordering's relevance.
        """
        if not docs:
            return []
        wanted = offset + self.per_page
        published, titles = self.view.published, self.view.title_sort
        if self.ordering == "relevance" and self.compiled.required:
            return self._rank_by_relevance(docs, offset, wanted, coverage)
        if self.ordering == "title":
            top = heapq.nsmallest(wanted, docs, key=lambda d: (titles[d], -published[d], d))
        elif self.ordering == "published_on":
            top = heapq.nsmallest(wanted, docs, key=lambda d: (published[d], titles[d], d))
        else:  # "-published_on", and relevance without words: newest first
            top = heapq.nsmallest(wanted, docs, key=lambda d: (-published[d], titles[d], d))
        return [(d, 0.0) for d in top[offset:wanted]]

    def _rank_by_relevance(
        self, docs, offset: int, wanted: int, coverage: dict[int, int]
    ) -> list[tuple[int, float]]:
        """BM25F over the exact document set, computed from the postings already read.

        Whoosh's collector walks a tree of matchers, one Python call per posting per
        query term; scoring here is one loop per term over (docnum, weight) pairs,
        with document lengths from a per-segment cache, then a heap for the page.
        The weights already carry the section boosts (see `FoldedText`), so this is
        BM25F with Whoosh's parameters (B=0.75, K1=1.2) and idf.

        Multi-word synonym alternatives are not scored (they would add conjunctions
        of common words for no change in which documents match): documents matched
        only through one score 0 and follow the scored ones, newest first. Stopwords
        are not scored. With `coverage` (not every word required), the number of
        meaningful units matched comes before the score: coordination first.
        """
        view = self.view
        searcher = view.searcher
        lengths = view.text_lengths
        total_docs = searcher.doc_count_all()
        average = (searcher.field_length("text") / total_docs) if total_docs else 1.0
        average = average or 1.0
        b, k1 = 0.75, 1.2
        norms: dict[int, float] = {}
        scores: dict[int, float] = dict.fromkeys(docs, 0.0)
        matched = set(docs)
        scored_units = [u for u in self.compiled.required if not u.stop]
        scored_units = scored_units or list(self.compiled.required)
        for alternatives in _scoring_units(tuple(scored_units)):
            unit_docs: set[int] = set()
            for tokens in alternatives:
                unit_docs |= set.intersection(*(view.term_docs(t) for t in tokens))
                for token in dict.fromkeys(tokens):
                    ids, weights, _values = view.postings(token)
                    idf = math.log(total_docs / (len(ids) + 1)) + 1
                    for docnum, tf in zip(ids, weights, strict=True):
                        if docnum in scores:
                            norm = norms.get(docnum)
                            if norm is None:
                                norm = norms[docnum] = k1 * (1 - b + b * lengths[docnum] / average)
                            scores[docnum] += idf * tf * (k1 + 1) / (tf + norm)
            matched &= unit_docs
        published, titles = view.published, view.title_sort
        if coverage:
            matched = set(docs)
        top = heapq.nsmallest(
            wanted,
            docs,
            key=lambda d: (
                -coverage.get(d, 0),
                d not in matched,
                -scores[d],
                -published[d],
                titles[d],
                d,
            ),
        )
        return [(d, scores[d] if d in matched else 0.0) for d in top[offset:wanted]]

    def _facets(self, docs) -> dict[str, list[FacetCount]]:
        facets = {}
        for facet in FACETS:
            counts = []
            for value, value_docs in self.view.facet_docs(facet).items():
                count = len(value_docs.intersection(docs))
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
