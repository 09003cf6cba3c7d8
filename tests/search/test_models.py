"""Intents and editors' picks (issue 19): what an editor may save, and the shipped defaults.

An intent needs at least one phrase; phrases and headings are comma-separated and tidied
on save. A pick needs a query with at least one word a search could match. The default
intents arrive by migration and by `fixtures/intents.json`, which must agree.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from library.models import Tag
from search.models import EditorsPick, Intent, has_meaningful_word, split_phrases
from tests.conftest import make_article, make_tag

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[2] / "fixtures"
DEFAULTS = importlib.import_module("search.migrations.0007_default_intents").DEFAULT_INTENTS


def test_phrases_are_split_at_commas_and_lines_trimmed_and_repeats_dropped():
    assert split_phrases(" safe,  side   effects ,,\nRisks, SAFE , risks\n") == [
        "safe",
        "side effects",
        "Risks",
    ]
    assert split_phrases("") == [] and split_phrases(" , ,\n") == []


def test_an_intent_is_tidied_on_clean_and_shown_by_its_label():
    intent = Intent(slug="fear", label="  fear  of needles ", phrases="needle,  needles ,needle")
    intent.full_clean()
    assert (intent.label, intent.phrases, intent.headings) == (
        "fear of needles",
        "needle, needles",
        "",
    )
    assert str(intent) == "fear of needles"


@pytest.mark.parametrize("phrases", ["", "  ", " , ,\n,"])
def test_an_intent_without_a_phrase_is_refused_naming_the_field(phrases):
    intent = Intent(slug="empty", label="empty", phrases=phrases)
    with pytest.raises(ValidationError) as error:
        intent.full_clean()
    assert list(error.value.message_dict) == ["phrases"]
    assert "at least one word or phrase" in error.value.message_dict["phrases"][0]


def test_a_pick_is_tidied_and_shown_with_its_article():
    article = make_article("Stem cells in MS")
    pick = EditorsPick(query="  stem   cells  for MS ", article=article, note=" lead ")
    pick.full_clean()
    assert (pick.query, pick.note) == ("stem cells for MS", "lead")
    assert str(pick) == "“stem cells for MS” → Stem cells in MS"


@pytest.mark.parametrize("query", ["is it", "the of and", "what is the", '"" - ,'])
def test_a_pick_whose_query_has_no_meaningful_word_is_refused_naming_the_field(query):
    pick = EditorsPick(query=query, article=make_article())
    with pytest.raises(ValidationError) as error:
        pick.full_clean()
    assert list(error.value.message_dict) == ["query"]


def test_a_pick_query_is_meaningful_when_a_search_would_require_one_of_its_words():
    assert has_meaningful_word("is it safe")
    assert has_meaningful_word('"is it"')  # quoted words are searched as typed
    assert not has_meaningful_word("how long is it")
    assert not has_meaningful_word("")


def test_a_pick_needs_a_query_and_an_article():
    with pytest.raises(ValidationError) as error:
        EditorsPick(query="").full_clean()
    assert set(error.value.message_dict) == {"query", "article"}


def test_the_same_article_is_pinned_to_a_query_once():
    article = make_article()
    EditorsPick.objects.create(query="lupus", article=article)
    with pytest.raises(ValidationError) as error:
        EditorsPick(query="lupus", article=article).full_clean()
    assert "already pinned to this query" in str(error.value)


def test_saving_an_intent_or_a_pick_keeps_its_history():
    tag = make_tag("Costs", slug="costs")
    intent = Intent.objects.create(slug="money", label="money", phrases="cost")
    intent.tags.add(tag)
    intent.phrases = "cost, price"
    intent.save()
    pick = EditorsPick.objects.create(query="lupus", article=make_article())
    pick.delete()

    assert [h.phrases for h in intent.history.order_by("history_id")][-1] == "cost, price"
    assert intent.history.count() >= 2
    assert [t.tag_id for t in intent.history.first().tags.all()] == [tag.pk]
    assert list(
        EditorsPick.history.values_list("history_type", flat=True).order_by("history_id")
    ) == [
        "+",
        "-",
    ]


def test_the_default_intents_are_there_after_migrating():
    """A fresh database (no tags yet): the eight intents, active, with their phrases."""
    by_slug = {intent.slug: intent for intent in Intent.objects.all()}
    assert sorted(by_slug) == sorted(d["slug"] for d in DEFAULTS)
    assert set(by_slug) >= {
        "safety",
        "cost",
        "eligibility",
        "recovery",
        "success",
        "trials",
        "clinics",
    }
    assert all(intent.active for intent in by_slug.values())
    assert {"right for me", "candidate", "qualify", "eligible"} <= set(
        by_slug["eligibility"].phrase_list
    )
    assert {"cure", "work", "success rate", "remission"} <= set(by_slug["success"].phrase_list)
    assert {"clinic", "abroad", "travel", "mexico", "legit"} <= set(by_slug["clinics"].phrase_list)


def test_the_shipped_intents_fixture_says_what_the_migration_does():
    records = json.loads((FIXTURES / "intents.json").read_text(encoding="utf-8"))
    assert [
        {**r["fields"], "tags": [slug for (slug,) in r["fields"]["tags"]]} for r in records
    ] == [{**d, "active": True} for d in DEFAULTS]


def test_every_default_intent_names_shipped_tags_and_headings_of_shipped_articles():
    """Each tag exists in the shipped taxonomy, and every intent's headings find at
    least one section of the shipped articles: none of the mapping is dead."""
    taxonomy = json.loads((FIXTURES / "taxonomy.json").read_text(encoding="utf-8"))
    articles = json.loads((FIXTURES / "articles.json").read_text(encoding="utf-8"))
    tags = {r["fields"]["slug"] for r in taxonomy if r["model"] == "library.tag"}
    headings = [
        line.lstrip("#").strip().casefold()
        for r in articles
        for line in r["fields"]["body"].splitlines()
        if line.startswith("#")
    ]
    for default in DEFAULTS:
        assert set(default["tags"]) <= tags, default["slug"]
        assert any(
            word in heading for word in split_phrases(default["headings"]) for heading in headings
        ), default["slug"]


def test_loading_the_shipped_content_links_the_default_intents_to_their_tags():
    call_command("load_shipped_content", verbosity=0)

    assert Intent.objects.count() == len(DEFAULTS)
    for default in DEFAULTS:
        intent = Intent.objects.get(slug=default["slug"])
        assert sorted(intent.tags.values_list("slug", flat=True)) == sorted(default["tags"])
    assert Tag.objects.get(slug="risks-and-side-effects").intents.get().slug == "safety"


def test_the_migration_links_tags_already_in_the_library_and_keeps_editors_intents():
    """An existing library upgraded: its tags are linked at once; an intent an editor
    already has under a default slug is left alone."""
    from django.apps import apps as global_apps
    from django.db import connection

    migration = importlib.import_module("search.migrations.0007_default_intents")
    Intent.objects.all().delete()
    make_tag("Risks and side effects", slug="risks-and-side-effects")
    Intent.objects.create(slug="cost", label="money matters", phrases="money")

    class Editor:  # what RunPython passes: only `connection` is read
        pass

    editor = Editor()
    editor.connection = connection
    migration.add_default_intents(global_apps, editor)

    assert list(Intent.objects.get(slug="safety").tags.values_list("slug", flat=True)) == [
        "risks-and-side-effects"
    ]
    assert Intent.objects.get(slug="cost").label == "money matters"
    assert Intent.objects.count() == len(DEFAULTS)
