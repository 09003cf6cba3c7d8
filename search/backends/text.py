"""Engine-neutral text handling shared by every backend.

The word pattern, accent and apostrophe folding, the stop-word list and the
highlighter live here so that Whoosh and PostgreSQL read a reader's words the same
way: "Crohn's", "Crohn\u2019s" and "Crohns" are one word, "Barré" is "barre", and the
same short list of stop words is dropped (abbreviations such as "AS" and "MS" and
plain-language words such as "can" survive). How a folded word is stemmed is each
engine's business, so `highlight` takes the engine's word-to-term function.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable, Iterator

# A word, keeping inner apostrophes ("Crohn's", "Crohn\u2019s") so they can be dropped
# rather than split on; a newline is matched too and opens a position gap.
WORD_RE = re.compile("\\w+(?:['\u2019\u02bc]\\w+)*|\n", re.UNICODE)
APOSTROPHES = "'\u2019\u02bc"  # ASCII, typographic and modifier-letter apostrophes
DROP_APOSTROPHES = str.maketrans("", "", APOSTROPHES)

# Deliberately shorter than the usual English lists: "as", "us", "may", "can" and
# "will" are kept because abbreviations and plain-language questions need them.
_STOP = "a an and are at be by for from if in is it of on or that the this to was were with"
STOP_WORDS = frozenset(_STOP.split(" "))

SNIPPET_CHARS = 240
SCAN_CHARS = 20_000  # how far into a body highlighting looks for a match
GAP_WORDS = 3  # words between two candidate terms that `candidates` includes


def fold(word: str) -> str:
    """Lowercase, strip accents and apostrophes: `Crohn\u2019s` → `crohns`, `Barré` → `barre`."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(ch for ch in word if not unicodedata.combining(ch))
    return word.translate(DROP_APOSTROPHES)


# --- Highlighting -------------------------------------------------------------------

# A length-preserving accent and case fold, so offsets in the folded text are offsets in
# the original: each precomposed Latin letter maps to its base letter, lower case, and
# every other character that a case-insensitive regex matches to an ASCII letter maps to
# that letter (A-Z, the Kelvin sign; the dotless i, which `re.IGNORECASE` takes for an i).
# A pattern of ASCII words then finds the same words in it without `re.IGNORECASE`.
_FOLD_TABLE: dict[int, str] = {}
for _cp in range(0xC0, 0x250):
    _base = "".join(
        c for c in unicodedata.normalize("NFKD", chr(_cp)) if not unicodedata.combining(c)
    )
    if len(_base) == 1 and _base.isascii():
        _FOLD_TABLE[_cp] = _base.lower()
# Outside that range, the characters whose lower case is an ASCII letter are A-Z and the
# Kelvin sign (`tests/search/test_highlight_scan.py` checks every character).
_FOLD_TABLE.update({ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ\u212a"})
_FOLD_TABLE.update({ord("\u0131"): "i", ord("\u2019"): "'", ord("\u02bc"): "'"})
_ASCII_WORD = re.compile(r"[a-z0-9_]+")


def fold_for_scan(text: str) -> str:
    """Fold accents and case without changing the length of `text` (C-speed
    `str.translate`)."""
    return text.translate(_FOLD_TABLE)


@functools.lru_cache(maxsize=512)
def candidate_pattern(terms: frozenset[str]) -> re.Pattern | None:
    """A regex finding words in folded text that may analyse to one of `terms`.

    A stem is nearly always a prefix of the word it came from, minus a final letter
    ("studi" ← "study"), so the regex matches words starting with the stem less its
    last letter; each candidate is then confirmed with the engine's normaliser.

    The text it scans is `fold_for_scan`'s, already in lower case where a term in ASCII
    could match: such terms (nearly all) are found case-sensitively, after a word boundary,
    which Python's regex engine does faster than a case-insensitive match
    after a look-behind, with the same matches; any other term keeps the latter. Built
    once per set of terms: a results page asks for it for every snippet and section.
    """
    prefixes = sorted({t[:-1] if len(t) > 3 else t for t in terms if t}, key=len, reverse=True)
    if not prefixes:
        return None
    alternation = "|".join(re.escape(p) for p in prefixes)
    if all(_ASCII_WORD.fullmatch(p) for p in prefixes):
        return re.compile(rf"\b(?:{alternation})\w*(?:'\w+)*")
    return re.compile(rf"(?<!\w)(?:{alternation})\w*(?:'\w+)*", re.IGNORECASE)


Normalise = Callable[[str], str]


def _matches(
    text: str, folded: str, pattern, terms: frozenset[str], normalise: Normalise, start, end
) -> Iterator[tuple[int, int]]:
    for match in pattern.finditer(folded, start, end):
        if normalise(text[match.start() : match.end()]) in terms:
            yield match.start(), match.end()


def candidates(summary: str, body: str, terms: frozenset[str]) -> set[str]:
    """Every word `highlight` might ask the normaliser about, for engines that
    normalise words in a batch (one database round trip per page) first: the words
    that may be terms, and the first `GAP_WORDS` words between two of them, which
    decide whether two terms stand next to each other as a phrase (`_words_between`;
    any later word of a long gap is still asked, one at a time)."""
    pattern = candidate_pattern(frozenset(terms)) if terms else None
    if pattern is None:
        return set()
    words = set()
    for text in (summary, body):
        scan = (text or "")[:SCAN_CHARS]
        end = None
        for match in pattern.finditer(fold_for_scan(scan)):
            if end is not None:
                gap = WORD_RE.findall(scan, end, match.start())
                words.update(w for w in gap[:GAP_WORDS] if w != "\n")
            words.add(scan[match.start() : match.end()])
            end = match.end()
    return words


def body_marks(
    body: str,
    terms: frozenset[str],
    normalise: Normalise,
    phrases: tuple[tuple[str, ...], ...] = (),
) -> list[tuple[int, int, str]]:
    """(start, end, key) of every mark `highlight` would make in `body`: found once,
    they serve both a snippet and the answer stage's sections."""
    tokens = terms | {t for phrase in phrases for t in phrase}
    pattern = candidate_pattern(frozenset(tokens)) if tokens else None
    return _marks(body, terms, phrases, pattern, normalise) if pattern else []


def escape_start(text: str, size: int = SNIPPET_CHARS) -> str:
    if len(text) <= size:
        return html.escape(text)
    cut = text.rfind(" ", 0, size)
    return html.escape(text[: cut if cut > size // 2 else size].rstrip()) + "…"


def _words_between(text: str, start: int, end: int, normalise: Normalise) -> bool:
    """Whether `text[start:end]` holds a word the index keeps (stop words do not count)."""
    return any(normalise(w) for w in WORD_RE.findall(text, start, end) if w != "\n")


def _marks(
    text: str,
    terms: frozenset[str],
    phrases: tuple[tuple[str, ...], ...],
    pattern,
    normalise: Normalise,
) -> list[tuple[int, int, str]]:
    """(start, end, key) of every mark in `text`: single terms, and phrases whole.

    `key` names what was matched (a term, or a phrase's tokens joined), so passages
    can be compared by how many distinct query words they show.
    """
    scan = text[:SCAN_CHARS]
    folded = fold_for_scan(scan)
    found = [
        (m.start(), m.end(), normalise(scan[m.start() : m.end()])) for m in pattern.finditer(folded)
    ]
    starting: dict[str, list[tuple[str, ...]]] = {}  # phrases by their first word
    for phrase in phrases:
        starting.setdefault(phrase[0], []).append(phrase)
    marks: list[tuple[int, int, str]] = []
    n = 0
    while n < len(found):
        start, end, term = found[n]
        for phrase in starting.get(term, ()):
            size = len(phrase)
            window = found[n : n + size]
            if (
                len(window) == size
                and all(w[2] == t for w, t in zip(window, phrase, strict=True))
                and not any(
                    _words_between(scan, window[i][1], window[i + 1][0], normalise)
                    for i in range(size - 1)
                )
            ):
                marks.append((start, window[-1][1], " ".join(phrase)))
                n += size
                break
        else:
            if term in terms:
                marks.append((start, end, term))
            n += 1
    return marks


def _best_window(
    marks: list[tuple[int, int, str]], size: int, groups: dict[str, int] | None = None
) -> tuple[int, int]:
    """The (distinct query words, -start) best passage of `size` characters: its first mark.

    With `groups`, marks of one query word's synonyms count once (see
    `CompiledQuery.highlight_groups`).
    """
    groups = groups or {}
    best, best_at = (-1, 0), 0
    last = 0
    for first, (start, _end, _key) in enumerate(marks):
        last = max(last, first)
        while last + 1 < len(marks) and marks[last + 1][1] - start <= size * 3 // 4:
            last += 1
        distinct = len({groups.get(key, key) for _s, _e, key in marks[first : last + 1]})
        if distinct > best[0]:
            best, best_at = (distinct, -start), first
    return best[0], best_at


def highlight(
    summary: str,
    body: str,
    terms: frozenset[str],
    normalise: Normalise,
    size: int = SNIPPET_CHARS,
    phrases: tuple[tuple[str, ...], ...] = (),
    groups: dict[str, int] | None = None,
    body_marks: list[tuple[int, int, str]] | None = None,
) -> str:
    """A snippet of about `size` characters with matched words in <mark>, the rest escaped.

    The passage shown is the one with the most distinct query words (a term, or a
    multi-word synonym marked as a whole, never word by word; `groups` makes one
    word's synonyms count once), the summary winning ties. Only the folded text is
    scanned by a compiled regex, and only candidate words are passed to `normalise`
    (a word as written → its index term), so a long body costs little. `body_marks`
    are the body's marks when the caller already found them (`body_marks`).
    """
    tokens = terms | {t for phrase in phrases for t in phrase}
    pattern = candidate_pattern(frozenset(tokens)) if tokens else None
    if pattern is None:
        return escape_start(summary or body, size)
    best = None
    for text in (summary, body):
        if not text:
            continue
        if text is body and body_marks is not None:
            marks = body_marks
        else:
            marks = _marks(text, terms, phrases, pattern, normalise)
        if not marks:
            continue
        distinct, first = _best_window(marks, size, groups)
        if best is None or distinct > best[0]:
            best = (distinct, text, marks, first)
    if best is None:
        return escape_start(summary or body, size)
    _distinct, text, marks, first_index = best
    first = marks[first_index]
    if len(text) <= size + size // 4:
        start, end = 0, len(text)
    else:
        start = max(0, first[0] - size // 4)
        if start:
            space = text.find(" ", start, first[0])
            start = space + 1 if space != -1 else first[0]
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", first[1], end)
            end = space if space != -1 else end
    parts = ["…"] if start else []
    position = start
    for m_start, m_end, _key in marks:
        if m_start < start:
            continue
        if m_end > end:
            break
        parts.append(html.escape(text[position:m_start]))
        parts.append(f"<mark>{html.escape(text[m_start:m_end])}</mark>")
        position = m_end
    parts.append(html.escape(text[position:end]))
    if end < len(text):
        parts.append("…")
    return "".join(parts)
