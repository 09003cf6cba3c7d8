"""What the library knows about readers' questions, read fresh for each search.

`current_vocabulary()` gathers the named topics (diseases and therapies with their
aliases), the editors' active intents with the slugs of their tags, and the editors'
picks whose article readers can see today, into one `Vocabulary` that travels with the
`SearchQuery` (issue 19). Read per search, in four queries however large the lists, for
the reason synonyms are (`search.synonyms`): an editor's change must reach every web
process at once, and the pages that show it are cached by content generation anyway.
"""

from __future__ import annotations

from django.db.models import F

from library.models import Article, Disease, Therapy, split_aliases
from search.backends.base import Intent, Pin, Topic, Vocabulary
from search.models import EditorsPick, split_phrases
from search.models import Intent as IntentModel


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
        EditorsPick.objects.filter(article__in=Article.objects.published().values("pk"))
        .order_by("order", "pk")
        .values_list("query", F("article_id"))
    )
    return tuple(Pin(query, article_id) for query, article_id in rows)


def current_vocabulary() -> Vocabulary:
    """Topics, active intents and visible picks as the database holds them now: four queries."""
    return Vocabulary(topics=taxonomy_topics(), intents=active_intents(), pins=visible_pins())
