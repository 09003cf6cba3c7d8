"""Migration 0003 (trustworthy content) on a library loaded before it.

The database is taken back to 0002, filled through the historical models with the
fixtures as shipped on 2026-11-24 (kept in tests/library/data/), and migrated forward.
The result must match the new shipped fixtures for everything those articles share
with them, keep what editors changed since, and redirect the merged tags' old URLs.
"""

from __future__ import annotations

import datetime
import importlib
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from library.models import Article, Disease, Tag, TagRedirect, Therapy

DATA = Path(__file__).parent / "data"
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
BEFORE = [("library", "0002_editors_group")]
# Forward means the whole way: later migrations (history, link validation) apply too.
AFTER = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("library")
MIGRATION = importlib.import_module("library.migrations.0003_trustworthy_content")

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def read(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def load_old_library(apps, edit=None) -> None:
    """The 2026-11-24 fixtures, written with the models as they were at 0002."""
    models = {
        label: apps.get_model("library", label)
        for label in ("Disease", "Therapy", "Tag", "Article")
    }
    for record in read(DATA / "shipped-2026-11-24-taxonomy.json"):
        models[record["model"].split(".")[1].capitalize()].objects.create(**record["fields"])
    for record in read(DATA / "shipped-2026-11-24-articles.json"):
        fields = dict(record["fields"])
        relations = {name: fields.pop(name) for name in ("diseases", "therapies", "tags")}
        if edit:
            edit(fields)
        article = models["Article"].objects.create(**fields)
        for name, keys in relations.items():
            target = article._meta.get_field(name).related_model
            getattr(article, name).set(target.objects.filter(slug__in=[k[0] for k in keys]))


def snapshot() -> dict:
    return {
        "terms": {
            (model.__name__, t.slug): (t.name, t.aliases, t.description)
            for model in (Disease, Therapy)
            for t in model.objects.all()
        },
        "tags": sorted(Tag.objects.values_list("slug", flat=True)),
        "articles": {a.slug: article_state(a) for a in Article.objects.all()},
        "redirects": sorted(
            TagRedirect.objects.values_list("old_slug", "target_kind", "target_slug")
        ),
    }


def article_state(article: Article) -> dict:
    return {
        "body": article.body,
        "published_on": article.published_on,
        "source_name": article.source_name,
        "source_url": article.source_url,
        "further_reading": article.further_reading,
        "editor_note": article.editor_note,
        "diseases": set(article.diseases.values_list("slug", flat=True)),
        "therapies": set(article.therapies.values_list("slug", flat=True)),
        "tags": set(article.tags.values_list("slug", flat=True)),
    }


def shipped_state(fields: dict) -> dict:
    return {
        "body": fields["body"],
        "published_on": datetime.date.fromisoformat(fields["published_on"]),
        "source_name": fields.get("source_name", ""),
        "source_url": fields.get("source_url", ""),
        "further_reading": fields.get("further_reading", []),
        "editor_note": fields.get("editor_note", ""),
        **{name: {key[0] for key in fields[name]} for name in ("diseases", "therapies", "tags")},
    }


@pytest.fixture
def old_database():
    """Yields the historical apps at 0002; the test fills them, then migrates forward."""
    apps = migrate(BEFORE)
    yield apps
    migrate(AFTER)


def test_an_old_library_ends_up_as_the_new_fixtures_describe(old_database, client):
    load_old_library(old_database)
    before = datetime.datetime.now(datetime.UTC)

    migrate(AFTER)

    new_articles = {r["fields"]["slug"]: r["fields"] for r in read(FIXTURES / "articles.json")}
    for article in Article.objects.all():
        assert article_state(article) == shipped_state(new_articles[article.slug]), article.slug
        assert article.updated_at >= before, article.slug
    new_terms = {
        (r["model"], r["fields"]["slug"]): r["fields"]
        for r in read(FIXTURES / "taxonomy.json")
        if r["model"] != "library.tagredirect"
    }
    for model in (Disease, Therapy):
        for term in model.objects.all():
            shipped = new_terms[(f"library.{model.__name__.lower()}", term.slug)]
            assert (term.name, term.aliases, term.description) == (
                shipped["name"],
                shipped["aliases"],
                shipped["description"],
            ), term.slug
    assert Therapy.objects.filter(slug="corticosteroids").exists()
    shipped_tags = {slug for (model, slug) in new_terms if model == "library.tag"}
    assert set(Tag.objects.values_list("slug", flat=True)) <= shipped_tags
    assert not Tag.objects.filter(slug__in=["lupus", "hsct", "msc-therapy"]).exists()

    response = client.get("/tags/msc-therapy/?page=1")
    assert response.status_code == 301
    assert response["Location"] == "/therapies/mesenchymal-stem-cell-therapy/?page=1"
    assert client.get("/tags/lupus/")["Location"] == "/diseases/lupus/"


def test_the_data_step_is_idempotent(old_database):
    load_old_library(old_database)
    migrate(AFTER)
    once = snapshot()

    MIGRATION.make_content_trustworthy(
        MigrationExecutor(connection).loader.project_state(AFTER).apps, None
    )

    assert snapshot() == once


def test_what_editors_changed_since_is_kept(old_database):
    def edited(fields):
        if fields["slug"] == "stem-cell-therapy-research-in-lupus":
            fields["source_name"] = "Our rheumatology panel"
            fields["published_on"] = "2026-11-30"
            fields["body"] = fields["body"] + "\n\nAn editor's added paragraph."

    load_old_library(old_database, edit=edited)
    migrate(AFTER)

    lupus = Article.objects.get(slug="stem-cell-therapy-research-in-lupus")
    assert lupus.source_name == "Our rheumatology panel"
    assert lupus.published_on == datetime.date(2026, 11, 30)
    assert lupus.body.endswith("An editor's added paragraph.")
    assert lupus.therapies.filter(slug="corticosteroids").exists()


def test_on_an_empty_library_it_creates_only_the_tag_redirects(old_database):
    migrate(AFTER)

    assert not Article.objects.exists()
    assert not Disease.objects.exists() and not Therapy.objects.exists()
    assert TagRedirect.objects.count() == len(MIGRATION.MERGED_TAGS)
