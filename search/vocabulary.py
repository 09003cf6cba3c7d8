"""What the library knows about readers' questions, read fresh for each search.

`current_vocabulary()` gathers the named topics (diseases and therapies with their
aliases), the editors' active intents with the slugs of their tags, and the editors'
picks whose article readers can see today, into one `Vocabulary` that travels with the
`SearchQuery` (issue 19). Read in four queries however large the lists, and for the
reason synonyms are (`search.synonyms`) never served from a per-process copy an
editor's change could leave behind: each process keeps the last vocabulary it read
under the content generation's `listing` counter it read it at
(`pagecache.models.Generation`) and today's date (a scheduled article's pick leads from
its day), one copy for all its threads. That counter moves after every committed
change the vocabulary is made of: taxonomy, intents and picks (models of the content
apps), and an article's status or date, which decide whether its pick is visible (not
its text: an editor correcting an article's summary leaves the vocabulary, and its
copy, as they were). A search then costs one read of that row instead of the four
queries (none of its own when the page cache read it for the request already,
`pagecache.models.request_state`), and every web process sees the change once the
counter moves. Nothing is kept inside a transaction (it could read rows that are never
committed) or without the generation row.
"""

from __future__ import annotations

from django.db import DatabaseError, connections, router
from django.db.models import F
from django.utils import timezone

from library.models import Disease, Therapy, split_aliases
from pagecache.models import Generation, request_state
from search.backends.base import Intent, Pin, Topic, Vocabulary
from search.models import EditorsPick, split_phrases
from search.models import Intent as IntentModel

# (generation key, Vocabulary): the last one read in this process, shared by its threads
# (a Vocabulary is immutable; a thread replacing it as another reads it is harmless).
_remembered: tuple[tuple, Vocabulary] | None = None


def taxonomy_topics() -> tuple[Topic, ...]:
    """Every disease, then every therapy, each by name, with its aliases: two queries."""
    topics: list[Topic] = []
    for kind, model in (("disease", Disease), ("therapy", Therapy)):
        rows = model.objects.order_by("name").values_list("slug", "name", "aliases")
        topics.extend(
            Topic(kind, slug, name.strip(), tuple(split_aliases(aliases)))
            for slug, name, aliases in rows
        )
    return tuple(topics)


def active_intents() -> tuple[Intent, ...]:
    """The active intents by label, phrases and headings folded: one query (tags joined)."""
    rows = (
        IntentModel.objects.filter(active=True)
        .order_by("label", "pk", "tags__slug")
        .values_list("pk", "slug", "label", "phrases", "headings", "tags__slug")
    )
    fields: dict[int, tuple[str, str, str, str]] = {}
    tags: dict[int, list[str]] = {}
    for pk, slug, label, phrases, headings, tag in rows:
        fields.setdefault(pk, (slug, label, phrases, headings))
        tags.setdefault(pk, [])
        if tag:
            tags[pk].append(tag)
    return tuple(
        Intent(
            slug=slug,
            label=label,
            phrases=_folded(phrases),
            tags=tuple(tags[pk]),
            headings=_folded(headings),
        )
        for pk, (slug, label, phrases, headings) in fields.items()
    )


def _folded(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(phrase.casefold() for phrase in split_phrases(text)))


def visible_pins() -> tuple[Pin, ...]:
    """Editors' picks whose article readers can see today, lowest `order` first: one query.

    A pick of an unpublished or scheduled article waits (the admin lists it) and leads
    again once its article is back, with no change to the pick.
    """
    rows = (
        EditorsPick.objects.visible().order_by("order", "pk").values_list("query", F("article_id"))
    )
    return tuple(Pin(query, article_id) for query, article_id in rows)


def read_vocabulary() -> Vocabulary:
    """Topics, active intents and visible picks as the database holds them now: four queries."""
    return Vocabulary(topics=taxonomy_topics(), intents=active_intents(), pins=visible_pins())


def current_vocabulary() -> Vocabulary:
    """`read_vocabulary()`, or the one this process read under the same `listing`
    counter and date: one query then, or none (module docstring)."""
    global _remembered
    key = _generation_key()
    if key is None:
        return read_vocabulary()
    remembered = _remembered
    if remembered is not None and remembered[0] == key:
        return remembered[1]
    vocabulary = read_vocabulary()
    _remembered = (key, vocabulary)
    return vocabulary


def _generation_key() -> tuple | None:
    """Where, under which `listing` counter and on which day the vocabulary is read;
    None when it must be read afresh (inside a transaction, or without a generation)."""
    using = router.db_for_read(Generation)
    if connections[using].in_atomic_block:
        return None
    state = request_state.get()  # the one the page cache read for this request, if any
    if state is None:
        try:
            state = Generation.objects.current()
        except DatabaseError:  # no generation table yet (a migration in progress)
            return None
    if state is None:
        return None
    return (using, state.listing_token, timezone.localdate())
