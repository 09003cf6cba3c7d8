"""A vocabulary for answer-stage tests, built as the site builds it: topics from the
database's diseases and therapies, and intents as an editor would write them."""

from __future__ import annotations

from library.models import Disease, Therapy, split_aliases
from search.backends.base import Intent, Pin, Topic, Vocabulary

INTENTS = (
    Intent(
        "safety",
        "safety and side effects",
        phrases=("safe", "safety", "side effects", "risks", "risk", "dangerous", "complications"),
        tags=("risks-and-side-effects",),
        headings=("safe", "safety", "risks", "side effects", "complications"),
    ),
    Intent(
        "cost",
        "cost and insurance",
        phrases=("cost", "costs", "price", "pay", "insurance", "afford", "expensive"),
        tags=("costs-and-insurance",),
        headings=("cost", "costs", "insurance", "paying"),
    ),
    Intent(
        "eligibility",
        "eligibility",
        phrases=("right for me", "candidate", "qualify", "eligible", "eligibility"),
        tags=(),
        headings=("who might benefit", "eligibility", "candidate", "who can"),
    ),
    Intent(
        "recovery",
        "recovery",
        phrases=("recovery", "recover", "return to work"),
        tags=("recovery-after-treatment",),
        headings=("recovery", "recovering", "after treatment"),
    ),
)


def site_vocabulary(pins: tuple[Pin, ...] = ()) -> Vocabulary:
    topics = []
    for kind, model in (("disease", Disease), ("therapy", Therapy)):
        for term in model.objects.order_by("name"):
            topics.append(Topic(kind, term.slug, term.name, tuple(split_aliases(term.aliases))))
    return Vocabulary(topics=tuple(topics), intents=INTENTS, pins=pins)
