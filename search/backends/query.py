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

Questions are queries too. The engine-neutral rules for them live here, so every
backend answers a question the same way:

- `STOPWORDS` (one English list) are never required: a unit made only of them is
  `stop`. Quoted phrases and quoted words are `must`: required in every mode.
- `relaxation_steps` is the minimum-should-match plan: require every meaningful
  unit; when that finds fewer than `FEW_RESULTS`, require one fewer, and so on.
  Backends rank articles matching more units above those matching fewer.
- A long question keeps its meaningful words first (`ParsedQuery.shortened`).
- A quoted phrase that makes the query find nothing is searched as its words
  (`loosen_phrases`): readers quote words in prose.
- A plain hyphenated word is a phrase of its parts; one that no article holds as such
  ("insulin-independence") is searched as its parts (`split_hyphens`).
- `correction_distance`, `acceptable_correction` and `correctable`: PubMed's rules for
  spelling correction: only words of 5 letters or more that are neither English words
  (a shipped list, `english_words`) nor in the library, never into a short abbreviation.
- An abbreviation alias (a short all-capitals word such as GBS) matches as a whole,
  unstemmed word: its members are looked up by the reader's word folded, not stemmed,
  and the analyser is expected to index all-capitals words unstemmed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from search.backends.text import fold

MAX_QUERY_CHARS = 500  # what the results page accepts; clauses are capped below
MAX_CLAUSES = 16
MAX_PHRASE_WORDS = 8
MAX_WORD_CHARS = 48
# Bounds on the compiled query, synonyms included.
MAX_ALTERNATIVES = 12
MAX_COMPILED_TERMS = 96
MAX_SYNONYM_WORDS = 8

FEW_RESULTS = 3  # requiring every word finds fewer than this: relax, and suggest

# Words that carry no meaning for a search, never required (they may still count inside
# a quoted phrase): the NLTK English stopword list, plus auxiliaries and quantifiers
# readers put in questions, and the light verbs of "how long does it take". Kept in
# this one place for every backend.
_STOPWORD_LIST = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what
    which who whom this that these those am is are was were be been being have has had
    having do does did doing a an the and but if or because as until while of at by for
    with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how
    all any both each few more most other some such no nor not only own same so than
    too very s t can will just don should now d ll m o re ve y ain aren couldn didn
    doesn hadn hasn haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn
    would could might must shall may also get got much many anything something someone
    anyone please thanks hi hello im ive id dont doesnt isnt cant wont whats hes shes
    theyre youre take takes taking took go going know tell want like really need way
    thing things lot happen happens happened happening
"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())
# After "how", these words only ask a question: "how long", "how often", "how old".
HOW_WORDS = frozenset(["long", "often", "soon", "far", "old"])

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "″": '"'})
_APOSTROPHES = "'\u2019\u02bc"
_DASHES = "-\u2212\u2013\u2014"  # hyphen, minus, en and em dash
# Characters that may stay inside a word; anything else separates words.
_NOT_WORD = re.compile("[^\\w'\u2019\u02bc-]+")
_DROP_APOSTROPHES = str.maketrans("", "", _APOSTROPHES)
_LEADING_DASHES = re.compile(rf"^[{_DASHES}]+")
_INNER_DASH = re.compile(rf"[{_DASHES}]+")
# Control and invisible formatting characters, and lone surrogates (unencodable).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)


@dataclass(frozen=True)
class Clause:
    """One word or one quoted phrase, in the reader's spelling."""

    words: tuple[str, ...]
    phrase: bool = False
    quoted: bool = False  # typed in quotes: searched exactly, without synonyms
    filler: bool = False  # part of a question phrase such as "how long"

    def render(self, replace: dict[str, str] | None = None) -> str:
        words = [(replace or {}).get(w.casefold(), w) for w in self.words]
        text = " ".join(words)
        return f'"{text}"' if self.phrase or self.quoted else text

    @property
    def stop(self) -> bool:
        """Made only of stopwords, and not quoted: never required."""
        return not self.quoted and (self.filler or all(is_stopword(w) for w in self.words))


def is_stopword(word: str) -> bool:
    return word.casefold().translate(_DROP_APOSTROPHES) in STOPWORDS


@dataclass(frozen=True)
class ParsedQuery:
    """AND of `required` groups (each an OR of clauses), minus any `excluded` clause."""

    required: tuple[tuple[Clause, ...], ...] = ()
    excluded: tuple[Clause, ...] = ()
    shortened: bool = False  # meaningful words were left out to keep the query bounded

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


def loosen_phrases(parsed: ParsedQuery) -> tuple[ParsedQuery, list[str]]:
    """`parsed` with each required quoted phrase (one standing alone, not in an OR
    group) turned into its words as ordinary words, and those phrases as typed.

    A reader's prose often quotes words ("can lupus “go away”?") that no article has
    as an exact phrase: when that makes the query find nothing, the planner searches
    the words instead (`Planner.loosened_page`). Exclusions are never loosened.
    """
    required: list[tuple[Clause, ...]] = []
    phrases: list[str] = []
    for group in parsed.required:
        clause = group[0]
        if len(group) == 1 and clause.quoted and len(clause.words) > 1:
            phrases.append(" ".join(clause.words))
            for word in clause.words:
                if (Clause((word,)),) not in required:
                    required.append((Clause((word,)),))
        elif group not in required:
            required.append(group)
    if not phrases:
        return parsed, []
    return ParsedQuery(tuple(required), parsed.excluded, parsed.shortened), phrases


def is_hyphenated(unit: Unit) -> bool:
    """A plain word written with a hyphen ("insulin-independence", "long-term"), which
    compiles to a phrase of its parts (`compile_query`)."""
    return (
        not unit.must
        and len(unit.source) == 1
        and len(unit.alternatives) == 1
        and len(unit.alternatives[0]) > 1
        and _INNER_DASH.search(unit.source[0]) is not None
    )


def split_hyphens(parsed: ParsedQuery, words: set[str]) -> ParsedQuery:
    """`parsed` with each plain hyphenated word of `words` (casefolded) standing alone
    (not in an OR group, not quoted) replaced by its parts as ordinary words.

    A hyphenated word is searched as a phrase of its parts; when no article holds
    that phrase ("insulin-independence"), the planner searches its parts instead
    (`Planner.split_page`), so an article holding "insulin" gets credit for it.
    Quoted words and exclusions stay exact.
    """
    required: list[tuple[Clause, ...]] = []
    for group in parsed.required:
        clause = group[0]
        if len(group) == 1 and not clause.quoted and len(clause.words) == 1:
            word = clause.words[0]
            if word.casefold() in words:
                for part in _INNER_DASH.split(word):
                    if part and (Clause((part,)),) not in required:
                        required.append((Clause((part,)),))
                continue
        if group not in required:
            required.append(group)
    return ParsedQuery(tuple(required), parsed.excluded, parsed.shortened)


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
                clause = Clause(words[:MAX_PHRASE_WORDS], phrase=len(words) > 1, quoted=True)
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
        if len(items) > MAX_LEXED_ITEMS:
            break
    return items


MAX_LEXED_ITEMS = 8 * MAX_CLAUSES


def _keep_meaningful_first(items: list[tuple[str, object]]) -> tuple[list, bool]:
    """At most `MAX_CLAUSES` clauses: stopwords go first, then the last words.

    A long question ("my daughter is 16 and has had lupus for three years…") keeps
    its meaningful words; the flag says whether any meaningful word was left out.
    """
    clauses = [n for n, (kind, _value) in enumerate(items) if kind == "clause"]
    if len(clauses) <= MAX_CLAUSES:
        return items, False
    stop = [n for n in clauses if items[n][1][0].stop]  # type: ignore[index]
    meaningful = [n for n in clauses if n not in set(stop)]
    keep = set(meaningful[:MAX_CLAUSES])
    keep |= set(stop[: max(0, MAX_CLAUSES - len(keep))])
    kept = [item for n, item in enumerate(items) if item[0] == "or" or n in keep]
    return kept, len(meaningful) > MAX_CLAUSES


def parse_query(text: str) -> ParsedQuery:
    """Read a reader's query leniently; never raises, output bounded by the caps."""
    required: list[list[Clause]] = []
    excluded: list[Clause] = []
    pending_or = False
    cleaned = _clean(text)
    items = _items(cleaned)
    cut = len(text or "") > MAX_QUERY_CHARS or len(items) > MAX_LEXED_ITEMS
    items, shortened = _keep_meaningful_first(items)
    shortened = shortened or cut
    previous = ""
    for kind, value in items:
        if kind == "or":
            pending_or = bool(required)
            previous = ""
            continue
        clause, negated = value  # type: ignore[misc]
        word = clause.words[0].casefold() if len(clause.words) == 1 else ""
        if previous == "how" and word in HOW_WORDS and not clause.quoted:
            clause = Clause(clause.words, filler=True)
        previous = word
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
    return ParsedQuery(tuple(tuple(group) for group in required), tuple(excluded), shortened)


Analyser = Callable[[str], tuple[str, ...]]
Tokens = tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """One condition of a compiled query: a document must match any alternative.

    An alternative of one token is a term; of several, a phrase. A `loose`
    alternative needs its tokens anywhere in the document: it keeps plain words
    that happen to spell a synonym (`cord blood`) as loose as any other words,
    while the synonym's members still match as phrases. `source` keeps the reader's
    words behind the unit for "matched nothing" reports. `must` (a quoted phrase or
    word) is required in every mode; `stop` (only stopwords) is never required.
    `also` names the synonyms searched besides the reader's own words.
    """

    alternatives: tuple[Tokens, ...]
    source: tuple[str, ...]
    loose: tuple[Tokens, ...] = ()
    must: bool = False
    stop: bool = False
    also: tuple[str, ...] = ()
    # An OR group's alternatives one by one: (the reader's words, synonyms searched too).
    also_by_source: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def terms(self) -> int:
        return sum(len(alt) for alt in self.alternatives + self.loose)

    def own(self) -> Tokens:
        """The reader's own words as tokens (the first alternative)."""
        return (self.loose + self.alternatives)[0]


@dataclass(frozen=True)
class CompiledQuery:
    required: tuple[Unit, ...] = ()
    excluded: tuple[Unit, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.required or self.excluded)

    def term_count(self) -> int:
        return sum(u.terms() for u in self.required + self.excluded)

    def positive_tokens(self) -> frozenset[str]:
        """Every token a matching document may contain."""
        return frozenset(t for u in self.required for alt in u.alternatives + u.loose for t in alt)

    def must_units(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.required if u.must)

    def countable_units(self) -> tuple[Unit, ...]:
        """The units counted for "match all / most": meaningful, not quoted.

        A query made only of stopwords ("what is it") counts them, so it still means
        what it says.
        """
        units = tuple(u for u in self.required if not u.must and not u.stop)
        if units or self.must_units():
            return units
        return tuple(u for u in self.required if not u.must)

    def highlight_terms(self) -> tuple[frozenset[str], tuple[Tokens, ...]]:
        """What a snippet marks: single tokens, and multi-word alternatives as phrases.

        A multi-word synonym ("inflammatory bowel disease") is marked only as a whole,
        never word by word; the reader's own loose words are marked one by one.
        """
        words: set[str] = set()
        phrases: list[Tokens] = []
        units = [u for u in self.required if not u.stop] or self.required
        for unit in units:
            for alt in unit.loose:
                words.update(alt)
            for alt in unit.alternatives:
                if len(alt) == 1:
                    words.add(alt[0])
                elif alt not in phrases:
                    phrases.append(alt)
        return frozenset(words), tuple(phrases)

    def highlight_groups(self) -> dict[str, int]:
        """Each mark key (a token, or a phrase's tokens joined) → the unit it stands for.

        A snippet is chosen by how many of the reader's words it shows, not how many
        spellings: "lupus", "SLE" and "systemic lupus erythematosus" are one word of
        "cure for lupus", so a summary naming all three does not beat the sentence
        with both "cure" and "lupus".
        """
        groups: dict[str, int] = {}
        for number, unit in enumerate(self.required):
            for alt in unit.loose + unit.alternatives:
                groups.setdefault(" ".join(alt), number)
                for token in alt:
                    groups.setdefault(token, number)
        return groups

    def expanded(self) -> dict[str, list[str]]:
        """The reader's words (casefolded) → the synonyms searched for them too."""
        expanded: dict[str, list[str]] = {}
        for unit in self.required:
            for source, also in unit.also_by_source or ((" ".join(unit.source), unit.also),):
                if also:
                    expanded[source.casefold()] = list(also)
        return expanded


def _words_pattern(words: str) -> re.Pattern:
    return re.compile(
        r'(?<![\w"])' + r"[\s-]+".join(re.escape(w) for w in words.split()) + r'(?![\w"])',
        re.IGNORECASE,
    )


def as_typed(text: str, words: str) -> str:
    """`words` (casefolded) as the reader spelled them in `text`."""
    match = _words_pattern(words).search(text) if words.strip() else None
    return match.group() if match else words


def quote_words(text: str, words: str) -> str:
    """`text` with `words` (case-insensitively, as whole words) in quotes: the query
    that searches them exactly, without synonyms or corrections."""
    words = words.strip().strip('"')
    if not words:
        return text
    quoted, count = _words_pattern(words).subn(lambda m: f'"{m.group()}"', text, count=1)
    return quoted if count else f'{text} "{words}"'


def relaxation_steps(units: int, *, has_must: bool = False) -> list[int]:
    """Minimum-should-match values to try in turn: every unit, then one fewer… to 1
    (to 0 when quoted units are required anyway: they alone may answer).

    A backend takes the first step that finds at least `FEW_RESULTS` articles (or the
    last step), and ranks articles matching more units above those matching fewer.
    """
    return list(range(units, -1 if has_must else 0, -1))


# --- Spelling: which words may be corrected, and into what --------------------------

MIN_CORRECTABLE = 5  # shorter words are never corrected (PubMed's rule: too many neighbours)
MIN_CORRECTION = 4  # never corrected into a shorter word (an abbreviation, a stub)

#: Known English words, never corrected (SCOWL; source and licence in the file header).
ENGLISH_WORDS = Path(__file__).resolve().parent.parent / "data" / "english-words.txt"


def correction_distance(word: str) -> int:
    """Edits allowed when correcting `word`: 0 below 5 letters, 1 up to 7, else 2."""
    if len(word) < MIN_CORRECTABLE:
        return 0
    return 1 if len(word) <= 7 else 2


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The shipped English word list, read once per process, on first use."""
    with ENGLISH_WORDS.open(encoding="ascii") as lines:
        return frozenset(line.rstrip("\n") for line in lines if not line.startswith("#"))


def is_english_word(word: str) -> bool:
    """Whether `word` (in any case, accents and apostrophes ignored) is a known English
    word of the shipped list."""
    return fold(word) in english_words()


def correctable(word: str, known: Callable[[str], bool] = is_english_word) -> bool:
    """Whether a reader's word may be corrected at all (PubMed's safety rules).

    Never a stopword, a word with digits, a word shorter than `MIN_CORRECTABLE`
    letters, or a known word (`known`: by default the shipped English list). The
    engine then keeps only the words no article, title or taxonomy name contains
    (`Operations.unknown_words`): the library's own words are its medical dictionary.
    """
    folded = word.casefold()
    if is_stopword(folded) or any(ch.isdigit() for ch in folded):
        return False
    return correction_distance(folded) > 0 and not known(word)


def acceptable_correction(word: str, candidate: str) -> bool:
    """Never a short abbreviation for a word, never a big change in length."""
    if len(candidate) < MIN_CORRECTION or candidate.isupper():
        return False
    return abs(len(candidate) - len(word)) <= correction_distance(word)


def suggestion_helps(original_total: int, corrected_total: int) -> bool:
    """A correction is offered or served only when it finds more articles (matching all
    their words)."""
    return corrected_total > original_total


# --- Compiling: analysis and synonyms -----------------------------------------------

Analyser = Callable[[str], tuple[str, ...]]
Tokens = tuple[str, ...]


def is_abbreviation(phrase: str) -> bool:
    """A short all-capitals single word (GBS, MS, T1D): matched whole and unstemmed."""
    phrase = phrase.strip()
    return 2 <= len(phrase) <= 5 and phrase.isalnum() and phrase.isupper()


@dataclass(frozen=True)
class Synonyms:
    """Synonym groups, analysed once.

    `by_tokens` maps a member as a reader's words analyse (stemmed) to every member
    as the index holds it; `by_abbreviation` maps an abbreviation member, folded but
    unstemmed, to the same, so "gbs" finds GBS but "GB" is never taken for it;
    `names` gives each indexed member its display name.
    """

    by_tokens: dict[Tokens, tuple[Tokens, ...]]
    by_abbreviation: dict[str, tuple[Tokens, ...]]
    names: dict[Tokens, str]
    longest: int


@lru_cache(maxsize=32)
def synonym_index(synonyms: tuple[tuple[str, ...], ...], analyse: Analyser) -> Synonyms:
    """Analyse every group's members once.

    Cached on the groups tuple itself: editors can change aliases at any time, and a
    new tuple simply makes a new entry.
    """
    merged: dict[Tokens, list[Tokens]] = {}
    abbreviations: dict[str, list[Tokens]] = {}
    names: dict[Tokens, str] = {}
    longest = 0
    for group in synonyms:
        members: list[Tokens] = []
        keys: list[tuple[bool, object, Tokens]] = []  # (abbreviation?, key, member)
        for phrase in group:
            tokens = analyse(phrase)[:MAX_SYNONYM_WORDS]
            if not tokens:
                continue
            names.setdefault(tokens, phrase.strip())
            if tokens not in members:
                members.append(tokens)
            if is_abbreviation(phrase):
                keys.append((True, phrase.strip().casefold(), tokens))
            else:
                keys.append((False, analyse(phrase.casefold())[:MAX_SYNONYM_WORDS], tokens))
        if len(members) < 2:
            continue
        for abbreviation, key, own in keys:
            target: dict = abbreviations if abbreviation else merged
            entry = target.setdefault(key, [own])
            entry.extend(m for m in members if m not in entry)
            if not abbreviation:
                longest = max(longest, len(key))  # type: ignore[arg-type]
    return Synonyms(
        {k: tuple(v[:MAX_ALTERNATIVES]) for k, v in merged.items()},
        {k: tuple(v[:MAX_ALTERNATIVES]) for k, v in abbreviations.items()},
        names,
        longest,
    )


def _also(alternatives: tuple[Tokens, ...], source: tuple[str, ...], names: dict) -> tuple:
    own = " ".join(source).casefold()
    seen = {own}
    also = []
    for alt in alternatives:
        name = names.get(alt)
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            also.append(name)
    return tuple(also)


def _synonym_unit(
    alternatives: tuple[Tokens, ...], source: tuple[str, ...], synonyms: Synonyms, **kwargs
) -> Unit:
    return Unit(alternatives, source, also=_also(alternatives, source, synonyms.names), **kwargs)


def _expand_run(
    words: list[tuple[str, Tokens, bool]], analyse: Analyser, synonyms: Synonyms
) -> list[Unit]:
    """Greedy longest-first synonym matching over a run of plain query words.

    `words` are (reader's word, its tokens, whether it is a stopword); a word that is an abbreviation member
    ("gbs" for GBS) is matched on its own, unstemmed.
    """
    tokens: list[str] = []
    owners: list[str] = []
    starts: dict[int, str] = {}  # token position → the single-token word starting there
    stops: set[str] = set()
    for word, word_tokens, stop in words:
        if len(word_tokens) == 1:
            starts[len(tokens)] = word
        if stop:
            stops.add(word)
        tokens.extend(word_tokens)
        owners.extend(word for _ in word_tokens)
    units = []
    i = 0
    while i < len(tokens):
        for size in range(min(synonyms.longest, len(tokens) - i), 0, -1):
            key = tuple(tokens[i : i + size])
            if key in synonyms.by_tokens and not (
                size == 1 and starts.get(i, "").casefold() in synonyms.by_abbreviation
            ):
                source = tuple(dict.fromkeys(owners[i : i + size]))
                loose = (key,) if size > 1 and len(source) > 1 else ()
                stop = all(w in stops for w in source)
                units.append(
                    _synonym_unit(synonyms.by_tokens[key], source, synonyms, loose=loose, stop=stop)
                )
                i += size
                break
        else:
            word = owners[i]
            abbreviation = synonyms.by_abbreviation.get(word.casefold()) if i in starts else None
            if abbreviation:
                units.append(_synonym_unit(abbreviation, (word,), synonyms))
            else:
                units.append(Unit(((tokens[i],),), (word,), stop=word in stops))
            i += 1
    return units


def _clause_unit(clause: Clause, analyse: Analyser, synonyms: Synonyms) -> Unit | None:
    tokens = tuple(t for w in clause.words for t in analyse(w.casefold()))[:MAX_PHRASE_WORDS]
    if not tokens:
        return None
    if clause.quoted:
        # Exactly what was typed: no synonyms (the "search only this word" link).
        exact = tuple(t for w in clause.words for t in analyse(w))[:MAX_PHRASE_WORDS]
        return Unit((exact or tokens,), clause.words, must=True)
    if len(clause.words) == 1 and clause.words[0].casefold() in synonyms.by_abbreviation:
        alternatives = synonyms.by_abbreviation[clause.words[0].casefold()]
        return _synonym_unit(alternatives, clause.words, synonyms)
    if tokens in synonyms.by_tokens:
        return _synonym_unit(synonyms.by_tokens[tokens], clause.words, synonyms)
    return Unit((tokens,), clause.words)


def compile_query(
    parsed: ParsedQuery,
    analyse: Analyser,
    synonyms: tuple[tuple[str, ...], ...] = (),
) -> CompiledQuery:
    """Analyse the parsed query and expand synonyms.

    Runs of consecutive plain words are matched against synonym members longest
    first, so `multiple sclerosis` is one unit (any of "multiple sclerosis", "ms",
    "disseminated sclerosis") rather than two words. A quoted phrase or word is
    searched exactly, without synonyms; an OR alternative expands when it equals a
    member as a whole. Reader's words are analysed casefolded; synonym members as
    written, so an all-capitals abbreviation stays whole. Words that analyse to
    nothing drop out. The result holds at most `MAX_COMPILED_TERMS` tokens.
    """
    index = synonym_index(tuple(tuple(g) for g in synonyms), analyse)
    required: list[Unit] = []
    run: list[tuple[str, Tokens, bool]] = []

    def flush() -> None:
        required.extend(_expand_run(run, analyse, index))
        run.clear()

    for group in parsed.required:
        if len(group) == 1 and not group[0].quoted:
            word = group[0].words[0]
            tokens = analyse(word.casefold())
            if len(tokens) > 1 and tokens not in index.by_tokens:
                # A hyphenated word ("Guillain-Barré") is a phrase of its parts, but
                # may still start or end a longer synonym run.
                flush()
                required.append(Unit((tokens[:MAX_PHRASE_WORDS],), (word,)))
                continue
            if tokens:
                run.append((word, tokens, group[0].stop))
            continue
        flush()
        alternatives: list[Tokens] = []
        source: list[str] = []
        also: list[str] = []
        by_source: list[tuple[str, tuple[str, ...]]] = []
        for clause in group:
            unit = _clause_unit(clause, analyse, index)
            if unit:
                alternatives.extend(a for a in unit.alternatives if a not in alternatives)
                source.extend(unit.source)
                also.extend(n for n in unit.also if n not in also)
                by_source.append((" ".join(unit.source), unit.also))
        if alternatives:
            must = len(group) == 1 and group[0].quoted
            required.append(
                Unit(
                    tuple(alternatives[:MAX_ALTERNATIVES]),
                    tuple(source),
                    must=must,
                    also=tuple(also),
                    also_by_source=tuple(by_source) if len(by_source) > 1 else (),
                )
            )
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
                kept[slot].append(replace(unit, alternatives=tuple(alternatives)))
            else:
                budget += sum(len(alt) for alt in unit.loose)
    return CompiledQuery(tuple(kept[0]), tuple(kept[1]))


def analysed_key(text: str, synonyms: tuple[tuple[str, ...], ...] = ()) -> str:
    """A query as editors' picks match it: folded, stop words dropped, stemmed (the
    Whoosh analyser's stemming, so every engine agrees), each synonym group's member
    replaced by the group's first name, words in sorted order. "Lupus stem cells" and
    "stem cell SLE" have one key when SLE is an alias of Lupus."""
    from search.backends.whoosh_analysis import analyse

    terms = [t for word in parse_query(text or "").words() for t in analyse(word.casefold())]
    names: dict[Tokens, Tokens] = {}
    for group in synonyms:
        first = tuple(analyse(group[0].casefold())) if group else ()
        for member in group:
            if is_abbreviation(member):
                names[(member.strip().casefold(),)] = first
            names.setdefault(tuple(analyse(member.casefold())), first)
    longest = max((len(key) for key in names), default=1)
    key: list[str] = []
    i = 0
    while i < len(terms):
        for size in range(min(longest, len(terms) - i), 0, -1):
            found = names.get(tuple(terms[i : i + size]))
            if found:
                key.extend(found)
                i += size
                break
        else:
            key.append(terms[i])
            i += 1
    return " ".join(sorted(set(key)))
