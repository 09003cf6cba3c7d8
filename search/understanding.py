"""What a reader's question is about, read with the library's own vocabulary (issue 19).

Engine-neutral: the diseases and therapies a question names (by name or alias) and
the reader intents it states ("is it safe", "right for me") are found by matching
the question's words against the vocabulary's phrases, both analysed the same way
(folded, stop words dropped, stemmed with the Whoosh analyser, which every engine
shares for this). A phrase matches whole words in order, longest first, so
"multiple sclerosis" is one topic and never "sclerosis" as well. A short
all-capitals alias (MS, SLE) matches the reader's word whatever its case, as
synonym expansion does (`search.backends.query`), except where the word is also a
common English word ("as", "us"): then only as typed in capitals. "How does HSCT
work?" asks how it works, so its verb states no intent (not success, as "does it
work?" does).

The answer stage (`search.answering`) ranks with what is found here, and the results
page says it ("Showing articles about Lupus and safety").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from search.backends.base import Intent, Topic, Understood, Vocabulary
from search.backends.query import is_abbreviation
from search.backends.text import WORD_RE
from search.backends.whoosh_analysis import analyse

# Abbreviations that are also everyday words: taken for a topic only in capitals.
_SHORT = "am an as at be do go he hi if in is it me my no of oh ok on or so to up us we"
ENGLISH_SHORT_WORDS = frozenset(_SHORT.split(" "))

Terms = tuple[str, ...]


# "How does HSCT work?" asks how a treatment works, not whether it does: the verb that
# ends a question "how does/do/can … work?" states no intent ("does it work?", "how well
# does it work?" and "how long does it take to work?" still ask about success, and
# "how do I get back to work?" about recovery).
_HOW_IT_WORKS = re.compile(
    r"\bhow\s+(?:do|does|did|can|could|will|would)\s+(?:[\w'\u2019-]+\s+){1,5}?(?<!\bto\s)(works?)\b"
    r"(?=\s*(?:[?.!]|$))",
    re.IGNORECASE,
)


def question_terms(text: str, *, skip: frozenset[int] = frozenset()) -> list[tuple[str, str]]:
    """(the word as typed, its term) for each meaningful word of `text`, in order; a
    word starting at an offset in `skip` keeps its place with the term "" (it matches
    no phrase)."""
    words = []
    for match in WORD_RE.finditer(text or ""):
        word = match.group()
        if word == "\n":
            continue
        for term in analyse(word.casefold()):
            words.append((word, "" if match.start() in skip else term))
    return words


def _intent_terms(text: str) -> list[tuple[str, str]]:
    """`question_terms` as intents read them: the verb of "how does it work?" left out
    (`_HOW_IT_WORKS`)."""
    skip = frozenset(m.start(1) for m in _HOW_IT_WORKS.finditer(text or ""))
    return question_terms(text, skip=skip)


def phrase_terms(phrase: str) -> Terms:
    """A vocabulary phrase's terms, as `question_terms` would read it."""
    return analyse(phrase.casefold())


def _keys(topic: Topic) -> list[tuple[Terms, bool]]:
    """(terms, abbreviation?) for a topic's name and each alias."""
    keys = []
    for phrase in (topic.name, *topic.aliases):
        phrase = phrase.strip()
        if not phrase:
            continue
        if is_abbreviation(phrase):
            keys.append(((phrase.casefold(),), True))
        else:
            terms = phrase_terms(phrase)
            if terms:
                keys.append((terms, False))
    return keys


def _find(
    words: list[tuple[str, str]], entries: Iterable[tuple[Terms, bool, object]]
) -> list[object]:
    """The entries named in `words`, longest phrases first, each word used once,
    in the order the question names them."""
    found = _spans(words, entries)
    return list(dict.fromkeys(value for _start, _size, value in found))


def _spans(
    words: list[tuple[str, str]], entries: Iterable[tuple[Terms, bool, object]]
) -> list[tuple[int, int, object]]:
    """(first word, number of words, entry) for each entry named in `words` (`_find`)."""
    by_length = sorted(entries, key=lambda entry: -len(entry[0]))
    terms = [term for _word, term in words]
    used = [False] * len(words)
    found: list[tuple[int, int, object]] = []
    for key, abbreviation, value in by_length:
        size = len(key)
        for start in range(len(terms) - size + 1):
            if any(used[start : start + size]):
                continue
            if abbreviation:
                typed = words[start][0]
                folded = typed.casefold()
                if folded != key[0] or (folded in ENGLISH_SHORT_WORDS and not typed.isupper()):
                    continue
            elif tuple(terms[start : start + size]) != key:
                continue
            used[start : start + size] = [True] * size
            found.append((start, size, value))
    found.sort(key=lambda item: item[0])
    return found


@lru_cache(maxsize=32)
def _topic_entries(topics: tuple[Topic, ...]) -> tuple[tuple[Terms, bool, Topic], ...]:
    """Every name and alias of `topics`, analysed once per vocabulary (it is a new tuple
    whenever an editor changes one)."""
    return tuple(
        (key, abbreviation, topic) for topic in topics for key, abbreviation in _keys(topic)
    )


@lru_cache(maxsize=32)
def _intent_entries(intents: tuple[Intent, ...]) -> tuple[tuple[Terms, bool, Intent], ...]:
    return tuple(
        (terms, False, intent)
        for intent in intents
        for terms in dict.fromkeys(phrase_terms(p) for p in intent.phrases if p.strip())
        if terms
    )


@lru_cache(maxsize=32)
def _heading_keys(intents: tuple[Intent, ...]) -> tuple[Terms, ...]:
    keys = (phrase_terms(phrase) for intent in intents for phrase in intent.headings)
    return tuple(dict.fromkeys(key for key in keys if key))


def title_names(name: str) -> tuple[str, ...]:
    """A term's name, the name without and within its brackets ("Lupus", "systemic lupus
    erythematosus"): what a title about the term itself would say (the topic page's
    "Start here" default, `library.models.TaxonomyTerm.title_names`, reads it too)."""
    bracketed = re.findall(r"\(([^()]+)\)", name)
    plain = re.sub(r"\s*\([^()]*\)", "", name).strip()
    return tuple(n for n in dict.fromkeys([name, plain, *bracketed]) if n.strip())


def titled_by_name(title: str, topics: Iterable[Topic]) -> tuple[Topic, ...]:
    """The `topics` that `title` names by their own name (`title_names`), not only by an
    alias: an article whose title names "Hematopoietic stem cell transplantation" is
    about it more than one titled "Life after HSCT"."""
    return _by_name(title, tuple(topics))


@lru_cache(maxsize=4096)
def _by_name(title: str, topics: tuple[Topic, ...]) -> tuple[Topic, ...]:
    return tuple(_find(question_terms(title), _name_entries(topics)))  # type: ignore[arg-type]


@lru_cache(maxsize=32)
def _name_entries(topics: tuple[Topic, ...]) -> tuple[tuple[Terms, bool, Topic], ...]:
    return tuple(
        (terms, False, topic)
        for topic in topics
        for terms in dict.fromkeys(phrase_terms(name) for name in title_names(topic.name))
        if terms
    )


def named_topics(text: str, topics: Iterable[Topic]) -> tuple[Topic, ...]:
    """The `topics` that `text` names (by name or alias), in the order it names them."""
    return _named(text, tuple(topics))


@lru_cache(maxsize=4096)
def _named(text: str, topics: tuple[Topic, ...]) -> tuple[Topic, ...]:
    # Titles are read again for every question: remembered while the vocabulary is the same.
    return tuple(_find(question_terms(text), _topic_entries(topics)))  # type: ignore[arg-type]


def named_intents(text: str, intents: Iterable[Intent]) -> tuple[Intent, ...]:
    """The `intents` that `text` (a question or a title) states by one of their
    phrases, in order."""
    return _stated(text, tuple(intents))


@lru_cache(maxsize=4096)
def _stated(text: str, intents: tuple[Intent, ...]) -> tuple[Intent, ...]:
    # Titles are read again for every question: remembered while the vocabulary is the same.
    return tuple(_find(_intent_terms(text), _intent_entries(intents)))  # type: ignore[arg-type]


def topic_words(text: str, topics: Iterable[Topic]) -> frozenset[str]:
    """The words of `text` (casefolded, as `WORD_RE` splits them) that name one of
    `topics`: the words a relaxed search must keep so as not to lose what the question
    is about."""
    return _words_naming(text, _topic_entries(tuple(topics)))


def intent_words(text: str, intents: Iterable[Intent]) -> frozenset[str]:
    """The words of `text` (casefolded) that state one of `intents` ("safe", "abroad")."""
    return _words_naming(_intent_terms(text), _intent_entries(tuple(intents)))


def _words_naming(
    words: str | list[tuple[str, str]], entries: Iterable[tuple[Terms, bool, object]]
) -> frozenset[str]:
    """The words (casefolded, as `WORD_RE` splits them) of a text, or of its
    `question_terms`, in a phrase of `entries`."""
    words = question_terms(words) if isinstance(words, str) else words
    return frozenset(
        words[n][0].casefold()
        for start, size, _value in _spans(words, entries)
        for n in range(start, start + size)
    )


def understand(text: str, vocabulary: Vocabulary | None) -> Understood:
    """The topics and intents `text` names, in the order it names them."""
    if not vocabulary or not (text or "").strip():
        return Understood()
    topics = named_topics(text, vocabulary.topics)
    return Understood(topics=tuple(topics), intents=named_intents(text, vocabulary.intents))


def describe(understood: Understood) -> str:
    """ "Lupus and safety and side effects" → how the results page names it ("" if nothing)."""
    names = [topic.name for topic in understood.topics] + [i.label for i in understood.intents]
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


@lru_cache(maxsize=8192)
def heading_matches(heading: str, intents: tuple[Intent, ...]) -> bool:
    """Whether a section heading contains one of the intents' heading words (whole
    words, stemmed: "Risks and side effects" for "risk"). Headings repeat from one
    question to the next, so answers are remembered."""
    terms = phrase_terms(heading)
    for key in _heading_keys(intents):
        size = len(key)
        if any(terms[i : i + size] == key for i in range(len(terms) - size + 1)):
            return True
    return False
