"""Migration 0008 (issue 20's content) on a library loaded before it, and on a fresh one.

As in test_migrations.py, the database is taken back to the migration before, filled
through the historical models, and migrated forward. The migration reads frozen copies
of the shipped fixtures ("before": as shipped at 6a3e8c4; "after": this release's),
so the first test checks the real content; the others give the migration a small
"after" of their own to check each rule: fields, taxonomy, aliases, new articles and
terms, dropped tags and their redirects, revisions, what editors changed.
"""

from __future__ import annotations

import copy
import datetime
import importlib
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from library.history import update_note_date
from library.models import Article, Disease, Tag, TagRedirect
from tests.library.test_migrations import AFTER, migrate, read

MIGRATION = importlib.import_module("library.migrations.0008_reader_trust_content")
SHIPPED = MIGRATION.HERE
BEFORE = [("library", "0007_reader_trust_fields")]
MODELS = {
    "library.disease": "Disease",
    "library.therapy": "Therapy",
    "library.tag": "Tag",
    "library.tagredirect": "TagRedirect",
}
LUPUS = "stem-cell-therapy-research-in-lupus"
MS = "stem-cell-research-in-multiple-sclerosis"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def load_copy(apps, directory: Path, edit=None) -> None:
    """A copy of the fixtures, written with the models as they were at 0007."""
    for record in read(directory / "taxonomy.json"):
        apps.get_model("library", MODELS[record["model"]]).objects.create(**record["fields"])
    Article = apps.get_model("library", "Article")
    for record in read(directory / "articles.json"):
        fields = copy.deepcopy(record["fields"])
        relations = {name: fields.pop(name, []) for name in ("diseases", "therapies", "tags")}
        if edit:
            edit(fields)
        article = Article.objects.create(**fields)
        for name, keys in relations.items():
            target = article._meta.get_field(name).related_model
            getattr(article, name).set(target.objects.filter(slug__in=[k[0] for k in keys]))


def state(article: Article, names) -> dict:
    """The article's value of each fixture field, many-to-many fields as sets of slugs."""
    result = {}
    for name in names:
        field = Article._meta.get_field(name)
        if field.many_to_many:
            result[name] = set(getattr(article, name).values_list("slug", flat=True))
        else:
            result[name] = getattr(article, field.attname)
    return result


def fixture_state(fields: dict) -> dict:
    result = {}
    for name, value in fields.items():
        field = Article._meta.get_field(name)
        result[name] = {k[0] for k in value} if field.many_to_many else field.to_python(value)
    return result


def write_copy(directory: Path, taxonomy: list, articles: list) -> None:
    directory.mkdir(parents=True)
    (directory / "taxonomy.json").write_text(json.dumps(taxonomy), encoding="utf-8")
    (directory / "articles.json").write_text(json.dumps(articles), encoding="utf-8")


@pytest.fixture
def library_at_0007():
    """The historical apps at 0007; the test fills them, then migrates forward."""
    apps = migrate(BEFORE)
    yield apps
    migrate(AFTER)


def test_a_library_of_the_old_fixtures_gets_the_new_content_and_keeps_an_editors_change(
    library_at_0007,
):
    def edited(fields):
        if fields["slug"] == LUPUS:
            fields["summary"] = "Our editor's own summary."

    load_copy(library_at_0007, SHIPPED / "before", edit=edited)

    migrate(AFTER)

    after = {r["fields"]["slug"]: r["fields"] for r in read(SHIPPED / "after" / "articles.json")}
    assert set(Article.objects.values_list("slug", flat=True)) == set(after)
    for article in Article.objects.all():
        expected = fixture_state(after[article.slug])
        if article.slug == LUPUS:
            expected["summary"] = "Our editor's own summary."
        assert state(article, expected) == expected, article.slug
    assert Article.objects.get(slug=LUPUS).summary == "Our editor's own summary."


@pytest.fixture
def small_release(tmp_path, monkeypatch):
    """A "before" of the real shipped files and an "after" changing a few things."""
    taxonomy = read(SHIPPED / "before" / "taxonomy.json")
    articles = read(SHIPPED / "before" / "articles.json")
    write_copy(tmp_path / "before", taxonomy, articles)

    new_taxonomy = copy.deepcopy(taxonomy)
    for record in new_taxonomy:
        if record["fields"]["slug"] == "multiple-sclerosis":
            aliases = record["fields"]["aliases"].split("\n")
            record["fields"]["aliases"] = "\n".join([*aliases[1:], "RRMS"])  # one out, one in
    new_taxonomy = [r for r in new_taxonomy if r["fields"].get("slug") != "stem-cell-hope"]
    new_taxonomy += [
        {
            "model": "library.disease",
            "fields": {"name": "Myasthenia gravis", "slug": "myasthenia-gravis", "aliases": "MG"},
        },
        {
            "model": "library.tagredirect",
            "fields": {
                "old_slug": "stem-cell-hope",
                "target_kind": "therapy",
                "target_slug": "hsct",
            },
        },
    ]
    new_articles = copy.deepcopy(articles)
    for record in new_articles:
        fields = record["fields"]
        fields["tags"] = [t for t in fields["tags"] if t != ["stem-cell-hope"]]
        if fields["slug"] in (MS, LUPUS):
            fields["body"] = fields["body"].replace("stem cell", "stem-cell", 1)
            fields["key_points"] = "A first key point.\nA second key point."
            fields["update_note"] = "Corrected: a sentence about trials."
            fields["tags"] = [*fields["tags"], ["patient-guide"]]
    new_articles.append(
        {
            "model": "library.article",
            "fields": {
                "title": "Myasthenia gravis and stem cell research",
                "slug": "myasthenia-gravis-and-stem-cell-research",
                "summary": "A new article.",
                "body": "Body.",
                "status": "published",
                "published_on": "2026-12-07",
                "diseases": [["myasthenia-gravis"]],
                "tags": [["clinical-trials"]],
            },
        }
    )
    write_copy(tmp_path / "after", new_taxonomy, new_articles)
    monkeypatch.setattr(MIGRATION, "HERE", tmp_path)
    return {"before": articles, "after": new_articles}


def test_each_rule_of_the_upgrade_and_what_editors_changed(library_at_0007, small_release):
    def edited(fields):
        if fields["slug"] == LUPUS:
            fields["body"] += "\n\nAn editor's added paragraph."
            fields["update_note"] = "An editor's own note."

    load_copy(library_at_0007, SHIPPED / "before", edit=edited)
    apps = library_at_0007
    ms = apps.get_model("library", "Disease").objects.get(slug="multiple-sclerosis")
    ms.aliases += "\nan editor's alias"
    ms.save()
    editors_tag = apps.get_model("library", "Tag").objects.create(name="Ours", slug="ours")
    apps.get_model("library", "Article").objects.get(slug=MS).tags.add(editors_tag)
    started = datetime.datetime.now(datetime.UTC)

    migrate(AFTER)

    shipped_ms = next(r["fields"] for r in small_release["after"] if r["fields"]["slug"] == MS)
    ms_article = Article.objects.get(slug=MS)
    assert ms_article.body == shipped_ms["body"]
    assert ms_article.key_points == "A first key point.\nA second key point."
    tags = set(ms_article.tags.values_list("slug", flat=True))
    assert "stem-cell-hope" not in tags and {"patient-guide", "ours"} <= tags
    assert ms_article.updated_at >= started
    revision = ms_article.history.first()
    assert revision.history_change_reason == MIGRATION.REASON
    assert revision.update_note == "Corrected: a sentence about trials."
    assert update_note_date(ms_article) == revision.history_date.date()

    lupus = Article.objects.get(slug=LUPUS)
    assert lupus.body.endswith("An editor's added paragraph.")  # the editor's text stays
    assert lupus.update_note == "An editor's own note."
    assert lupus.key_points == "A first key point.\nA second key point."  # still as shipped

    new = Article.objects.get(slug="myasthenia-gravis-and-stem-cell-research")
    assert list(new.diseases.values_list("slug", flat=True)) == ["myasthenia-gravis"]
    assert new.history.count() == 1

    aliases = Disease.objects.get(slug="multiple-sclerosis").alias_list
    assert "RRMS" in aliases and "an editor's alias" in aliases
    first_ms_alias = next(
        r["fields"]["aliases"].split("\n")[0]
        for r in read(SHIPPED / "before" / "taxonomy.json")
        if r["fields"]["slug"] == "multiple-sclerosis"
    )
    assert first_ms_alias not in aliases

    assert not Tag.objects.filter(slug="stem-cell-hope").exists()
    assert TagRedirect.objects.filter(old_slug="stem-cell-hope", target_slug="hsct").exists()

    untouched = {
        r["fields"]["slug"]
        for r in small_release["before"]
        if ["stem-cell-hope"] not in r["fields"]["tags"] and r["fields"]["slug"] not in (MS, LUPUS)
    }
    for article in Article.objects.filter(slug__in=untouched):
        assert article.history.count() == 0, article.slug  # loaded raw, and not changed


def test_the_upgrade_is_idempotent(library_at_0007, small_release, client):
    load_copy(library_at_0007, SHIPPED / "before")
    migrate(AFTER)
    once = {a.slug: (a.body, a.key_points, a.updated_at) for a in Article.objects.all()}
    revisions = Article.history.count()

    MIGRATION.upgrade_content(MigrationExecutor(connection).loader.project_state(AFTER).apps, None)

    assert {a.slug: (a.body, a.key_points, a.updated_at) for a in Article.objects.all()} == once
    assert Article.history.count() == revisions
    assert client.get("/tags/stem-cell-hope/")["Location"] == "/therapies/hsct/"


def test_a_fresh_install_migrates_an_empty_library_then_loads_the_shipped_content(
    library_at_0007, client
):
    migrate(AFTER)
    assert not Article.objects.exists() and not Disease.objects.exists()

    call_command("load_shipped_content", verbosity=0)

    shipped = read(Path(__file__).parents[2] / "fixtures" / "articles.json")
    assert Article.objects.count() == len(shipped)
    published = Article.objects.published().first()
    assert client.get(published.get_absolute_url()).status_code == 200
