"""Synonym groups from the taxonomy: each disease's and therapy's name with its aliases.

Read from the database on every call (two small queries) rather than cached: an alias
an editor adds in the admin must take effect in every web process at once, and a
per-process cache would need cross-process invalidation for almost no saving. A caller
that already holds the topics (the results page reads them with the rest of the
vocabulary, `search.vocabulary`) passes them, and no query is made.
"""

from __future__ import annotations

from collections.abc import Iterable

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
