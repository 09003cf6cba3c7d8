"""The highlighter's candidate scan (`search.backends.text`): what it marks, whatever the case.

The scan looks for a query's words in `fold_for_scan`'s text, case-sensitively when the
words are ASCII (as the engines' terms are): a reader's capitals, accented capitals and
the look-alike letters a case-insensitive match accepts must still be found, and nothing
else.
"""

from __future__ import annotations

import re
import string

from search.backends.text import candidate_pattern, fold, fold_for_scan, highlight


def test_a_case_sensitive_scan_of_folded_text_finds_what_a_case_insensitive_one_does():
    letters = string.ascii_lowercase + string.digits + "_"
    insensitive = {x: re.compile(re.escape(x), re.IGNORECASE) for x in letters}
    differing = []
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:  # surrogates are no characters of a text
            continue
        folded = fold_for_scan(chr(cp))
        assert len(folded) == 1, hex(cp)  # offsets in the folded text are the text's
        for x, pattern in insensitive.items():
            if bool(pattern.fullmatch(folded)) != (folded == x):
                differing.append((hex(cp), x))
    assert differing == []


def _normalise(word: str) -> str:
    return fold(word)


def test_capitals_accents_and_look_alike_letters_are_marked_as_a_reader_wrote_them():
    body = "MULTIPLE Sclerosis: stem CELLS in Ménière and KELVIN\u212a; not multiplex."
    terms = frozenset({"multiple", "sclerosis", "cells", "meniere", "kelvink"})
    snippet = highlight("", body, terms, _normalise)
    assert "<mark>MULTIPLE</mark>" in snippet
    assert "<mark>Sclerosis</mark>" in snippet
    assert "<mark>CELLS</mark>" in snippet
    assert "<mark>Ménière</mark>" in snippet
    assert "<mark>KELVIN\u212a</mark>" in snippet
    assert "<mark>multiplex</mark>" not in snippet


def test_a_word_outside_ascii_is_still_found_in_any_case():
    pattern = candidate_pattern(frozenset({"σκλήρυνση"}))
    folded = fold_for_scan("ΣΚΛΉΡΥΝΣΗ κατά πλάκας")
    assert [m.group() for m in pattern.finditer(folded)] == ["ΣΚΛΉΡΥΝΣΗ"]
