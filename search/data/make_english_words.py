"""Write `english-words.txt` from SCOWL's word lists (run once; the output is shipped).

Usage: `apt-get download scowl`, unpack it (`dpkg-deb -x scowl_*.deb scowl`), then
`python search/data/make_english_words.py scowl/usr/share/dict/scowl > search/data/english-words.txt`.

The list is the "known English words" half of the spelling rules
(`search.backends.query.correctable`): a reader's word in it is never corrected. It
keeps SCOWL's common sizes only (up to `SIZE`, the size of Debian's `wamerican` and
`wbritish`: rare words would hide real misspellings), in American, British, Canadian
and Australian spellings with their common variants, folded as the search engines fold
a reader's word (lowercase, no accents or apostrophes), and only words of
`MIN_LETTERS` or more letters: shorter ones are never corrected anyway.
"""

from __future__ import annotations

import sys
from pathlib import Path

from search.backends.text import fold

SIZE = 50
MIN_LETTERS = 5
KINDS = ("-words", "-upper", "-proper-names")
SKIPPED = ("variant_3", "special-", "abbreviations", "contractions")

HEADER = f"""\
# Known English words for spelling correction (stemsite, search/data/).
# Made by search/data/make_english_words.py from SCOWL (Spell Checker Oriented Word
# Lists, http://wordlist.aspell.net/), Debian package `scowl` 2020.12.07-2: sizes up to
# {SIZE}, words of {MIN_LETTERS} or more letters, folded (lowercase, no accents or
# apostrophes), one per line.
#
# Copyright 2000-2018 by Kevin Atkinson
#
# Permission to use, copy, modify, distribute and sell these word lists, the
# associated scripts, the output created from the scripts, and its documentation for
# any purpose is hereby granted without fee, provided that the above copyright notice
# appears in all copies and that both that copyright notice and this permission
# notice appear in supporting documentation. Kevin Atkinson makes no representations
# about the suitability of this array for any purpose. It is provided "as is" without
# express or implied warranty.
#
# The sources' own notices are in SCOWL-COPYRIGHT.txt beside this file.
"""


def english_words(scowl: Path) -> list[str]:
    words: set[str] = set()
    for path in scowl.iterdir():
        name, _dot, size = path.name.rpartition(".")
        if not size.isdigit() or int(size) > SIZE or any(s in name for s in SKIPPED):
            continue
        if not name.endswith(KINDS):
            continue
        for line in path.read_text(encoding="latin-1").splitlines():
            word = fold(line.strip().removesuffix("'s"))
            if len(word) >= MIN_LETTERS and word.isascii() and word.isalpha():
                words.add(word)
    return sorted(words)


if __name__ == "__main__":
    sys.stdout.write(HEADER + "".join(f"{word}\n" for word in english_words(Path(sys.argv[1]))))
