"""Intents and editors' picks in the public fixture format (issue 19).

They load with `loaddata` like the taxonomy: keyed by slug (an intent) or by query and
article slug (a pick), so loading twice updates; tags and articles named by slug, from
the database or the same load. A bad record fails naming the file, the record and the
field, and nothing of the load is written.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from search.models import EditorsPick, Intent
from tests.conftest import make_article, make_tag

pytestmark = pytest.mark.django_db

INTENT = {
    "model": "search.intent",
    "fields": {
        "slug": "paying",
        "label": "paying for treatment",
        "phrases": "cost, price, insurance",
        "headings": "costs",
        "tags": [["costs"]],
        "active": True,
    },
}
PICK = {
    "model": "search.editorspick",
    "fields": {
        "query": "stem cells for MS",
        "article": ["ms-guide"],
        "order": 1,
        "note": "the guide",
    },
}


@pytest.fixture
def library():
    make_tag("Costs", slug="costs")
    make_article("MS guide", slug="ms-guide")


def write(tmp_path, records, name="editorial.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def state() -> tuple:
    intents = sorted(
        (i.slug, i.label, i.phrases, i.headings, i.active, tuple(t.slug for t in i.tags.all()))
        for i in Intent.objects.prefetch_related("tags")
    )
    picks = sorted(EditorsPick.objects.values_list("query", "article__slug", "order", "note"))
    return intents, picks


def changed(record: dict, **fields) -> dict:
    return {"model": record["model"], "fields": {**record["fields"], **fields}}


def test_intents_and_picks_load_and_loading_again_updates(library, tmp_path):
    path = write(tmp_path, [INTENT, PICK])
    call_command("loaddata", str(path), verbosity=0)

    intent = Intent.objects.get(slug="paying")
    assert (intent.label, [t.slug for t in intent.tags.all()]) == (
        "paying for treatment",
        ["costs"],
    )
    pick = EditorsPick.objects.get()
    assert (pick.query, pick.article.slug, pick.order, pick.note) == (
        "stem cells for MS",
        "ms-guide",
        1,
        "the guide",
    )

    again = write(tmp_path, [changed(INTENT, phrases="cost"), changed(PICK, order=3)], "b.json")
    call_command("loaddata", str(again), verbosity=0)
    assert Intent.objects.filter(slug="paying").get().phrases == "cost"
    assert EditorsPick.objects.get().order == 3


def test_intents_picks_tags_and_articles_may_come_in_one_load(db, tmp_path):
    article = {
        "model": "library.article",
        "fields": {
            "title": "MS guide",
            "slug": "ms-guide",
            "summary": "S.",
            "body": "B.",
            "status": "published",
            "published_on": "2025-01-01",
        },
    }
    tag = {"model": "library.tag", "fields": {"name": "Costs", "slug": "costs"}}
    call_command("loaddata", str(write(tmp_path, [INTENT, tag, article, PICK])), verbosity=0)

    assert state()[1] == [("stem cells for MS", "ms-guide", 1, "the guide")]
    assert list(Intent.objects.get(slug="paying").tags.values_list("slug", flat=True)) == ["costs"]


def test_dumped_intents_and_picks_load_back_identical(library, tmp_path):
    call_command("loaddata", str(write(tmp_path, [INTENT, PICK])), verbosity=0)
    before = state()
    out = io.StringIO()
    call_command(
        "dumpdata",
        "search.intent",
        "search.editorspick",
        natural_foreign=True,
        natural_primary=True,
        stdout=out,
    )
    Intent.objects.all().delete()
    EditorsPick.objects.all().delete()

    call_command(
        "loaddata", str(write(tmp_path, json.loads(out.getvalue()), "dump.json")), verbosity=0
    )

    assert state() == before


@pytest.mark.parametrize(
    "records, expected",
    [
        (
            [INTENT, changed(INTENT, slug="fear", tags=[["no-such-tag"]])],
            ["record 2 (slug “fear”)", "field 'tags'", "unknown tag slug “no-such-tag”"],
        ),
        (
            [INTENT, changed(INTENT, slug="empty", phrases=" , ")],
            ["record 2 (slug “empty”)", "field 'phrases'", "at least one word or phrase"],
        ),
        (
            [INTENT, {"model": "search.intent", "fields": {"slug": "bare", "label": "bare"}}],
            ["record 2 (slug “bare”)", "field 'phrases': this field is required"],
        ),
        (
            [INTENT, changed(INTENT, slug="odd", colour="red")],
            ["record 2 (slug “odd”)", "field 'colour': search.intent has no such field"],
        ),
        (
            [PICK, changed(PICK, query="lupus", article=["no-such-article"])],
            [
                "record 2 (query “lupus”)",
                "field 'article'",
                "unknown article slug “no-such-article”",
            ],
        ),
        (
            [PICK, changed(PICK, query="is it the")],
            ["record 2 (query “is it the”)", "field 'query'", "has no word a search could match"],
        ),
        (
            [PICK, {"model": "search.editorspick", "fields": {"query": "lupus"}}],
            ["record 2 (query “lupus”)", "field 'article': this field is required"],
        ),
        (
            [PICK, changed(PICK, order=2)],
            ["record 2 (query “stem cells for MS”)", "field 'query'", "repeated"],
        ),
        (
            [
                changed(PICK, article=["new-guide"]),
                {
                    "model": "library.article",
                    "fields": {"title": "New", "slug": "new-guide", "summary": "S.", "body": "B."},
                },
            ],
            ["record 1 (query “stem cells for MS”)", "field 'article'", "comes later in this load"],
        ),
    ],
)
def test_a_bad_record_fails_naming_it_and_nothing_is_loaded(library, tmp_path, records, expected):
    before = state()
    path = write(tmp_path, records)

    with pytest.raises(CommandError) as error:
        call_command("loaddata", str(path), verbosity=0)

    message = str(error.value)
    assert message.startswith("Nothing was loaded")
    assert str(path) in message
    for fragment in expected:
        assert fragment in message, message
    assert state() == before


def test_a_dry_run_says_what_would_happen_to_intents_and_picks(library, tmp_path):
    call_command("loaddata", str(write(tmp_path, [INTENT])), verbosity=0)
    out = io.StringIO()
    path = write(tmp_path, [INTENT, changed(INTENT, slug="new", label="new"), PICK], "dry.json")

    call_command("loaddata", str(path), "--dry-run", stdout=out)

    lines = out.getvalue().splitlines()
    assert "would leave unchanged search.intent “paying”" in lines
    assert "would create search.intent “new”" in lines
    assert "would create search.editorspick “stem cells for MS” → “ms-guide”" in lines
    assert state()[1] == [] and len(state()[0]) == 9  # the eight defaults and "paying"
