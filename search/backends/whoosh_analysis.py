"""Text analysis for the Whoosh backend: one fused tokenizer, shared by indexing,
querying and highlighting.

Whoosh pickles the schema (analyzers included) into the index, so every piece here
lives at module level in an importable module and holds only plain attributes.

The stock Whoosh chain (RegexTokenizer | LowercaseFilter | CharsetFilter | StopFilter
| StemFilter) runs five generators per token; indexing ~800-word bodies spends most of
its time there. `FoldingTokenizer` does the same work in one loop with a per-word
cache, so each token costs one regex match and one dict lookup.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from whoosh import fields, formats
from whoosh.analysis import Token, Tokenizer
from whoosh.compat import dumps
from whoosh.lang.porter import stem as porter_stem
from whoosh.system import pack_uint

from search.backends.query import is_abbreviation
from search.backends.text import (  # noqa: F401 (re-exported for the Whoosh backend)
    APOSTROPHES,
    DROP_APOSTROPHES,
    STOP_WORDS,
    WORD_RE,
    candidate_pattern,
    fold,
    fold_for_scan,
)

# Positions skipped at a newline, so a phrase never matches across two taxonomy
# names (they are indexed one per line) or across paragraphs.
LINE_GAP = 8
MAX_WORD_LENGTH = 64


@lru_cache(maxsize=200_000)
def normalize_word(word: str, stem: bool = True) -> str:
    """The index term for one word as written, or "" for a stop word or junk.

    A short all-capitals word (GBS, MS, T1D) is an abbreviation: it is kept whole,
    unstemmed, so "GBS" never becomes "gb" and matches "GB" (see `is_abbreviation`).
    """
    folded = fold(word)
    if not folded or folded in STOP_WORDS or len(folded) > MAX_WORD_LENGTH:
        return ""
    return porter_stem(folded) if stem and not is_abbreviation(word) else folded


def analyse(text: str, stem: bool = True) -> tuple[str, ...]:
    """Index terms of `text` in order: what a query word or synonym must equal."""
    terms = []
    for match in WORD_RE.finditer(text):
        term = normalize_word(match.group(), stem)
        if term:
            terms.append(term)
    return tuple(terms)


def analyse_unstemmed(text: str) -> tuple[str, ...]:
    return analyse(text, stem=False)


class FoldingTokenizer(Tokenizer):
    """Tokenize, case- and accent-fold, drop stop words and (optionally) stem.

    Stop words do not take a position, as with Whoosh's StopFilter(renumber=True).
    """

    def __init__(self, stem: bool = True) -> None:
        self.stem = stem

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.stem == self.stem

    def __hash__(self) -> int:
        return hash((type(self), self.stem))

    def term_positions(self, value: str, pos: int = 0) -> tuple[dict[str, list[int]], int]:
        """Each term of `value` with its positions, and the next free position."""
        found: dict[str, list[int]] = {}
        stem = self.stem
        for match in WORD_RE.finditer(value):
            word = match.group()
            if word == "\n":
                pos += LINE_GAP
                continue
            term = normalize_word(word, stem)
            if term:
                if term in found:
                    found[term].append(pos)
                else:
                    found[term] = [pos]
                pos += 1
        return found, pos

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        stem = self.stem
        pos = start_pos
        for match in WORD_RE.finditer(value):
            word = match.group()
            if word == "\n":
                pos += LINE_GAP
                continue
            term = normalize_word(word, stem)
            if not term:
                continue
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


class CompletionTokenizer(Tokenizer):
    """Index each display phrase (one per line) under each of its folded words.

    A term is `<folded word>\\x1f<kind>\\x1f<display phrase>`, so completions for a
    prefix are one bounded `expand_prefix` walk over the lexicon, with no stored
    fields read. `kind` is "0" for taxonomy names and aliases, "1" for titles; a
    title may end with "\\x1e" and the article's slug, kept in the term but not
    analysed, so choosing the completion can open the article.
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, value: str, **kwargs) -> Iterator[Token]:
        token = Token(**kwargs)
        seen = set()
        for line in value.split("\n"):
            kind, _, display = line.partition("\x1f")
            display, _, slug = display.partition("\x1e")
            display = " ".join(display.split())[:120]
            if not display:
                continue
            stored = f"{display}\x1e{slug}" if slug else display
            for word in analyse_unstemmed(display):
                term = f"{word}\x1f{kind}\x1f{stored}"
                if term in seen:
                    continue
                seen.add(term)
                token.text = term
                token.boost = 1.0
                token.stopped = False
                token.pos = 0
                yield token


class FoldedText(fields.TEXT):
    """A TEXT field indexed in one pass by `FoldingTokenizer.term_positions`.

    Whoosh's own path runs each token through three generator layers and two
    dictionaries before the posting pool sees it; this produces the same
    (term bytes, frequency, weight, encoded value) postings, byte for byte in the
    stock Positions/Frequency encodings, so reading and phrase matching are
    unchanged.

    The value may also be a tuple of `(text, weight)` sections: a term's posting
    weight is then the sum of its occurrences' section weights. Whoosh's BM25F
    scores that weight as the term frequency, so one field carries BM25F's
    per-field weighting (title above summary above body) with one posting list per
    term instead of one per field. Sections are `LINE_GAP` positions apart, so a
    phrase never spans two of them.
    """

    def index(self, value, **kwargs):
        analyzer, format_ = self.analyzer, self.format
        if type(analyzer) is not FoldingTokenizer or type(format_) not in (
            formats.Positions,
            formats.Frequency,
        ):
            return super().index(value, **kwargs)
        sections = ((value, 1.0),) if isinstance(value, str) else value
        positions: dict[str, list[int]] = {}
        weights: dict[str, float] = {}
        start = 0
        for text, weight in sections:
            found, start = analyzer.term_positions(text, start)
            start += LINE_GAP
            for term, poses in found.items():
                if term in positions:
                    positions[term].extend(poses)
                    weights[term] += weight * len(poses)
                else:
                    positions[term] = poses
                    weights[term] = weight * len(poses)
        boost = format_.field_boost
        if type(format_) is formats.Frequency:
            return [
                (term.encode("utf-8"), len(p), weights[term] * boost, pack_uint(len(p)))
                for term, p in positions.items()
            ]
        postings = []
        for term, poses in positions.items():
            deltas = [b - a for a, b in zip([0, *poses[:-1]], poses, strict=True)]
            encoded = pack_uint(len(deltas)) + dumps(deltas, 2)
            postings.append((term.encode("utf-8"), len(poses), weights[term] * boost, encoded))
        return postings
