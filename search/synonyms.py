"""Synonym groups: each disease's and therapy's name with its aliases (from the taxonomy),
and readers' everyday words beside the articles' (`data/lay-words.txt`).

Read from the database on every call (two small queries) rather than cached: an alias
an editor adds in the admin must take effect in every web process at once, and a
per-process cache would need cross-process invalidation for almost no saving. A caller
that already holds the topics (the results page reads them with the rest of the
vocabulary, `search.vocabulary`) passes them, and no query is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from search.backends.base import Topic
from search.vocabulary import taxonomy_topics


def synonym_groups(topics: Iterable[Topic] | None = None) -> tuple[tuple[str, ...], ...]:
    """`(name, *aliases)` for every disease and therapy, diseases first, by name.

    A term without aliases is a group of one, kept so callers can rely on every
    taxonomy name being present. `topics` defaults to `taxonomy_topics()`.
    """
    if topics is None:
        topics = taxonomy_topics()
    return tuple(tuple(dict.fromkeys([topic.name, *topic.aliases])) for topic in topics)


LAY_WORDS = Path(__file__).resolve().parent / "data" / "lay-words.txt"


@cache
def lay_word_groups() -> tuple[tuple[str, ...], ...]:
    """Readers' everyday words with the articles' words for the same thing ("kids",
    "children"), from `data/lay-words.txt`, shipped with the code (read once)."""
    groups = []
    for line in LAY_WORDS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            groups.append(tuple(word.strip() for word in line.split(",") if word.strip()))
    return tuple(groups)
