"""The answer stage: the first result answers the question (issue 19), for every engine.

`Planner.answer` hands a question with a vocabulary to `AnswerStage`, which works on
the engine's keyword ranking and never looks inside an engine:

1. **Understand** the question (`search.understanding`): the diseases and therapies
   it names, and the reader intents it states. A question naming neither but stating
   an intent is matched by its intent's words when its strict match found only a few
   articles (`topic_units`), as one naming a topic is by its topic.
2. **Editors' picks**: a pin whose query has the question's analysed form
   (`search.backends.query.analysed_key`) leads page 1, labelled, if its article
   passes the filters and is published (`Operations.find`, only when a pin matches).
3. **Re-rank a window**: for relevance order, the engine's first `WINDOW` rows (one
   `Operations.page` call) and their titles, filed topics, tags and section headings
   (`Operations.details`, one call; no text is read), re-scored together: the
   engine's score within the window, filed under a topic the question names (more
   for an article filed under few terms of that kind: it is about the topic, not one
   of many), a title naming it (more by its own name than by an alias), tagged for
   its intent or with a section whose heading names the intent, a title stating the
   intent ("How to Find and Judge a Clinical Trial"); a title or section
   heading holding what the question asks about its topic (its aspect: the words
   that name no topic and are in few of the window's titles, "vaccinated" in "why
   get vaccinated after a transplant", or the articles' word beside the reader's in a
   synonym group, "Children" for "kids"), so the article about that aspect comes
   before the topic's general guide, and more when the title itself names it
   (`title_aspect`: a question naming a topic and asking one short thing of it); for
   a question whose words were relaxed (or matched by its topic), the share of its
   words each row holds, each weighing its idf (`Operations.coverage`, one call).
   Pages inside the window are cut from the new order; pages beyond it follow the
   engine's.
4. **Best section under each result** (the page's hits only, questions of two words
   or more): the section holding most of the question's words (counted again in its
   heading; an intent heading adds), shown when it clearly answers (half the words or
   more, or an intent heading with some of them), with its heading, anchor and best
   sentence, the words marked.
5. **Say when nothing answers**: no article in the window is filed under the
   question's main topic (its diseases, else its therapies); a word no article
   contains looks like the name of a disease or drug; everything the question asks about
   its topic is in words no article contains, and the first result's title and
   headings hold none of them ("Where is HSCT performed?"); or the first result is filed
   under nothing the question names and its best section holds under a quarter of
   the question's words (or many of them are in no article), or its title and
   section headings hold none of the question's distinctive words (it holds them only
   in passing), or its body lacks more than half of what the question asks, words
   other articles hold (`_lacks_aspect`); or, filed or not, it holds under a quarter
   of the question's words while two or more of them are in no article
   (`_unknown_post`): `SearchPage.answer = "none"`.

Section scanning is the snippet highlighter's candidate scan (`text.body_marks`),
done once per hit and shared with its snippet: one compiled regex over each folded
body, the engine's word-to-term function only on candidate words (PostgreSQL
analyses the page's candidates in one batch).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from search.backends.base import AnswerSection, Hit, SearchPage, Topic, Vocabulary
from search.backends.query import (
    FEW_RESULTS,
    MIN_CORRECTABLE,
    STOPWORDS,
    Unit,
    analysed_key,
    is_english_word,
)
from search.backends.text import SCAN_CHARS, WORD_RE, body_marks, candidate_pattern, highlight
from search.understanding import (
    describe,
    heading_matches,
    intent_words,
    named_intents,
    named_topics,
    phrase_terms,
    question_terms,
    titled_by_name,
    topic_words,
    understand,
)

if TYPE_CHECKING:
    from search.planner import Details, MatchSet, Ordering, Planner, Row, Text

WINDOW = 40  # rows of the engine's ranking a question re-ranks
# Weights of the re-ranking evidence (the engine's own evidence counts 1 at most).
FILED = 0.9  # filed under every topic the question names
ABOUT = 0.5  # a title naming every topic the question names, by its own name
BY_ALIAS = 0.5  # share of `ABOUT` for a title naming a topic only by an alias
SPECIFIC = 0.3  # filed under the named topics and no other term of their kind
COVERED = 0.25  # a relaxed match holding all the question's words, rarer words weighing more
INTENT = 0.3  # tagged or sectioned for the question's intent
INTENT_TITLE = 0.3  # a title stating the question's intent ("Clinical Trial", "Costs")
INTENT_HEADING = 0.5  # a section whose heading names the question's intent
ASPECT = 0.4  # every word of what the question asks about its topic in the title or a heading
ASPECT_TITLE = 0.5  # every word of that aspect (`title_aspect`) in the title itself
TITLE_ASPECT_WORDS = 3  # words of an aspect a title can name (a long post asks many things)
COMMON_IN_LIBRARY = 0.5  # share of the library's articles a word is in: it says what none is about
PRIOR = 0.0  # how much of the engine's evidence is its rank (the rest: its score)
# Articles holding every word of a question below which one stating an intent and naming
# no topic is matched by its intent instead (fewer than a results page, yet enough not
# to relax: a general word the answer lacks, "considering", may have left it out).
INTENT_MATCH_BELOW = 20
# Word endings of disease and drug names: a word no article contains that ends so is
# a topic the library lacks ("sarcoidosis", "rituximab").
TOPIC_ENDINGS = (
    "itis", "osis", "oma", "emia", "aemia", "pathy", "iasis", "algia", "mab", "nib",
    "plasia", "trophy", "syndrome",
)  # fmt: skip
WEAK = 0.25  # share of the question's words below which a first result is only close
MANY_UNKNOWN = 6  # words of a question that no article contains: it is about something else
UNKNOWN_LEAST = 2  # such words beside a weak first result: even a filed one is only close
COMMON_IN_TITLES = 0.25  # share of the window's titles a word is in: it says nothing of one
COMMON_TITLES = 2  # titles a word may be in and still be distinctive (a small window says little)
ABSENT = 0.5  # share of what is asked a first result may lack and still answer
ABSENT_LEAST = 3  # words asked before their absence says anything
PREFIX = 5  # letters of a word that another word may begin with and be the same word
ENDING = 3  # letters that other word may add
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")


@dataclass(frozen=True)
class SectionMatch:
    """A section of an article as evidence for a question."""

    score: float
    start: int  # its heading's offset in the body
    end: int
    heading: str
    anchor: str
    words: int  # distinct words of the question in it
    names_intent: bool  # its heading names the question's intent


@dataclass
class Evidence:
    """What the answer stage learnt about one row of the window."""

    filed: float = 0.0  # share of the question's topics the article is filed under
    about: float = 0.0  # share of the question's topics its title names (an alias: `BY_ALIAS`)
    specific: float = 0.0  # for each named topic it is filed under, 1 / the terms of that kind
    covered: float = 0.0  # a relaxed match: share of the question's words it holds, by idf
    main_topic: bool = False  # filed under the question's main topic
    intent: bool = False  # tagged or sectioned for the question's intent
    intent_titled: bool = False  # its title states the question's intent
    aspect: float = 0.0  # share of the question's aspect words in its title or headings
    titled: float = 0.0  # share of the question's `title_aspect` words in its title
    section: SectionMatch | None = None  # the best-matching section
    words: int = 0  # distinct words of the question in its best section (or its body)
    marks: list = dataclasses.field(default_factory=list)  # the question's words in its body


class AnswerStage:
    """One question's answer stage over a `Planner` (module docstring)."""

    def __init__(self, planner: Planner, vocabulary: Vocabulary, text: str | None = None) -> None:
        """`text` is the question as searched: the reader's, or its spelling-corrected
        form when the planner serves that instead."""
        self.planner = planner
        self.text = planner.request.text if text is None else text
        self.ops = planner.ops
        self.vocabulary = vocabulary
        self.understood = understand(self.text, vocabulary)
        self.main_topics: tuple[Topic, ...] = tuple(
            t for t in self.understood.topics if t.kind == "disease"
        ) or tuple(self.understood.topics)
        self.pin_ids = self._pin_ids()
        self.pinned: list[Row] | None = None  # found pins, once looked up
        self.extra = 0  # pins the keyword match did not find
        self.evidence: dict[Any, Evidence] = {}  # by row ref
        self.details: dict[Any, Details] = {}
        self.served: list[Row] = []  # the rows of the page served
        self.ids: dict[int, Any] = {}  # article id → row ref
        self.texts: dict[Any, Text] = {}
        self.normalise = None
        terms, phrases = planner.compiled.highlight_terms()
        self.terms, self.phrases = terms, phrases
        self.groups = planner.compiled.highlight_groups()
        meaningful = [u for u in planner.compiled.required if not u.stop]
        self.word_count = len(meaningful)
        tokens = terms | {t for phrase in phrases for t in phrase}
        self.pattern = candidate_pattern(frozenset(tokens)) if tokens else None
        self._distinctive: frozenset[str] | None = None  # once the window is gathered
        self._common: frozenset[str] = frozenset()  # terms in most articles, once weighed
        # The articles' words for the reader's, as the search matched them.
        self.also = word_alternatives(self.text, planner.request.synonyms)

    def topic_units(
        self, units: tuple[Unit, ...], strict_total: int
    ) -> tuple[tuple[Unit, ...], int]:
        """The `units` that name a disease or therapy the question names, and how many
        articles must hold them: a relaxed match keeps them (`Planner.match`), so that
        dropping words never drops what the question is about.

        A question naming none but stating an intent ("What should I ask when
        considering taking part in a clinical trial?") is matched by the units stating
        it (of a post, in its question sentences) when requiring every word found a
        few articles (`FEW_RESULTS` or more, so the planner would not relax, and fewer
        than `INTENT_MATCH_BELOW`): a general word the answer lacks ("considering") must
        not leave it out. Fewer articles relax word by word as before, and a strict
        match filling a page stays. Only when `FEW_RESULTS` articles or more hold the
        intent's words: one alone can be rare ("dangerous")."""
        named = topic_words(self.text, self.understood.topics)
        least = 1
        if (
            not named
            and self.understood.intents
            and FEW_RESULTS <= strict_total < INTENT_MATCH_BELOW
        ):
            asked = asked_sentences(self.text) or self.text
            named, least = intent_words(asked, self.understood.intents), FEW_RESULTS
        if not named:
            return (), least
        kept = tuple(
            unit
            for unit in units
            if all(
                word.casefold() in named
                for source in unit.source
                for word in WORD_RE.findall(source)
            )
        )
        return kept, least

    # -- editors' picks

    def _pin_ids(self) -> list[int]:
        if not self.vocabulary.pins:
            return []
        groups = tuple(self.planner.request.synonyms or ()) + tuple(
            (topic.name, *topic.aliases) for topic in self.vocabulary.topics
        )
        key = analysed_key(self.text, groups)
        if not key:
            return []
        ids = [
            pin.article_id for pin in self.vocabulary.pins if analysed_key(pin.query, groups) == key
        ]
        return list(dict.fromkeys(ids))

    def look_up_pins(self, candidates: MatchSet, documents: MatchSet | None) -> None:
        """The pinned articles the reader may see: in the match, or passing its filters."""
        if self.pinned is not None:
            return
        self.pinned = []
        if not self.pin_ids:
            return
        in_match = self.ops.find(self.pin_ids, documents) if documents is not None else []
        found = {text.id: row for row, text in zip(in_match, self.ops.texts(in_match), strict=True)}
        missing = [i for i in self.pin_ids if i not in found]
        outside = self.ops.find(missing, candidates) if missing else []
        for row, text in zip(outside, self.ops.texts(outside), strict=True):
            found.setdefault(text.id, row)
        self.pinned = [found[i] for i in self.pin_ids if i in found]
        self.extra = sum(1 for row in self.pinned if row not in in_match)

    # -- the window

    def page(
        self,
        candidates: MatchSet,
        documents: MatchSet,
        ordering: Ordering,
        offset: int,
        per_page: int,
    ) -> tuple[list[Row], dict[str, dict[str, int]]]:
        """The page's rows and the match's facets, re-ranked inside the window."""
        self.look_up_pins(candidates, documents)
        pinned = {row.ref for row in self.pinned or ()}
        if ordering.by != "relevance" or offset + per_page > WINDOW:
            rows, counts = self.ops.page(documents, ordering, offset, per_page)
            rows = [row for row in rows if row.ref not in pinned]
            self.gather(rows)
            self.served = rows
            self.scan(rows)
            return rows, counts
        rows, counts = self.ops.page(documents, ordering, 0, WINDOW)
        rows = [row for row in rows if row.ref not in pinned]
        if ordering.coverage and rows:
            self.weigh_coverage(rows, ordering.coverage)
        self.served = self.rerank(rows)[offset : offset + per_page]
        self.scan(self.served)
        return self.served, counts

    def gather(self, rows: list[Row]) -> None:
        """Evidence for `rows` from their details (one engine call): filed topics, a
        title naming them, intent tags and intent section headings. No text is read."""
        rows = [row for row in rows if row.ref not in self.details]
        if not rows:
            return
        for row, detail in zip(rows, self.ops.details(rows), strict=True):
            self.details[row.ref] = detail
            self.evidence[row.ref] = self._evidence(detail)

    def _evidence(self, detail: Details) -> Evidence:
        evidence = Evidence()
        filed = detail.facets
        topics = self.understood.topics
        if topics:
            hits = [t for t in topics if t.slug in filed.get(t.kind, ())]
            evidence.filed = len(hits) / len(topics)
            evidence.main_topic = any(t in hits for t in self.main_topics)
            titled = named_topics(detail.title, topics)
            by_name = titled_by_name(detail.title, titled)
            evidence.about = sum(1.0 if t in by_name else BY_ALIAS for t in titled) / len(topics)
            evidence.specific = sum(1 / len(filed[t.kind]) for t in hits) / len(topics)
        intents = self.understood.intents
        if intents:
            tags = set(filed.get("tag", ()))
            evidence.intent = any(tags.intersection(i.tags) for i in intents) or any(
                heading_matches(heading, intents) for heading, _anchor, _start in detail.sections
            )
            evidence.intent_titled = bool(named_intents(detail.title, intents))
        return evidence

    def scan(self, rows: list[Row]) -> None:
        """The best section of each row (the page's hits only): the question's words
        found by the highlighter's candidate scan, one pass over each body."""
        rows = [row for row in rows if row.ref not in self.texts]
        if self.word_count < 2 or self.pattern is None or not rows:
            return
        self.gather(rows)
        texts = self.ops.texts(rows)
        if self.normalise is None:
            wanted = frozenset(self.terms | {t for phrase in self.phrases for t in phrase})
            self.normalise = self.ops.normaliser(texts, wanted)
        for row, text in zip(rows, texts, strict=True):
            self.ids[text.id] = row.ref
            self.texts[row.ref] = text
            self._scan(self.evidence[row.ref], text, self.details[row.ref])

    def marks(self, ref: Any) -> list | None:
        """The question's words in a scanned row's body (for its snippet), else None."""
        evidence = self.evidence.get(ref)
        return evidence.marks if evidence is not None and ref in self.texts else None

    def _scan(self, evidence: Evidence, text: Text, detail: Details) -> None:
        body = text.body[:SCAN_CHARS]
        marks = body_marks(text.body, self.terms, self.normalise, self.phrases)
        evidence.marks = marks
        starts = [m[0] for m in marks]
        intents = self.understood.intents
        sections = detail.sections
        best = None
        for n, (heading, anchor, start) in enumerate(sections):
            if start >= len(body):
                break
            end = sections[n + 1][2] if n + 1 < len(sections) else len(body)
            heading_end = start + len(heading)
            first, last = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
            words = {self.groups.get(m[2], m[2]) for m in marks[first:last]}
            in_heading = {
                self.groups.get(m[2], m[2]) for m in marks[first:last] if m[0] < heading_end
            }
            names_intent = bool(intents) and heading_matches(heading, intents)
            score = (len(words) + len(in_heading)) / (2 * self.word_count)
            score += INTENT_HEADING if names_intent and words else 0.0
            if best is None or score > best.score:
                best = SectionMatch(score, start, end, heading, anchor, len(words), names_intent)
        evidence.section = best
        if best is not None:
            evidence.words = best.words
        elif not sections:
            evidence.words = len({self.groups.get(m[2], m[2]) for m in marks})

    def weigh_coverage(self, rows: list[Row], units: tuple[Unit, ...]) -> None:
        """For a relaxed match, the share of the question's words each row holds, each
        word weighing its idf (one engine call): the engine's score adds up every
        alternative of a word, so a topic with many aliases, matched many ways, would
        otherwise outweigh the one rare word that says what is asked ("vaccinated")."""
        coverage = self.ops.coverage(rows, units)  # first: an engine may read details with it
        self.gather(rows)
        weights = [
            math.log(max(coverage.documents, 1) / (frequency + 1)) + 1
            for frequency in coverage.frequencies
        ]
        total = sum(w for w in weights if w > 0) or 1.0
        self._common = frozenset(
            term
            for unit, frequency in zip(units, coverage.frequencies, strict=True)
            if frequency > COMMON_IN_LIBRARY * coverage.documents and not unit.also
            for source in unit.source
            for _word, term in question_terms(source)
        )
        for row, matched in zip(rows, coverage.matched, strict=True):
            self.evidence[row.ref].covered = sum(max(weights[i], 0.0) for i in matched) / total

    def rerank(self, rows: list[Row]) -> list[Row]:
        self.gather(rows)
        if not rows:
            return rows
        top = max((row.score for row in rows), default=0.0) or 1.0
        size = len(rows)
        aspect = self.aspect()
        titled = self.title_aspect()
        if aspect:
            for row in rows:
                found = headed_terms(self.details[row.ref], aspect, self.also)
                self.evidence[row.ref].aspect = len(found) / len(aspect)
                if titled:
                    found = headed_terms(self.details[row.ref], titled, self.also, headings=False)
                    self.evidence[row.ref].titled = len(found) / len(titled)

        def score(item: tuple[int, Row]) -> tuple[float, int]:
            n, row = item
            evidence = self.evidence[row.ref]
            value = (1 - PRIOR) * max(row.score, 0.0) / top + PRIOR * (1 - n / size)
            value += FILED * evidence.filed + ABOUT * evidence.about + SPECIFIC * evidence.specific
            value += COVERED * evidence.covered
            value += INTENT if evidence.intent else 0.0
            value += INTENT_TITLE if evidence.intent_titled else 0.0
            value += ASPECT * evidence.aspect + ASPECT_TITLE * evidence.titled
            return -value, n

        return [row for _n, row in sorted(enumerate(rows), key=score)]

    # -- the page

    def finish(self, page: SearchPage) -> SearchPage:
        """The keyword page with pins first, sections under hits, and what was understood."""
        if self.pinned is None and self.pin_ids and page.page == 1:
            compiled, request = self.planner.compiled, self.planner.request
            self.look_up_pins(self.ops.candidates(compiled, request), None)
        pinned = self.pinned if page.page == 1 else []
        self.scan(pinned or [])
        hits = [self._with_section(hit) for hit in page.hits]
        pinned_hits: list[Hit] = []
        if pinned:
            pinned_ids = set()
            for hit in self.planner.hits(pinned):
                pinned_hits.append(dataclasses.replace(self._with_section(hit), pinned=True))
                pinned_ids.add(hit.id)
            hits = [hit for hit in hits if hit.id not in pinned_ids]
        total = page.total + self.extra
        return dataclasses.replace(
            page,
            hits=pinned_hits + hits,
            total=total,
            num_pages=max(page.num_pages, math.ceil(total / self.planner.per_page) or 1),
            understood=self.understood,
            answer=self._answer(page, bool(pinned_hits)),
        )

    def _with_section(self, hit: Hit) -> Hit:
        ref = self.ids.get(hit.id)
        evidence = self.evidence.get(ref) if ref is not None else None
        if evidence is None or evidence.section is None or self.normalise is None:
            return hit
        section = evidence.section
        needed = max(1, math.ceil(self.word_count / 2))
        if section.words < needed and not (section.names_intent and section.words):
            return hit
        sentence = self._sentence(evidence, self.texts[ref].body, section.start, section.end)
        if not sentence:
            return hit
        return dataclasses.replace(
            hit, section=AnswerSection(section.heading, section.anchor, sentence)
        )

    def _sentence(self, evidence: Evidence, body: str, start: int, end: int) -> str:
        """The section's sentence showing most of the question's words, marked (its
        marks are those the scan found: no text is scanned again)."""
        line = body.find("\n", start, end)
        if line == -1:
            return ""
        marks = [m for m in evidence.marks if start <= m[0] < end]
        best, best_words = None, 0
        position = line + 1
        for boundary in [*(m.start() for m in _SENTENCE_END.finditer(body, position, end)), end]:
            words = {
                self.groups.get(m[2], m[2]) for m in marks if position <= m[0] and m[1] <= boundary
            }
            if len(words) > best_words:
                best, best_words = (position, boundary), len(words)
            position = boundary + 1
        if best is None:
            return ""
        sentence = body[best[0] : best[1]].strip()
        return highlight(
            "", sentence, self.terms, self.normalise, phrases=self.phrases, groups=self.groups
        )

    def _answer(self, page: SearchPage, pinned: bool) -> str:
        if pinned:
            return "found"
        if not page.hits:
            return "none"
        evidence = self.evidence.values()
        if self.main_topics and evidence and not any(e.main_topic for e in evidence):
            return "none"
        for word in [*page.unmatched_terms, *page.not_found]:
            folded = word.casefold()
            if len(folded) >= 6 and folded.endswith(TOPIC_ENDINGS):
                return "none"
        ref = self.ids.get(page.hits[0].id)
        first = self.evidence.get(ref) if ref is not None else None
        unknown_words = {w.casefold() for w in [*page.unmatched_terms, *page.not_found]}
        if ref in self.details and self._asks_unknown(unknown_words, self.details[ref]):
            return "none"
        if first is not None and ref in self.texts and self._unknown_post(first, page):
            return "none"
        if first is not None and self.word_count >= 2 and not first.filed:
            # Not filed under anything the question names, and its best passage holds
            # few of the question's words, or many of them are in no article at all.
            share = first.words / self.word_count
            unknown = len(page.not_found)
            if share < WEAK or unknown >= MANY_UNKNOWN or (unknown >= 2 and share <= WEAK):
                return "none"
            if ref in self.details and not (first.intent_titled or self._headed(self.details[ref])):
                return "none"
            if ref in self.texts and self._lacks_aspect(first, self.texts[ref].body, unknown_words):
                return "none"
        return "found"

    def _unknown_post(self, first: Evidence, page: SearchPage) -> bool:
        """Whether `first`, even filed under what the question names, holds under a
        quarter of the question's words in its best section (`WEAK`) while two or more
        of them are in no article: a post in words the library lacks ("what DMTs were
        you on… an EDSS on the lower end", "my oncologist refused to sign return to work
        paperwork") asks what no article says, and a filed article holding a few of its
        general words is close, not an answer. One of them must look like a name
        (`_looks_like_a_name`), and of a post be in what it asks (`asked_sentences`): a
        drug named in its story ("I'm on Mavenclad. How long is recovery after HSCT?")
        leaves its question answerable. An article holding none of a short question's
        words but filed under its topic ("Can Guillain-Barré Syndrome Come Back?") still
        answers: every word is in the library."""
        if self.word_count < 2 or len(page.not_found) < UNKNOWN_LEAST:
            return False
        names = [word for word in page.not_found if _looks_like_a_name(word)]
        asked = asked_sentences(self.text)
        if asked:  # a post: a name no article holds is in what it asks, not only its story
            words = {word.casefold() for word in WORD_RE.findall(asked)}
            names = [word for word in names if word.casefold() in words]
        return bool(names) and first.words / self.word_count < WEAK

    def _lacks_aspect(self, first: Evidence, body: str, unknown: set[str]) -> bool:
        """Whether `first` (filed under nothing the question names) lacks in its body
        (as far as the section scan reads it, its marks) more than half of what the
        question asks (`aspect`, less the words no article contains, and of a post only
        its question sentences, `asked_sentences`), counting a word of the same stem or
        the articles' word for the reader's as held: the library has those words, in
        other articles. "If providing unproven stem cell treatments is so dangerous, why
        isn't it illegal?" over the unproven-clinics article, which says neither
        "dangerous" nor "illegal". A sentence or section holding them together was no
        test: most articles that answer never name the topic beside what is asked."""
        missing = {term for word in unknown for _w, term in question_terms(word)}
        asked = self.aspect() - missing
        story = asked_sentences(self.text)
        if story:  # a post: what it asks, not its story
            asked = asked & {term for _word, term in question_terms(story)}
        if len(asked) < ABSENT_LEAST:
            return False
        held = {term for m in first.marks for _w, term in question_terms(body[m[0] : m[1]])}
        held |= {t for t in asked if self.also.get(t) and held.intersection(self.also[t])}
        absent = [t for t in asked if t not in held and not any(same_word(t, h) for h in held)]
        return len(absent) > ABSENT * len(asked)

    def _asks_unknown(self, unknown: set[str], first: Details) -> bool:
        """Whether everything the question asks about its topic (`aspect`) is in words
        no article contains ("Where is HSCT performed?"), and the first result's title
        and headings hold none of them even with another ending: the library covers the
        topic, not what is asked of it."""
        aspect = self.aspect()
        if not aspect or not unknown:
            return False
        missing = {term for word in unknown for _w, term in question_terms(word)}
        return aspect <= missing and not headed_terms(first, aspect, self.also)

    def _headed(self, first: Details) -> bool:
        """Whether `first`'s title or a section heading holds one of the question's
        distinctive words (`distinctive`). An article that answers a question says so
        where a reader looks first; one that holds its words only in passing is close,
        not an answer."""
        distinctive = self.distinctive()
        return not distinctive or bool(headed_terms(first, distinctive, self.also))

    def distinctive(self) -> frozenset[str]:
        """The question's terms (stop words dropped) that single out an article: in at
        most a quarter of the window's titles (`COMMON_IN_TITLES`), or in at most
        `COMMON_TITLES` of them. "stem" and "cell", in most titles here, are not."""
        if self._distinctive is None:
            asked = {
                term for word, term in question_terms(self.text) if word.casefold() not in STOPWORDS
            }
            titles = [set(title_terms(detail.title)) for detail in self.details.values()]
            least = max(COMMON_TITLES, COMMON_IN_TITLES * len(titles))
            self._distinctive = frozenset(
                t for t in asked if sum(t in title for title in titles) <= least
            )
        return self._distinctive

    def title_aspect(self) -> frozenset[str]:
        """What a title names when its article is about the question's aspect rather
        than its topic ("Children" for "are stem cell transplants safe for kids?"): the
        aspect's words, less those stating an intent (tags and intent headings weigh
        them, and a general title holds them too: "work", "trials") and those in most of
        the library's articles (known when the question's words were weighed, and only
        for a word searched without synonyms, which widen its count). A post telling a
        story around its question is read by its question sentences (`asked_sentences`:
        "My son is 14 and on Ocrevus. Is a transplant safe for teenagers?"). Only for a
        question naming a topic and asking at most `TITLE_ASPECT_WORDS` words of it;
        empty otherwise. A general guide's title names the topic by its own name
        (`ABOUT`); an article whose title names what is asked of the topic answers it
        more closely, where a heading alone ("How MS is diagnosed and treated today"
        for "What does HSCT treat?") does not say so."""
        if not self.understood.topics:
            return frozenset()
        stating = intent_words(self.text, self.understood.intents)
        said = {term for word, term in question_terms(self.text) if word.casefold() in stating}
        words = self.aspect() - said - self._common
        asked = asked_sentences(self.text)
        if asked:  # a post: what it asks, not its story
            words = words & {term for _word, term in question_terms(asked)}
        return words if len(words) <= TITLE_ASPECT_WORDS else frozenset()

    def aspect(self) -> frozenset[str]:
        """The distinctive terms that do not name a topic the question names: what it
        asks about the topic ("vaccinated" in "why get vaccinated after a transplant")."""
        named = topic_words(self.text, self.understood.topics)
        topic_terms = {term for word, term in question_terms(self.text) if word.casefold() in named}
        return self.distinctive() - topic_terms


_QUESTION_SENTENCE = re.compile(r"[^.!?…\n]*\?")


def _looks_like_a_name(word: str) -> bool:
    """Whether a word no article holds may name something (a drug, a score, a
    specialist: "DMTs", "EDSS", "oncologist"): not a known English word (the shipped
    list holds words of five letters or more, so a shorter one counts only written
    with a capital letter)."""
    if len(word) < MIN_CORRECTABLE:
        return any(ch.isupper() for ch in word)
    return not is_english_word(word)


def asked_sentences(text: str) -> str:
    """`text`'s question sentences (ending in "?") when it also tells a story (a
    sentence that does not ask): what a post asks, without its story. "" for a
    question alone, or a post asking nothing."""
    questions = _QUESTION_SENTENCE.findall(text or "")
    story = _QUESTION_SENTENCE.sub(" ", text or "")
    if not questions or not any(w.casefold() not in STOPWORDS for w in WORD_RE.findall(story)):
        return ""
    return " ".join(questions)


def headed_terms(
    detail: Details,
    terms: frozenset[str],
    also: dict[str, tuple[str, ...]] | None = None,
    *,
    headings: bool = True,
) -> set[str]:
    """The `terms` in `detail`'s title or a section heading, or a word there that
    differs from one only by an ending (`same_word`), or one of `also`'s terms for it
    (the articles' words for a reader's, `word_alternatives`)."""
    headed = set(title_terms(detail.title))
    for heading, _anchor, _start in detail.sections if headings else ():
        headed.update(title_terms(heading))
    also = also or {}
    return {
        term
        for term in terms
        if any(
            t in headed or any(same_word(t, h) for h in headed) for t in (term, *also.get(term, ()))
        )
    }


def word_alternatives(text: str, groups: tuple) -> dict[str, tuple[str, ...]]:
    """For each word of `text` that is a one-word member of a synonym group the search
    used (`groups`: the readers' everyday words, `search.synonyms.lay_word_groups`,
    and topics' aliases), its term → the terms of the group's other one-word members
    ("kids" → "children", "child"). Matched on the word as typed, not its stem: a stem
    can be another word's ("immune" and "immunisations")."""
    words = _group_words(tuple(tuple(group) for group in groups or ()))
    also: dict[str, tuple[str, ...]] = {}
    for word, term in question_terms(text):
        group = words.get(word.casefold())
        if group:
            also[term] = tuple(t for t in group if t != term)
    return also


@lru_cache(maxsize=32)
def _group_words(groups: tuple[tuple[str, ...], ...]) -> dict[str, tuple[str, ...]]:
    """Each one-word member of `groups` (casefolded) → the terms of its group's
    one-word members."""
    words: dict[str, tuple[str, ...]] = {}
    for group in groups:
        single = [word.casefold() for word in group if len(phrase_terms(word)) == 1]
        terms = tuple(dict.fromkeys(phrase_terms(word)[0] for word in single))
        for word in single:
            words.setdefault(word, terms)
    return words


@lru_cache(maxsize=8192)
def title_terms(text: str) -> tuple[str, ...]:
    """A title's or heading's terms (`phrase_terms`). Titles and headings repeat from one
    question to the next, so they are analysed once."""
    return phrase_terms(text)


def same_word(a: str, b: str) -> bool:
    """Whether two stemmed terms are one word that the stemmer left apart: one begins
    with the other, of `PREFIX` letters or more, and adds at most `ENDING` letters
    ("child" and "children", "vaccin" and "vaccinat"; not "treat" and "treatment")."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= PREFIX and len(long) - len(short) <= ENDING and long.startswith(short)


def understood_text(page: SearchPage) -> str:
    """How the results page names what was understood ("Lupus and safety")."""
    return describe(page.understood)
