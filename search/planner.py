"""How a results page is built, once, for every engine.

A backend answers `search()` by handing `plan_page` a small set of operations
(`Operations`) for one request; everything a reader sees follows from the steps
below, written here and nowhere else:

1. **Parse** the reader's words (`search.backends.query.parse_query`) and let the
   engine compile them with its own analyser (`Operations.compile`).
2. **Strict match**: the candidates (filters, scheduled articles hidden, quoted units
   required, exclusions applied) that contain every meaningful unit. It is counted
   first (`Operations.count`): when it finds `FEW_RESULTS` or more, that is the match.
2b. **Hyphenated words by their parts**: a plain hyphenated word is a phrase of its
   parts; when no candidate holds it ("insulin-independence", "FDA-approved"), the
   query is searched with its parts as ordinary words (`Planner.split_page`), before
   relaxing or correcting, so an article holding "insulin" is credited for it. Quoted
   words, exclusions and `OR` alternatives stay as typed.
3. **Relax by steps** only when the strict match finds too few: one histogram of how
   many meaningful units each candidate matches (`Operations.coverage_counts`), then
   the first step of `relaxation_steps` that finds enough; articles matching more
   units rank first (`Ordering.coverage`). A question naming a disease or therapy
   (the answer stage's `topic_units`) matches every article naming it instead, those
   with more of its other words first: its other words may go, its topic never
   (`Planner.topical`). A question naming none but stating an intent is matched so by
   its intent's words when its strict match found only a few articles (3 to 19).
4. **Rank, facets and page**: the total comes from the counts above, the page number
   is clamped to the last page, and the engine ranks just `offset + per_page`
   articles of the match set and counts its facets (`Operations.page`, one call, so
   an engine can answer both from one evaluation of the set).
5. **Snippets**: the texts of the page's articles only (`Operations.texts`), marked by
   the engine-neutral highlighter with the engine's word-to-term function.
6. **Corrections**, wherever the misspelt word stands in the query, by PubMed's rules:
   never a word shorter than 5 letters, a known English word (the shipped list) or a
   word the library contains. The reader's plain words the library does not know are
   looked up in one call (`Operations.unknown_words`), their nearest library words in
   another (`Operations.spelling_candidates`). When the reader's own query finds little
   (it relaxed, or fewer than `FEW_RESULTS` articles have every word) and the corrected
   one finds more articles with every word, the corrected results are served, saying
   so (`SearchPage.corrected`); otherwise a correction that finds more is only the
   page's "Did you mean".
6b. **Loosened phrases**: when the query finds no article at all and the reader
   quoted a phrase, the phrase's words are searched as ordinary words instead (ranked,
   relaxed, never corrected), saying so (`SearchPage.loosened`): readers quote words
   in prose ("can lupus “go away”?"). A phrase that finds articles stays exact.

7. **Answer stage** (a question with a vocabulary, `search.answering`): what the
   question names is understood, an editor's pick leads page 1, the engine's first
   rows are re-ranked by their sections, the topics they are filed under and their
   intent tags (`Operations.details`, one call), each hit shows the section that
   answers, and a page where nothing is about the question's main topic says so.
   It wraps `Planner.answer`, the one place that turns a plan into the page, so it
   is written once for every engine.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from search.backends.base import FACETS, ORDERINGS, FacetCount, Hit, SearchPage, SearchQuery
from search.backends.query import (
    FEW_RESULTS,
    CompiledQuery,
    ParsedQuery,
    Unit,
    acceptable_correction,
    correctable,
    correction_distance,
    is_hyphenated,
    loosen_phrases,
    parse_query,
    relaxation_steps,
    split_hyphens,
    suggestion_helps,
)
from search.backends.text import highlight

MAX_PER_PAGE = 100

#: An engine's match set: a NumPy mask for Whoosh, a SQL condition for PostgreSQL.
#: The planner never looks inside it.
MatchSet = Any


@dataclass(frozen=True)
class Ordering:
    """How `Operations.page` orders the match set.

    `by` is one of `ORDERINGS`; "relevance" always comes with `scored` (the units
    whose terms are scored: meaningful ones, or every one when all are stopwords).
    With `coverage` (the meaningful units, when not every one was required) the
    number of them an article matches comes before everything else.
    """

    by: str
    scored: tuple[Unit, ...] = ()
    coverage: tuple[Unit, ...] = ()


@dataclass(frozen=True)
class Row:
    """One article of a page as the engine ranked it; `ref` is the engine's handle."""

    ref: Any
    score: float


@dataclass(frozen=True)
class Text:
    """What a snippet is cut from, for one article of the page."""

    id: int
    slug: str
    summary: str
    body: str


@dataclass(frozen=True)
class Details:
    """What the answer stage re-ranks one row by: its title, the slugs it is filed
    under ("disease", "therapy", "tag" → slugs) and where its body's sections start
    ((heading, anchor, offset in the body), as `SearchDocument.sections`)."""

    title: str
    facets: dict[str, tuple[str, ...]]
    sections: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class Coverage:
    """Which of a question's units each row matches (indices into the units, per row),
    how many documents match each unit (an engine may cap large counts at
    `FREQUENCY_CAP`: every word that common weighs alike) and how many documents the
    library holds: what the answer stage weighs a relaxed match's words by (rarer
    words count more, as in BM25's idf)."""

    matched: list[frozenset[int]]
    frequencies: tuple[int, ...]
    documents: int


FREQUENCY_CAP = 1000


@dataclass(frozen=True)
class Candidate:
    """A library word near a reader's word, and how many titles and names use it."""

    word: str
    distance: int
    frequency: int


class Operations(Protocol):
    """What an engine supplies for one request (see each engine's implementation)."""

    def compile(self, parsed: ParsedQuery, synonyms: tuple) -> CompiledQuery:
        """The query analysed by this engine, synonyms expanded."""

    def candidates(self, compiled: CompiledQuery, request: SearchQuery) -> MatchSet:
        """Documents passing the filters, visible on `request.visible_on`, containing
        every quoted unit and none of the excluded ones."""

    def strict(self, within: MatchSet, units: tuple[Unit, ...]) -> MatchSet:
        """The documents of `within` matching every one of `units`."""

    def at_least(self, within: MatchSet, units: tuple[Unit, ...], least: int) -> MatchSet:
        """The documents of `within` matching at least `least` of `units`."""

    def count(self, documents: MatchSet) -> int:
        """How many documents the set holds."""

    def coverage_counts(
        self, within: MatchSet, units: tuple[Unit, ...], *, zero: bool
    ) -> dict[int, int]:
        """Units matched → how many documents of `within` match exactly that many
        (documents matching none are counted only with `zero`)."""

    def units_found(self, units: tuple[Unit, ...], within: MatchSet | None) -> list[bool]:
        """For each unit, whether any document of `within` (None: the whole index)
        matches it."""

    def page(
        self, documents: MatchSet, ordering: Ordering, offset: int, limit: int
    ) -> tuple[list[Row], dict[str, dict[str, int]]]:
        """The `limit` documents after `offset` in `ordering`, and the facet counts of
        the whole set (facet name → value → count, zero counts left out)."""

    def texts(self, rows: list[Row]) -> list[Text]:
        """Id, slug, summary and body of each row, in order."""

    def normaliser(self, texts: list[Text], wanted: frozenset[str]) -> Callable[[str], str]:
        """The engine's word → index term function, ready for these texts (an engine
        may analyse the words that could match `wanted` in one batch first)."""

    def unknown_words(self, words: list[str]) -> dict[str, str]:
        """Of the reader's `words`, those no document, title or taxonomy name uses:
        each mapped to its folded, unstemmed spelling."""

    def spelling_candidates(self, words: dict[str, int]) -> dict[str, list[Candidate]]:
        """For each folded word, the library's words within its distance (the value),
        starting with the same letter. An engine may leave out candidates farther
        than the nearest acceptable one (`acceptable_correction`)."""

    def details(self, rows: list[Row]) -> list[Details]:
        """Title, filed topics and tags, and sections of each row, in order (the answer
        stage asks once per question, for the rows it re-ranks)."""

    def coverage(self, rows: list[Row], units: tuple[Unit, ...]) -> Coverage:
        """Which of `units` each row matches, and each unit's document frequency (the
        answer stage asks once for a relaxed question's window)."""

    def find(self, ids: list[int], within: MatchSet) -> list[Row]:
        """The articles of `ids` (article ids) that `within` holds, as rows whose
        texts `texts` can then give (editors' picks)."""


def empty_page() -> SearchPage:
    return SearchPage(hits=[], total=0, page=1, num_pages=1, facets=no_facets())


def no_facets() -> dict[str, list[FacetCount]]:
    return {facet: [] for facet in FACETS}


def plan_page(operations: Operations, request: SearchQuery) -> SearchPage:
    """Answer one results page with an engine's `operations`."""
    parsed = parse_query(request.text or "")
    synonyms = tuple(tuple(group) for group in (request.synonyms or ()))
    compiled = operations.compile(parsed, synonyms)
    return Planner(operations, request, parsed, compiled).answer()


class Planner:
    """One results page: the match, the page, snippets and corrections (module docstring)."""

    def __init__(
        self,
        operations: Operations,
        request: SearchQuery,
        parsed: ParsedQuery,
        compiled: CompiledQuery,
        corrections: dict[str, str] | None = None,
    ) -> None:
        self.ops = operations
        self.request = request
        self.parsed = parsed
        self.compiled = compiled
        self.per_page = min(max(int(request.per_page or 20), 1), MAX_PER_PAGE)
        self.ordering = request.ordering if request.ordering in ORDERINGS else "relevance"
        self.units = compiled.countable_units()
        self._corrections = corrections
        self._strict_total: int | None = None
        self._correction_plan: _Correction | type[_Unset] | None = _Unset
        self._serve_correction = False
        self._stage: Any = None  # the answer stage, for a question with a vocabulary
        self._exact: frozenset[str] = frozenset()  # words of loosened phrases: never corrected
        self._unheld: set[str] = set()  # hyphenated words no candidate holds (`match`)
        self._split = False  # the query's unheld hyphenated words are split already

    # -- the seam: a page of results for this plan

    def answer(self) -> SearchPage:
        """The page a reader sees. A question with a vocabulary goes through the answer
        stage (`search.answering`: understanding, editors' picks, the window re-ranked
        by sections, topics and intents, the best section under each hit, "nothing
        answers"); anything else is the keyword page, `keyword_page()`."""
        vocabulary = self.request.vocabulary
        if vocabulary is None or not self.parsed.required:
            return self.keyword_page()
        from search.answering import AnswerStage  # it builds on this module's types

        self._stage = AnswerStage(self, vocabulary)
        page = self.keyword_page()  # a served correction replaces the stage (`corrected_page`)
        return self._stage.finish(page)

    def ranked(
        self, candidates: MatchSet, documents: MatchSet, ordering: Ordering, offset: int
    ) -> tuple[list[Row], dict[str, dict[str, int]]]:
        """The page's rows and the match's facets: the engine's, or the answer stage's."""
        if self._stage is None:
            return self.ops.page(documents, ordering, offset, self.per_page)
        return self._stage.page(candidates, documents, ordering, offset, self.per_page)

    def keyword_page(self) -> SearchPage:
        candidates = self.ops.candidates(self.compiled, self.request)
        documents, total, fewest, found = self.match(candidates)
        if self._unheld:  # decided by `match`, before relaxing or correcting
            return self.split_page()
        if self._serve_correction:  # decided by `match`, before relaxing
            corrected = self.corrected_page()
            if corrected is not None:
                return corrected
        if not total and self.request.relax:  # `relax=False`: every unit as typed
            loosened = self.loosened_page()
            if loosened is not None:
                return loosened
        unmatched = self.unmatched(found)
        not_found = [
            word
            for unit, here in zip(self.units, found, strict=True)
            if not here and not unit.stop
            for word in unit.source
        ]
        num_pages = max(1, math.ceil(total / self.per_page))
        page_number = min(max(int(self.request.page or 1), 1), num_pages)
        offset = (page_number - 1) * self.per_page
        ordering = self._ordering(relaxed=fewest is not None)
        rows, counts = [], {}
        if total:
            rows, counts = self.ranked(candidates, documents, ordering, offset)
        return SearchPage(
            hits=self.hits(rows),
            total=total,
            page=page_number,
            num_pages=num_pages,
            facets=_facets(counts),
            suggestion=self.suggestion(unmatched),
            unmatched_terms=unmatched,
            match="most" if fewest is not None and fewest < len(self.units) else "all",
            not_found=list(dict.fromkeys(not_found)),
            expanded=self.compiled.expanded(),
            shortened=self.parsed.shortened,
        )

    # -- the match

    def match(self, candidates: MatchSet) -> tuple[MatchSet, int, int | None, list[bool]]:
        """The documents to list, their number, the fewest meaningful units a listed
        document matches when not every unit was required (else None), and for each
        meaningful unit whether any candidate matches it.

        Every meaningful unit is required when that finds `FEW_RESULTS` or more, and
        one fewer at a time otherwise (`relaxation_steps`): the strict count comes
        first, and the histogram only when it found too few and no correction is served
        instead (`correction_serves`: a word no candidate matches may be misspelt). A
        question naming a disease or therapy, and other words, matches every article
        naming it instead (`topical`), those with more of its words first: always when
        it is written as a sentence (it holds a stopword: "what does HSCT treat"),
        else only when the strict match found too few, so that keywords
        (`stem cell lupus`) keep their precise meaning.
        """
        ops, units = self.ops, self.units
        if not units:
            return candidates, ops.count(candidates), None, []
        strict = ops.strict(candidates, units)
        strict_total = self._strict_total
        if strict_total is None:  # else counted already (a corrected query, `corrected_page`)
            strict_total = self._strict_total = ops.count(strict)
        found = [True] * len(units) if strict_total else ops.units_found(units, candidates)
        if self.request.relax and not self._split and not all(found):
            self._unheld = {
                unit.source[0].casefold()
                for unit, here in zip(units, found, strict=True)
                if not here and is_hyphenated(unit)
            }
            if self._unheld:  # searched by their parts instead (`split_page`)
                return strict, 0, None, found
        if strict_total < FEW_RESULTS and not all(found) and self.correction_serves(strict_total):
            # A misspelling found little: the corrected query is served, not relaxed.
            return strict, strict_total, None, found
        steps = relaxation_steps(len(units), has_must=bool(self.compiled.must_units()))
        sentence = any(unit.stop for unit in self.compiled.required)
        topical = None
        if self.request.relax and (sentence or strict_total < FEW_RESULTS):
            topical = self.topical(candidates, found)
        if topical is not None:  # every candidate naming the question's topics
            within, histogram, least = topical
            fewest = min(c for c, n in histogram.items() if n)
            return ops.at_least(within, units, least), sum(histogram.values()), fewest, found
        if strict_total >= FEW_RESULTS or len(steps) == 1 or not self.request.relax:
            return strict, strict_total, None, found
        histogram = ops.coverage_counts(candidates, units, zero=steps[-1] == 0)
        for least in steps:
            total = sum(n for covered, n in histogram.items() if covered >= least)
            if total >= FEW_RESULTS or least == steps[-1]:
                break
        fewest = min((c for c, n in histogram.items() if c >= least and n), default=len(units))
        return ops.at_least(candidates, units, least), total, fewest, found

    def topical(
        self, candidates: MatchSet, found: list[bool]
    ) -> tuple[MatchSet, dict[int, int], int] | None:
        """For a question naming a disease or therapy: the candidates holding every
        unit that names one (the answer stage's `topic_units`; for a question naming
        none, the units stating its intent, when its strict match found few), the
        histogram of how many units each matches, and that many units (each of them
        matches at least those); None when the question names none, or nothing else,
        or fewer candidates than the stage asks for hold them (`found`: for each unit,
        whether a candidate matches it; a unit none matches costs no statement).

        Such a question's other words are never all required, and its topic always
        is: the match is every article naming the topic, those with more of the
        question's words first (`Ordering.coverage`), re-ranked by the answer stage.
        Requiring every word would leave out the guide to the topic when it lacks one
        general word ("What does HSCT treat?"), and relaxing by the number of words
        alone would put an article lacking the topic but holding more general words
        ("everyone", "kids") first.
        """
        ops, units = self.ops, self.units
        if self._stage is None:
            return None
        kept, least = self._stage.topic_units(units, self._strict_total or 0)
        if not kept or len(kept) == len(units):
            return None
        if not all(here for unit, here in zip(units, found, strict=True) if unit in kept):
            return None
        within = ops.strict(candidates, kept)
        histogram = ops.coverage_counts(within, units, zero=False)
        if sum(histogram.values()) < least:
            return None
        return within, histogram, len(kept)

    def strict_total(self, compiled: CompiledQuery | None = None) -> int:
        """How many articles match every meaningful unit of `compiled` (with filters)."""
        if compiled is None and self._strict_total is not None:
            return self._strict_total
        compiled = compiled or self.compiled
        candidates = self.ops.candidates(compiled, self.request)
        return self.ops.count(self.ops.strict(candidates, compiled.countable_units()))

    def unmatched(self, found_in_candidates: list[bool]) -> list[str]:
        """The reader's words of every unit that matches no document at all."""
        known = {u for u, here in zip(self.units, found_in_candidates, strict=True) if here}
        if found_in_candidates and all(found_in_candidates):
            known |= set(self.compiled.must_units())  # the candidates contain them
        asked = tuple(u for u in self.compiled.required if u not in known)
        words: list[str] = []
        if asked:
            for unit, here in zip(asked, self.ops.units_found(asked, None), strict=True):
                if not here:
                    words.extend(unit.source)
        return list(dict.fromkeys(words))

    def _ordering(self, *, relaxed: bool) -> Ordering:
        if self.ordering == "relevance" and self.compiled.required:
            scored = tuple(u for u in self.compiled.required if not u.stop)
            return Ordering(
                "relevance",
                scored=scored or self.compiled.required,
                coverage=self.units if relaxed else (),
            )
        # Relevance without words to score: newest first.
        return Ordering("-published_on" if self.ordering == "relevance" else self.ordering)

    # -- snippets

    def hits(self, rows: list[Row]) -> list[Hit]:
        if not rows:
            return []
        texts = self.ops.texts(rows)
        terms, phrases = self.compiled.highlight_terms()
        groups = self.compiled.highlight_groups()
        wanted = terms | {token for phrase in phrases for token in phrase}
        normalise = self.ops.normaliser(texts, wanted)
        return [
            Hit(
                id=text.id,
                slug=text.slug,
                score=round(float(row.score), 4),
                highlight=highlight(
                    text.summary,
                    text.body,
                    terms,
                    normalise,
                    phrases=phrases,
                    groups=groups,
                    body_marks=self._stage.marks(row.ref) if self._stage else None,
                ),
            )
            for row, text in zip(rows, texts, strict=True)
        ]

    # -- corrections

    def corrections(self) -> dict[str, str]:
        """Reader's word (casefolded) → the likeliest spelling from the library's words.

        Only words that may be corrected at all (`correctable`: 5 letters or more, not a
        known English word) and that the library does not know are corrected, so a word
        any article, title or taxonomy name uses is never changed. Looked up once per
        request, all unknown words in one call and their candidates in another; none
        when the reader asked for the words as typed (`SearchQuery.correct_spelling`).
        """
        if self._corrections is not None:
            return self._corrections
        if not self.request.correct_spelling:
            self._corrections = {}
            return self._corrections
        plain = [
            word
            for group in self.parsed.required
            for clause in group
            if not clause.quoted
            for word in clause.words
            if word.casefold() not in self._exact
        ]
        # The checks that need no index first; the engine then sees each word once.
        asked = [w for w in dict.fromkeys(plain) if correctable(w)]
        unknown = self.ops.unknown_words(asked) if asked else {}
        replace: dict[str, str] = {}
        wanted = {folded: correction_distance(folded) for folded in unknown.values()}
        found = self.ops.spelling_candidates(wanted) if wanted else {}
        for word, folded in unknown.items():
            if folded not in wanted:
                continue
            best = _best_correction(folded, wanted[folded], found.get(folded, []))
            if best is not None:
                replace[word.casefold()] = best
        self._corrections = replace
        return replace

    def suggestion(self, unmatched: list[str]) -> str | None:
        """A corrected query that finds more articles (matching all its words), or None.

        Asked only when a word matched nothing, or a word of an OR group may have (the
        group as a whole matched): other words are in the library, never corrected.
        """
        if not unmatched and not any(len(group) > 1 for group in self.parsed.required):
            return None
        correction = self._correction()
        if correction is None or not suggestion_helps(self.strict_total(), correction.total):
            return None
        return correction.text

    def corrected_page(self) -> SearchPage | None:
        """The page for the corrected query, when it finds more articles with every word
        than the reader's own, which found little (`keyword_page`).

        The plan becomes the corrected query's (parsed, compiled, its strict count
        reused), so a stage after `keyword_page` (`answer`) reads the query the page is
        for; `SearchPage.corrected` says which.
        """
        correction = self._correction()
        if correction is None or not suggestion_helps(self.strict_total(), correction.total):
            return None
        original = self.parsed
        self.parsed, self.compiled = correction.parsed, correction.compiled
        self.units = self.compiled.countable_units()
        self._strict_total = correction.total
        self._corrections, self._correction_plan, self._serve_correction = {}, None, False
        if self._stage is not None:  # the answer stage reads the corrected question
            from search.answering import AnswerStage

            self._stage = AnswerStage(self, self._stage.vocabulary, text=correction.text)
        page = self.keyword_page()
        return dataclasses.replace(
            page, corrected=correction.text, suggestion=None, shortened=original.shortened
        )

    # -- hyphenated words by their parts

    def split_page(self) -> SearchPage:
        """The page for the query with each hyphenated word no candidate holds as such
        ("insulin-independence") searched as its parts, ordinary words (`match` found
        them unheld).

        The plan becomes the split query's, so the parts rank, relax and are understood
        like any other words: an article holding "insulin" gets credit for it. A
        hyphenated word some article holds stays a phrase of its parts.
        """
        parsed = split_hyphens(self.parsed, self._unheld)
        self._unheld, self._split = set(), True
        self._replan(parsed)
        return self.keyword_page()

    # -- loosened phrases

    def loosened_page(self) -> SearchPage | None:
        """The page for the reader's quoted phrases searched as ordinary words, when the
        query with them found nothing (`keyword_page`); None when it quoted none.

        The plan becomes the loosened query's, so its words rank, relax and are
        understood like any others; they are still never corrected (the reader quoted
        them). `SearchPage.loosened` names the phrases.
        """
        parsed, phrases = loosen_phrases(self.parsed)
        if not phrases:
            return None
        self._exact |= {w.casefold() for phrase in phrases for w in phrase.split()}
        self._replan(parsed)
        page = self.keyword_page()
        return dataclasses.replace(page, loosened=phrases if page.total else [])

    def _replan(self, parsed: ParsedQuery) -> None:
        """Make `parsed` (the reader's query rewritten: phrases loosened, hyphenated words
        split) this plan's query: compiled, counted and corrected afresh, and read anew
        by the answer stage, which works on the plan's words."""
        self.parsed, self.compiled = parsed, self.ops.compile(parsed, self._synonyms())
        self.units = self.compiled.countable_units()
        self._strict_total = None
        self._correction_plan, self._serve_correction = _Unset, False
        if self._stage is not None:
            from search.answering import AnswerStage

            self._stage = AnswerStage(self, self._stage.vocabulary, text=self._stage.text)

    def _correction(self) -> _Correction | None:
        """The reader's query with its misspellings corrected, compiled and counted
        (articles matching all its words); None when nothing is corrected. Once per plan."""
        if self._correction_plan is _Unset:
            self._correction_plan = None
            replace = self.corrections()
            text = self.parsed.render(replace) if replace else ""
            if text and text.casefold() != self.parsed.render().casefold():
                parsed = parse_query(text)
                compiled = self.ops.compile(parsed, self._synonyms())
                self._correction_plan = _Correction(
                    text, parsed, compiled, self.strict_total(compiled)
                )
        return self._correction_plan  # type: ignore[return-value]

    def correction_serves(self, strict_total: int) -> bool:
        """Whether the corrected query finds more articles with every word than the
        reader's own (`strict_total`, which found little, and a word of it none of the
        candidates): then `keyword_page` serves it (`corrected_page`)."""
        correction = self._correction()
        self._serve_correction = correction is not None and suggestion_helps(
            strict_total, correction.total
        )
        return self._serve_correction

    def _synonyms(self) -> tuple:
        return tuple(tuple(group) for group in (self.request.synonyms or ()))


class _Unset:
    """`Planner._correction` not worked out yet."""


@dataclass(frozen=True)
class _Correction:
    """A corrected query: as text, parsed, compiled, and how many articles have every
    one of its words."""

    text: str
    parsed: ParsedQuery
    compiled: CompiledQuery
    total: int


def _best_correction(word: str, max_distance: int, found: list[Candidate]) -> str | None:
    """The most frequent acceptable candidate at distance 1, else up to `max_distance`
    (ties: the alphabetically first)."""
    for distance in range(1, max_distance + 1):
        near = [
            (c.frequency, c.word)
            for c in found
            if c.distance <= distance and c.word != word and acceptable_correction(word, c.word)
        ]
        if near:
            return max(near, key=lambda fc: (fc[0], [-ord(ch) for ch in fc[1]]))[1]
    return None


def _facets(counts: dict[str, dict[str, int]]) -> dict[str, list[FacetCount]]:
    facets = no_facets()
    for facet in FACETS:
        values = [FacetCount(value, n) for value, n in (counts.get(facet) or {}).items() if n]
        values.sort(key=lambda c: (-c.count, c.value))
        facets[facet] = values
    return facets
