"""The reader query language, parsed without any search engine.

What readers may type::

    stem cell lupus           every word must match (in any field)
    "cord blood"              a phrase: the words adjacent, in this order
    -steroids  -"bone marrow" exclude a word or a phrase (also NOT steroids)
    lupus OR scleroderma      either word; OR binds the clauses either side of it

Everything else is read leniently, never rejected: unbalanced quotes make the rest
plain words, dangling `-`, `OR` and `NOT` are ignored, `field:value`, wildcards,
parentheses and other punctuation separate words, control characters are spaces.
Input is capped (`MAX_QUERY_CHARS` characters, `MAX_CLAUSES` clauses, `MAX_PHRASE_WORDS`
words in a phrase, `MAX_WORD_CHARS` per word) before any work is done, so no string
can make parsing or searching slow: Whoosh's own QueryParser grows quadratically on
`NOT` chains, recurses on nested parentheses and expands wildcards over the lexicon.

A query made only of exclusions (`-steroids`) means "everything except": it is
answered like browsing, minus the excluded documents.

`parse_query` gives the structure in the reader's own words; `compile_query` turns it
into analysed token sequences with synonyms expanded. Both are engine-independent
(the analyser is passed in) so a PostgreSQL backend could reuse them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MAX_QUERY_CHARS = 256
MAX_CLAUSES = 16
MAX_PHRASE_WORDS = 8
MAX_WORD_CHARS = 48
# Bounds on the compiled query, synonyms included.
MAX_ALTERNATIVES = 12
MAX_COMPILED_TERMS = 96
MAX_SYNONYM_WORDS = 8

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "″": '"'})
_APOSTROPHES = "'\u2019\u02bc"
_DASHES = "-\u2212\u2013\u2014"  # hyphen, minus, en and em dash
# Characters that may stay inside a word; anything else separates words.
_NOT_WORD = re.compile("[^\\w'\u2019\u02bc-]+")
_LEADING_DASHES = re.compile(rf"^[{_DASHES}]+")
# Control and invisible formatting characters, and lone surrogates (unencodable).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)


@dataclass(frozen=True)
class Clause:
    """One word or one quoted phrase, in the reader's spelling."""

    words: tuple[str, ...]
    phrase: bool = False

    def render(self, replace: dict[str, str] | None = None) -> str:
        words = [(replace or {}).get(w.casefold(), w) for w in self.words]
        text = " ".join(words)
        return f'"{text}"' if self.phrase else text


@dataclass(frozen=True)
class ParsedQuery:
    """AND of `required` groups (each an OR of clauses), minus any `excluded` clause."""

    required: tuple[tuple[Clause, ...], ...] = ()
    excluded: tuple[Clause, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.required or self.excluded)

    def words(self) -> list[str]:
        """The reader's positive words, in order, for suggestions and reporting."""
        return [w for group in self.required for clause in group for w in clause.words]

    def render(self, replace: dict[str, str] | None = None) -> str:
        """The query as text again, with words swapped per `replace` (casefolded keys)."""
        parts = [" OR ".join(c.render(replace) for c in group) for group in self.required]
        parts += ["-" + c.render(replace) for c in self.excluded]
        return " ".join(parts)


def _clean(text: str) -> str:
    text = (text or "")[:MAX_QUERY_CHARS]
    return _CONTROL.sub(" ", text).translate(_QUOTES)


def _split_words(chunk: str) -> list[str]:
    """Words of a chunk with punctuation, wildcards and `field:` syntax as separators."""
    words = []
    for word in _NOT_WORD.split(chunk):
        word = word.strip(_APOSTROPHES + _DASHES)
        if word and any(ch.isalnum() for ch in word):
            words.append(word[:MAX_WORD_CHARS])
    return words


def _items(text: str) -> list[tuple[str, object]]:
    """Lex into ("clause", (Clause, negated)) and ("or", None) items."""
    items: list[tuple[str, object]] = []
    segments = text.split('"')
    # An odd number of quotes leaves the last segment unclosed: read it as plain words.
    closed = len(segments) % 2 == 1
    negate_next = False
    for index, segment in enumerate(segments):
        in_phrase = index % 2 == 1 and (closed or index < len(segments) - 1)
        if in_phrase:
            words = tuple(w for chunk in segment.split() for w in _split_words(chunk))
            if words:
                clause = Clause(words[:MAX_PHRASE_WORDS], phrase=len(words) > 1)
                items.append(("clause", (clause, negate_next)))
            negate_next = False
            continue
        chunks = segment.split()
        for position, chunk in enumerate(chunks):
            if chunk in ("OR", "|", "||"):
                items.append(("or", None))
                negate_next = False
                continue
            if chunk in ("AND", "&&", "+"):
                continue
            if chunk == "NOT":
                negate_next = True
                continue
            negated = negate_next or bool(_LEADING_DASHES.match(chunk))
            negate_next = False
            words = _split_words(_LEADING_DASHES.sub("", chunk))
            if not words:
                # A lone "-" right before a quote negates the phrase: -"bone marrow".
                is_last = position == len(chunks) - 1
                if negated and is_last and not segment.endswith((" ", "\t")):
                    negate_next = True
                continue
            # "field:value" and "a*b" give several words: each is its own clause.
            for word in words:
                items.append(("clause", (Clause((word,)), negated)))
        if len(items) > 4 * MAX_CLAUSES:
            break
    return items


def parse_query(text: str) -> ParsedQuery:
    """Read a reader's query leniently; never raises, output bounded by the caps."""
    required: list[list[Clause]] = []
    excluded: list[Clause] = []
    pending_or = False
    count = 0
    for kind, value in _items(_clean(text)):
        if kind == "or":
            pending_or = bool(required)
            continue
        clause, negated = value  # type: ignore[misc]
        if count >= MAX_CLAUSES:
            break
        count += 1
        if negated:
            if clause not in excluded:
                excluded.append(clause)
            pending_or = False
        elif pending_or and required:
            if clause not in required[-1]:
                required[-1].append(clause)
            pending_or = False
        elif [clause] not in required:  # "lupus lupus" means "lupus"
            required.append([clause])
    return ParsedQuery(tuple(tuple(group) for group in required), tuple(excluded))


# --- Compiling: analysis and synonyms -----------------------------------------------

Analyser = Callable[[str], tuple[str, ...]]
Tokens = tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """One condition of a compiled query: a document must match any alternative.

    An alternative of one token is a term; of several, a phrase. A `loose`
    alternative needs its tokens anywhere in the document: it keeps plain words
    that happen to spell a synonym (`cord blood`) as loose as any other words,
    while the synonym's members still match as phrases. `source` keeps the reader's
    words behind the unit for "matched nothing" reports.
    """

    alternatives: tuple[Tokens, ...]
    source: tuple[str, ...]
    loose: tuple[Tokens, ...] = ()

    def terms(self) -> int:
        return sum(len(alt) for alt in self.alternatives + self.loose)


@dataclass(frozen=True)
class CompiledQuery:
    required: tuple[Unit, ...] = ()
    excluded: tuple[Unit, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.required or self.excluded)

    def term_count(self) -> int:
        return sum(u.terms() for u in self.required + self.excluded)

    def positive_tokens(self) -> frozenset[str]:
        """Every token a matching document may contain: what highlighting marks."""
        return frozenset(t for u in self.required for alt in u.alternatives + u.loose for t in alt)


@lru_cache(maxsize=32)
def synonym_index(
    synonyms: tuple[tuple[str, ...], ...], analyse: Analyser
) -> tuple[dict[Tokens, tuple[Tokens, ...]], int]:
    """Analysed member → all analysed members of its groups, and the longest member.

    Cached on the groups tuple itself: editors can change aliases at any time, and a
    new tuple simply makes a new entry.
    """
    index: dict[Tokens, list[Tokens]] = {}
    longest = 0
    for group in synonyms:
        members: list[Tokens] = []
        for phrase in group:
            tokens = analyse(phrase)[:MAX_SYNONYM_WORDS]
            if tokens and tokens not in members:
                members.append(tokens)
        if len(members) < 2:
            continue
        for member in members:
            merged = index.setdefault(member, [member])
            merged.extend(m for m in members if m not in merged)
            longest = max(longest, len(member))
    return {k: tuple(v[:MAX_ALTERNATIVES]) for k, v in index.items()}, longest


def _expand_run(
    tokens: list[str],
    owners: list[str],
    synonyms: dict[Tokens, tuple[Tokens, ...]],
    longest: int,
) -> list[Unit]:
    """Greedy longest-first synonym matching over a run of plain query words."""
    units = []
    i = 0
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 0, -1):
            key = tuple(tokens[i : i + size])
            if key in synonyms:
                source = tuple(dict.fromkeys(owners[i : i + size]))
                loose = (key,) if size > 1 and len(source) > 1 else ()
                units.append(Unit(synonyms[key], source, loose))
                i += size
                break
        else:
            units.append(Unit(((tokens[i],),), (owners[i],)))
            i += 1
    return units


def _clause_unit(
    clause: Clause, analyse: Analyser, synonyms: dict[Tokens, tuple[Tokens, ...]]
) -> Unit | None:
    tokens = tuple(t for w in clause.words for t in analyse(w))[:MAX_PHRASE_WORDS]
    if not tokens:
        return None
    return Unit(synonyms.get(tokens, (tokens,)), clause.words)


def compile_query(
    parsed: ParsedQuery,
    analyse: Analyser,
    synonyms: tuple[tuple[str, ...], ...] = (),
) -> CompiledQuery:
    """Analyse the parsed query and expand synonyms.

    Runs of consecutive plain words are matched against synonym members longest
    first, so `multiple sclerosis` is one unit (any of "multiple sclerosis", "ms",
    "disseminated sclerosis") rather than two words. A quoted phrase or an OR
    alternative expands when it equals a member as a whole. Words that analyse to
    nothing (stop words) drop out. The result holds at most `MAX_COMPILED_TERMS`
    tokens.
    """
    index, longest = synonym_index(tuple(tuple(g) for g in synonyms), analyse)
    required: list[Unit] = []
    run_tokens: list[str] = []
    run_owners: list[str] = []

    def flush() -> None:
        required.extend(_expand_run(run_tokens, run_owners, index, longest))
        run_tokens.clear()
        run_owners.clear()

    for group in parsed.required:
        if len(group) == 1 and not group[0].phrase:
            word = group[0].words[0]
            tokens = analyse(word)
            if len(tokens) > 1 and tokens not in index:
                # A hyphenated word ("Guillain-Barré") is a phrase of its parts, but
                # may still start or end a longer synonym run.
                flush()
                required.append(Unit((tokens[:MAX_PHRASE_WORDS],), (word,)))
                continue
            run_tokens.extend(tokens)
            run_owners.extend(word for _ in tokens)
            continue
        flush()
        alternatives: list[Tokens] = []
        source: list[str] = []
        for clause in group:
            unit = _clause_unit(clause, analyse, index)
            if unit:
                alternatives.extend(a for a in unit.alternatives if a not in alternatives)
                source.extend(unit.source)
        if alternatives:
            required.append(Unit(tuple(alternatives[:MAX_ALTERNATIVES]), tuple(source)))
    flush()

    excluded = [u for c in parsed.excluded if (u := _clause_unit(c, analyse, index))]
    return _bounded(required, excluded)


def _bounded(required: list[Unit], excluded: list[Unit]) -> CompiledQuery:
    budget = MAX_COMPILED_TERMS
    kept: list[list[Unit]] = [[], []]
    for slot, units in enumerate((required, excluded)):
        for unit in units:
            budget -= sum(len(alt) for alt in unit.loose)
            alternatives = []
            for alt in unit.alternatives[:MAX_ALTERNATIVES]:
                if len(alt) <= budget:
                    alternatives.append(alt)
                    budget -= len(alt)
            if alternatives:
                kept[slot].append(Unit(tuple(alternatives), unit.source, unit.loose))
            else:
                budget += sum(len(alt) for alt in unit.loose)
    return CompiledQuery(tuple(kept[0]), tuple(kept[1]))
