"""Every way content changes reaches the index after commit, in one batch per transaction.

Each test runs on the in-memory fake and on the Whoosh backend (`sync_backend`).
"""

from __future__ import annotations

import json
import logging

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import transaction
from django.db.models.signals import post_save

from library.models import Article, Disease, Tag, Therapy
from library.signals import articles_bulk_changed
from search import index
from search.models import PendingIndexUpdate
from tests.conftest import make_article, make_disease, make_tag, make_therapy

pytestmark = pytest.mark.django_db


def index_batches(callbacks: list) -> list:
    """The index's after-commit callbacks (the page cache registers its own beside them)."""
    return [callback for callback in callbacks if isinstance(callback, index._Batch)]


# --- Articles through the ORM ---------------------------------------------------


def test_creating_a_published_article_indexes_it_once(sync_backend, commit):
    with commit() as callbacks:
        article = make_article("Mesenchymal cells in lupus")
    assert len(index_batches(callbacks)) == 1
    assert sync_backend.calls_to("index") == [[article.pk]]
    assert index.same_instant(sync_backend.indexed()[article.pk], article.updated_at)


def test_creating_a_draft_does_not_index_it(sync_backend, commit):
    with commit():
        article = make_article(status=Article.Status.DRAFT)
    assert sync_backend.calls_to("index") == []
    assert article.pk not in sync_backend.indexed()


def test_saving_an_article_reindexes_its_latest_version(sync_backend, commit):
    with commit():
        article = make_article("Old title")
    with commit():
        article.title = "New title"
        article.save()
    article.refresh_from_db()
    assert sync_backend.calls_to("index")[-1] == [article.pk]
    assert index.same_instant(sync_backend.indexed()[article.pk], article.updated_at)


def test_deleting_an_article_removes_it(sync_backend, commit):
    with commit():
        article = make_article()
    pk = article.pk
    with commit():
        article.delete()
    assert sync_backend.calls_to("remove")[-1] == [pk]
    assert pk not in sync_backend.indexed()


def test_deleting_a_queryset_removes_every_article_in_one_batch(sync_backend, commit):
    with commit():
        articles = [make_article() for _ in range(3)]
    sync_backend.reset()
    with commit():
        Article.objects.filter(pk__in=[a.pk for a in articles]).delete()
    assert sync_backend.calls_to("remove") == [sorted(a.pk for a in articles)]
    assert sync_backend.indexed() == {}


def test_unpublishing_removes_and_publishing_indexes(sync_backend, commit):
    with commit():
        article = make_article()
    with commit():
        article.status = Article.Status.DRAFT
        article.save()
    assert article.pk not in sync_backend.indexed()
    with commit():
        article.status = Article.Status.PUBLISHED
        article.save()
    assert article.pk in sync_backend.indexed()


def test_bulk_publish_with_update_is_indexed_when_recorded(sync_backend, commit):
    with commit():
        drafts = [make_article(status=Article.Status.DRAFT) for _ in range(3)]
    ids = [a.pk for a in drafts]
    with commit():
        Article.objects.filter(pk__in=ids).update(status=Article.Status.PUBLISHED)
        index.record_change(ids)
    assert sync_backend.calls_to("index") == [sorted(ids)]
    with commit():
        Article.objects.filter(pk__in=ids).update(status=Article.Status.DRAFT)
        index.record_change(ids)
    assert sync_backend.indexed() == {}


def test_bulk_changes_announced_by_the_library_signal_are_indexed(sync_backend, commit):
    with commit():
        drafts = [make_article(status=Article.Status.DRAFT) for _ in range(2)]
    ids = [a.pk for a in drafts]
    with commit():
        Article.objects.filter(pk__in=ids).update(status=Article.Status.PUBLISHED)
        articles_bulk_changed.send(sender=Article, article_ids=ids)
    assert sync_backend.calls_to("index") == [sorted(ids)]


def test_the_admin_publish_and_unpublish_actions_reach_the_index(sync_backend, commit):
    """The actions call `ArticleQuerySet.set_status()`: one UPDATE, then the library's
    `articles_bulk_changed` signal."""
    with commit():
        drafts = [make_article(status=Article.Status.DRAFT) for _ in range(2)]
    ids = sorted(a.pk for a in drafts)
    with commit():
        Article.objects.filter(pk__in=ids).set_status(Article.Status.PUBLISHED)
    assert sorted(sync_backend.indexed()) == ids
    with commit():
        Article.objects.filter(pk__in=ids).set_status(Article.Status.DRAFT)
    assert sync_backend.indexed() == {}


# --- Many-to-many, from both sides ----------------------------------------------

RELATIONS = [
    ("diseases", make_disease, "diseases"),
    ("therapies", make_therapy, "therapies"),
    ("tags", make_tag, "tags"),
]


def taxonomy_slugs(backend, article, field):
    """The slugs of `field` the index holds for `article`, asked through search filters."""
    model = {"diseases": Disease, "therapies": Therapy, "tags": Tag}[field]
    return {
        slug
        for slug in model.objects.values_list("slug", flat=True)
        if article.pk in backend.found(**{field: [slug]})
    }


@pytest.mark.parametrize(("field", "factory", "doc_field"), RELATIONS)
def test_m2m_add_remove_clear_from_the_article(sync_backend, commit, field, factory, doc_field):
    with commit():
        article, term = make_article(), factory()
    sync_backend.reset()
    with commit():
        getattr(article, field).add(term)
    assert sync_backend.calls_to("index") == [[article.pk]]
    assert taxonomy_slugs(sync_backend, article, doc_field) == {term.slug}
    with commit():
        getattr(article, field).remove(term)
    assert taxonomy_slugs(sync_backend, article, doc_field) == set()
    with commit():
        getattr(article, field).add(term)
    with commit():
        getattr(article, field).clear()
    assert taxonomy_slugs(sync_backend, article, doc_field) == set()


@pytest.mark.parametrize(("field", "factory", "doc_field"), RELATIONS)
def test_m2m_add_remove_clear_from_the_term(sync_backend, commit, field, factory, doc_field):
    with commit():
        first, second, term = make_article(), make_article(), factory()
    sync_backend.reset()
    with commit():
        term.articles.add(first, second)
    assert sync_backend.calls_to("index") == [sorted([first.pk, second.pk])]
    assert taxonomy_slugs(sync_backend, second, doc_field) == {term.slug}
    with commit():
        term.articles.remove(first)
    assert taxonomy_slugs(sync_backend, first, doc_field) == set()
    assert taxonomy_slugs(sync_backend, second, doc_field) == {term.slug}
    sync_backend.reset()
    with commit():
        term.articles.clear()
    assert sync_backend.calls_to("index") == [[second.pk]]
    assert taxonomy_slugs(sync_backend, second, doc_field) == set()


# --- Renaming and deleting taxonomy ---------------------------------------------


@pytest.mark.parametrize("model_factory", [make_disease, make_therapy, make_tag])
def test_renaming_a_term_reindexes_its_articles(sync_backend, commit, model_factory):
    term = model_factory("Original")
    field = {Disease: "diseases", Therapy: "therapies", Tag: "tags"}[type(term)]
    with commit():
        tagged = make_article(**{field: [term]})
        untouched = make_article()
    sync_backend.reset()
    with commit():
        term.name = "Renamed"
        term.save()
    assert sync_backend.calls_to("index") == [[tagged.pk]]
    assert untouched.pk in sync_backend.indexed()
    assert sync_backend.found("renamed") == {tagged.pk}


def test_an_alias_added_in_the_admin_reaches_the_documents(sync_backend, commit):
    disease = make_disease("Multiple sclerosis")
    with commit():
        article = make_article(diseases=[disease])
    with commit():
        disease.aliases = "MS\ndisseminated sclerosis"
        disease.save()
    assert sync_backend.calls_to("index")[-1] == [article.pk]
    assert sync_backend.found("disseminated") == {article.pk}


def test_deleting_a_term_reindexes_the_articles_that_carried_it(sync_backend, commit):
    disease = make_disease()
    with commit():
        article = make_article(diseases=[disease])
    slug = disease.slug
    sync_backend.reset()
    with commit():
        disease.delete()
    assert sync_backend.calls_to("index") == [[article.pk]]
    assert sync_backend.found(diseases=[slug]) == set()
    assert article.pk in sync_backend.indexed()


# --- Transactions -----------------------------------------------------------------


def test_a_transaction_is_one_batch(sync_backend, commit):
    disease = make_disease()
    with commit() as callbacks, transaction.atomic():
        articles = [make_article(diseases=[disease]) for _ in range(5)]
        articles[0].title = "Edited"
        articles[0].save()
        articles[4].delete()
    assert len(index_batches(callbacks)) == 1
    assert sync_backend.calls_to("index") == [sorted(a.pk for a in articles[:4])]
    assert set(sync_backend.indexed()) == {a.pk for a in articles[:4]}


def test_a_rolled_back_transaction_leaves_the_index_untouched(sync_backend, commit):
    with commit():
        kept = make_article()
    sync_backend.reset()
    with commit() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        make_article()
        kept.title = "Never committed"
        kept.save()
        raise RuntimeError("editor's save fails")
    assert callbacks == []
    assert sync_backend.calls == []
    assert set(sync_backend.indexed()) == {kept.pk}


def test_a_rolled_back_savepoint_drops_only_its_own_changes(sync_backend, commit):
    with commit() as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            make_article(slug="rolled-back")
            raise RuntimeError
        kept = make_article(slug="kept")
    assert len(index_batches(callbacks)) == 1
    assert set(sync_backend.indexed()) == {kept.pk}


# --- loaddata ------------------------------------------------------------------------


def write_fixture(path, articles, terms=()):
    records = [
        {"model": "library.disease", "fields": {"name": name, "slug": slug, "aliases": ""}}
        for name, slug in terms
    ] + [
        {
            "model": "library.article",
            "fields": {
                "title": title,
                "slug": slug,
                "summary": "A summary.",
                "body": "A *Markdown* body.",
                "status": "published",
                "published_on": "2025-03-01",
                "diseases": [[d] for d in diseases],
            },
        }
        for title, slug, diseases in articles
    ]
    path.write_text(json.dumps(records))
    return path


def test_loaddata_is_indexed_once_after_the_load_commits(sync_backend, commit, tmp_path):
    fixture = write_fixture(
        tmp_path / "load.json",
        [(f"Article {n}", f"loaded-{n}", ["lupus"]) for n in range(20)],
        terms=[("Lupus", "lupus")],
    )
    with commit() as callbacks:
        call_command("loaddata", str(fixture), verbosity=0)
        assert sync_backend.calls == []  # nothing until the load commits
    assert len(index_batches(callbacks)) == 1
    loaded = set(Article.objects.values_list("pk", flat=True))
    assert len(loaded) == 20
    assert sync_backend.calls_to("index") == [sorted(loaded)]
    assert set(sync_backend.indexed()) == loaded


def test_loading_the_shipped_fixtures_is_one_batch(sync_backend, commit):
    with commit() as callbacks:
        call_command("loaddata", "taxonomy", "articles", verbosity=0)
    published = set(Article.objects.published().values_list("pk", flat=True))
    assert len(index_batches(callbacks)) == 1
    assert sync_backend.calls_to("index") == [sorted(published)]
    assert index.compare().in_sync


def test_a_failed_loaddata_leaves_the_index_untouched(sync_backend, commit, tmp_path):
    good = write_fixture(tmp_path / "good.json", [("Fine", "fine", [])])
    # XML escapes the JSON validator and fails inside Django's load, after "good" was
    # saved (raw post_save sent) in the same transaction.
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<?xml version="1.0"?><django-objects version="1.0">'
        '<object model="library.article"><field name="title" type="CharField">x</field>'
        '<field name="published_on" type="DateField">not-a-date</field></object>'
        "</django-objects>"
    )
    raw_saves = []

    def note_raw_save(sender, instance, raw, **kwargs):
        raw_saves.append((instance.slug, raw))

    post_save.connect(note_raw_save, sender=Article)
    try:
        with commit() as callbacks, pytest.raises((DeserializationError, ValidationError)):
            call_command("loaddata", str(good), str(bad), verbosity=0)
    finally:
        post_save.disconnect(note_raw_save, sender=Article)
    assert raw_saves == [("fine", True)]  # the trap: signals fired for a load that failed
    assert not Article.objects.exists()
    assert callbacks == []
    assert sync_backend.calls == []
    assert sync_backend.indexed() == {}


# --- Failures ------------------------------------------------------------------------


def test_an_index_failure_never_breaks_a_save_and_is_queued(sync_backend, commit, caplog):
    sync_backend.fail = True
    with caplog.at_level(logging.ERROR, logger="search"), commit():
        article = make_article()  # must not raise
    assert Article.objects.filter(pk=article.pk).exists()
    assert list(PendingIndexUpdate.objects.values_list("article_id", flat=True)) == [article.pk]
    assert index.pending_update_count() == 1
    assert "queued for update_index" in caplog.text

    sync_backend.fail = False
    call_command("update_index", verbosity=0)
    assert index.pending_update_count() == 0
    assert article.pk in sync_backend.indexed()


def test_a_later_successful_sync_clears_the_queued_failure(sync_backend, commit):
    sync_backend.fail = True
    with commit():
        article = make_article()
    sync_backend.fail = False
    with commit():
        article.save()
    assert index.pending_update_count() == 0
