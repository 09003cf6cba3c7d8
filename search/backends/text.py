"""Engine-neutral text handling shared by every backend.

The word pattern, accent and apostrophe folding, the stop-word list and the
highlighter live here so that Whoosh and PostgreSQL read a reader's words the same
way: "Crohn's", "Crohn\u2019s" and "Crohns" are one word, "Barré" is "barre", and the
same short list of stop words is dropped (abbreviations such as "AS" and "MS" and
plain-language words such as "can" survive). How a folded word is stemmed is each
engine's business, so `highlight` takes the engine's word-to-term function.
"""

from __future__ import annotations

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


def fold(word: str) -> str:
    """Lowercase, strip accents and apostrophes: `Crohn\u2019s` → `crohns`, `Barré` → `barre`."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(ch for ch in word if not unicodedata.combining(ch))
    return word.translate(DROP_APOSTROPHES)


# --- Highlighting -------------------------------------------------------------------

# A length-preserving accent fold, so offsets in the folded text are offsets in the
# original: each precomposed Latin letter maps to its base letter.
_FOLD_TABLE: dict[int, str] = {}
for _cp in range(0xC0, 0x250):
    _base = "".join(
        c for c in unicodedata.normalize("NFKD", chr(_cp)) if not unicodedata.combining(c)
    )
    if len(_base) == 1 and _base.isascii():
        _FOLD_TABLE[_cp] = _base
_FOLD_TABLE.update({ord("\u2019"): "'", ord("\u02bc"): "'"})


def fold_for_scan(text: str) -> str:
    """Fold accents without changing the length of `text` (C-speed `str.translate`)."""
    return text.translate(_FOLD_TABLE)


def candidate_pattern(terms: frozenset[str]) -> re.Pattern | None:
    """A regex finding words in folded text that may analyse to one of `terms`.

    A stem is nearly always a prefix of the word it came from, minus a final letter
    ("studi" ← "study"), so the regex matches words starting with the stem less its
    last letter; each candidate is then confirmed with the engine's normaliser.
    """
    prefixes = sorted({t[:-1] if len(t) > 3 else t for t in terms if t}, key=len, reverse=True)
    if not prefixes:
        return None
    alternation = "|".join(re.escape(p) for p in prefixes)
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
    normalise words in a batch (one database round trip per page) first."""
    pattern = candidate_pattern(terms) if terms else None
    if pattern is None:
        return set()
    words = set()
    for text in (summary, body):
        scan = (text or "")[:SCAN_CHARS]
        words.update(scan[m.start() : m.end()] for m in pattern.finditer(fold_for_scan(scan)))
    return words


def escape_start(text: str, size: int = SNIPPET_CHARS) -> str:
    if len(text) <= size:
        return html.escape(text)
    cut = text.rfind(" ", 0, size)
    return html.escape(text[: cut if cut > size // 2 else size].rstrip()) + "…"


def highlight(
    summary: str,
    body: str,
    terms: frozenset[str],
    normalise: Normalise,
    size: int = SNIPPET_CHARS,
) -> str:
    """A snippet of about `size` characters with matched words in <mark>, the rest escaped.

    The summary is used when it contains a match, else a window of the body around
    its first match; only the folded text is scanned by a compiled regex, and only
    candidate words are passed to `normalise` (a word as written → its index term),
    so a long body costs little.
    """
    pattern = candidate_pattern(terms) if terms else None
    if pattern is None:
        return escape_start(summary or body, size)
    for text in (summary, body):
        if not text:
            continue
        scan = text[:SCAN_CHARS]
        folded = fold_for_scan(scan)
        found = _matches(scan, folded, pattern, terms, normalise, 0, len(scan))
        first = next(found, None)
        if first is None:
            continue
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
        window = _matches(scan, folded, pattern, terms, normalise, start, min(end, len(scan)))
        for m_start, m_end in window:
            if m_end > end:
                break
            parts.append(html.escape(text[position:m_start]))
            parts.append(f"<mark>{html.escape(text[m_start:m_end])}</mark>")
            position = m_end
        parts.append(html.escape(text[position:end]))
        if end < len(text):
            parts.append("…")
        return "".join(parts)
    return escape_start(summary or body, size)
