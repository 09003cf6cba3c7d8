"""`current_vocabulary()`: what a results page tells the search about the library (issue 19).

Topics are every disease and therapy with its aliases; intents are the active ones with
their tags' slugs; pins are editors' picks whose article readers can see today, lowest
order first. Four queries however long the lists; the listing passes it with a query.
Outside a transaction it is kept under the content generation's `listing` counter, one
copy per process: one query, and what an editor saves is used by the next search; a
correction of an article's text leaves the kept copy in use.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from library.filters import ArticleFilter
from library.listing import build_listing
from library.models import Article
from search.backends.base import Intent, Pin, Topic
from search.models import EditorsPick
from search.models import Intent as IntentModel
from search.synonyms import lay_word_groups, synonym_groups
from search.vocabulary import current_vocabulary
from tests.conftest import make_article, make_disease, make_tag, make_therapy

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_default_intents():
    IntentModel.objects.all().delete()


def test_topics_are_diseases_then_therapies_by_name_with_their_aliases(no_default_intents):
    make_disease("Multiple sclerosis", slug="ms", aliases="MS\n disseminated sclerosis \n")
    make_disease("Lupus", slug="lupus")
    make_therapy("Haematopoietic stem cell transplantation", slug="hsct", aliases="HSCT")

    assert current_vocabulary().topics == (
        Topic("disease", "lupus", "Lupus"),
        Topic("disease", "ms", "Multiple sclerosis", ("MS", "disseminated sclerosis")),
        Topic("therapy", "hsct", "Haematopoietic stem cell transplantation", ("HSCT",)),
    )


def test_the_topics_are_the_synonym_groups(no_default_intents):
    make_disease("Multiple sclerosis", aliases="MS\nMS")
    make_therapy("Cord blood")
    assert (
        synonym_groups(current_vocabulary().topics)
        == synonym_groups()
        == (
            ("Multiple sclerosis", "MS"),
            ("Cord blood",),
        )
    )


def test_intents_are_the_active_ones_by_label_with_tag_slugs_and_folded_phrases(
    no_default_intents,
):
    costs, insurance = make_tag("Costs", slug="costs"), make_tag("Insurance", slug="insurance")
    money = IntentModel.objects.create(
        slug="money", label="cost", phrases="Cost, PRICE, cost", headings="Costs,  paying"
    )
    money.tags.set([insurance, costs])
    IntentModel.objects.create(slug="safety", label="safety", phrases="safe")
    IntentModel.objects.create(slug="old", label="abandoned", phrases="old", active=False)

    assert current_vocabulary().intents == (
        Intent("money", "cost", ("cost", "price"), ("costs", "insurance"), ("costs", "paying")),
        Intent("safety", "safety", ("safe",), (), ()),
    )


def test_pins_are_the_picks_of_articles_readers_see_today_lowest_order_first(no_default_intents):
    today = timezone.localdate()
    live, other = make_article("Live"), make_article("Other")
    draft = make_article("Draft", status=Article.Status.DRAFT)
    scheduled = make_article("Later", published_on=today + datetime.timedelta(days=3))
    EditorsPick.objects.create(query="lupus", article=other, order=2)
    EditorsPick.objects.create(query="stem cells for MS", article=live, order=1)
    EditorsPick.objects.create(query="lupus", article=live, order=2)
    EditorsPick.objects.create(query="lupus", article=draft)
    EditorsPick.objects.create(query="lupus", article=scheduled)

    assert current_vocabulary().pins == (
        Pin("stem cells for MS", live.pk),
        Pin("lupus", other.pk),
        Pin("lupus", live.pk),
    )

    draft.status = Article.Status.PUBLISHED
    draft.save()
    assert Pin("lupus", draft.pk) in current_vocabulary().pins  # back with no change to the pick


def test_the_vocabulary_costs_four_queries_however_long_its_lists(django_assert_num_queries):
    for n in range(6):
        make_disease(aliases="x")
        make_therapy(aliases="y")
        intent = IntentModel.objects.create(slug=f"i{n}", label=f"intent {n}", phrases="p")
        intent.tags.set([make_tag(), make_tag()])
        EditorsPick.objects.create(query=f"query {n}", article=make_article())

    with django_assert_num_queries(4):
        vocabulary = current_vocabulary()
    assert (len(vocabulary.topics), len(vocabulary.pins)) == (12, 6)
    assert len(vocabulary.intents) == 6 + 8  # the shipped defaults too
    assert all(len(i.tags) == 2 for i in vocabulary.intents if i.slug.startswith("i"))


def test_the_shipped_defaults_reach_the_vocabulary_with_their_tags(shipped_content):
    intents = {intent.slug: intent for intent in current_vocabulary().intents}
    assert intents["safety"].tags == ("risks-and-side-effects",)
    assert "side effects" in intents["safety"].phrases
    assert "risks" in intents["safety"].headings
    assert intents["clinics"].tags == ("choosing-a-clinic", "travelling-for-treatment")


class SpyBackend:
    """Wraps the configured backend, keeping the queries it was asked."""

    def __init__(self, backend) -> None:
        self.backend, self.queries = backend, []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def search(self, query):
        self.queries.append(query)
        return self.backend.search(query)


@pytest.fixture
def spy(monkeypatch, indexed_library):
    from library import listing
    from search.backends import get_backend

    spy = SpyBackend(get_backend())
    monkeypatch.setattr(listing, "get_backend", lambda: spy)
    return spy


def test_a_search_from_the_listing_carries_the_current_vocabulary(spy):
    pick = EditorsPick.objects.create(
        query="lupus safety", article=Article.objects.published().get(slug__contains="lupus")
    )
    build_listing(ArticleFilter(QueryDict("q=is+it+safe+for+lupus")), 1)
    build_listing(ArticleFilter(QueryDict("disease=lupus")), 1)  # browsing: no vocabulary

    searched, browsed = spy.queries
    assert searched.vocabulary == current_vocabulary()
    assert Pin("lupus safety", pick.article_id) in searched.vocabulary.pins
    assert "lupus" in {topic.slug for topic in searched.vocabulary.topics}
    assert (
        searched.synonyms == synonym_groups() + lay_word_groups()
    )  # the taxonomy, then everyday words
    assert browsed.vocabulary is None and browsed.synonyms == ()


# A search outside a transaction keeps the vocabulary it read under the content
# generation: these tests commit, as an editor's save in the admin does.


def _understood(client, text: str) -> dict:
    return client.get("/api/search/", {"q": text}).json()["understood"]


@pytest.mark.django_db(transaction=True)
def test_a_search_outside_a_transaction_reads_the_vocabulary_once_per_generation(
    django_assert_num_queries,
):
    make_disease("Lupus", slug="lupus", aliases="SLE")
    first = current_vocabulary()
    with django_assert_num_queries(1):  # the content generation's row
        assert current_vocabulary() == first
    assert "lupus" in {topic.slug for topic in first.topics}


@pytest.mark.django_db(transaction=True)
def test_a_search_reads_the_content_generation_once_the_page_cache_and_the_vocabulary_share(
    client,
):
    lupus = make_disease("Lupus", slug="lupus", aliases="SLE")
    make_article("Caring for lupus", diseases=[lupus])  # committed: indexed
    assert client.get("/api/search/", {"q": "lupus"})["X-Page-Cache"] == "miss"
    with CaptureQueriesContext(connection) as captured:  # a new question: built again
        answer = client.get("/api/search/", {"q": "SLE care"})
    assert answer["X-Page-Cache"] == "miss"
    assert answer.json()["understood"]["diseases"] == ["lupus"]
    assert [r["title"] for r in answer.json()["results"]] == ["Caring for lupus"]
    generation_reads = [q["sql"] for q in captured if "g.epoch" in q["sql"]]
    assert len(generation_reads) == 1, generation_reads


@pytest.mark.django_db(transaction=True)
def test_what_an_editor_saves_is_used_by_the_very_next_search(client):
    IntentModel.objects.all().delete()
    lupus = make_disease("Lupus", slug="lupus")
    article = make_article("Living with lupus", diseases=[lupus])

    def picks() -> list[str]:
        results = client.get("/api/search/", {"q": "SLE costs"}).json()["results"]
        return [result["slug"] for result in results if result["pick"]]

    assert _understood(client, "SLE costs") == {"diseases": [], "therapies": [], "intents": []}
    with transaction.atomic():  # the admin saves in a transaction
        lupus.aliases = "SLE"
        lupus.save()
    assert _understood(client, "SLE costs")["diseases"] == ["lupus"]

    with transaction.atomic():
        intent = IntentModel.objects.create(slug="money", label="cost", phrases="costs")
    assert _understood(client, "SLE costs")["intents"] == ["money"]
    with transaction.atomic():
        intent.active = False
        intent.save()
    assert _understood(client, "SLE costs")["intents"] == []

    assert picks() == []
    with transaction.atomic():
        EditorsPick.objects.create(query="SLE costs", article=article)
    assert picks() == [article.slug]


@pytest.mark.django_db(transaction=True)
def test_a_correction_of_an_articles_text_keeps_the_vocabulary_a_process_read(
    django_assert_num_queries,
):
    lupus = make_disease("Lupus", slug="lupus", aliases="SLE")
    article = make_article("Living with lupus", diseases=[lupus])
    first = current_vocabulary()
    with transaction.atomic():  # the admin saves in a transaction
        article.summary = "What daily life with lupus costs, corrected."
        article.save()
    with django_assert_num_queries(1):  # the content generation's row, nothing else
        assert current_vocabulary() is first
    assert [topic.slug for topic in first.topics] == ["lupus"]


@pytest.mark.django_db(transaction=True)
def test_an_unpublished_articles_pick_leaves_the_very_next_search(client):
    IntentModel.objects.all().delete()
    lupus = make_disease("Lupus", slug="lupus", aliases="SLE")
    article = make_article("Living with lupus", diseases=[lupus])
    EditorsPick.objects.create(query="SLE costs", article=article)
    assert [pin.article_id for pin in current_vocabulary().pins] == [article.pk]
    with transaction.atomic():
        article.status = Article.Status.DRAFT
        article.save()
    assert current_vocabulary().pins == ()
