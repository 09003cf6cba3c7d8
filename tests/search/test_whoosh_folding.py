"""Whoosh saves keep the index to a few segments by re-indexing small ones
(`search.backends.whoosh.writing.fold_small_segments`): whatever editors do, the index
holds exactly the published articles, once each and as last saved, a save is
searchable at once, and the segment count stays bounded. That a search in another
process is never broken by a fold deleting segment files it had listed is tested
beside the same test for a merge, in `test_whoosh_backend.py`.
"""

from __future__ import annotations

import random

import pytest
from django.db import transaction

from library.models import Article
from search import index
from search.backends import get_backend
from search.backends.base import SearchQuery
from search.backends.whoosh import POINTER, writing
from search.backends.whoosh.writing import FOLD_AT
from tests.conftest import make_article, make_disease
from tests.search.engines import doc, found

pytestmark = pytest.mark.django_db


def live_segments(directory) -> int:
    return len(list((directory / (directory / POINTER).read_text()).glob("*.seg")))


def edit(article: Article, **fields) -> None:
    with transaction.atomic():
        for name, value in fields.items():
            setattr(article, name, value)
        article.save()


def test_any_sequence_of_saves_leaves_exactly_the_published_articles(
    whoosh_index, django_capture_on_commit_callbacks, monkeypatch
):
    """Saves, new words, unpublishing, publishing again and deleting, in a random but
    fixed order, with a fold every few saves (`FOLD_AT` lowered to 4 so that articles
    are folded again and again): after every step the newest title is found, the
    segments stay at most `FOLD_AT` (plus the one holding the disease's spelling
    pseudo-document, which is never folded), and at the end the index is exactly the
    published articles, as `check_index` sees it."""
    monkeypatch.setattr(writing, "FOLD_AT", 4)
    lupus = make_disease("Lupus", slug="lupus", aliases="SLE")
    rng = random.Random(18)
    articles = []
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(6):
            articles.append(make_article(f"Starting article {n}", body="lupus remission"))
        articles[0].diseases.add(lupus)
    for step in range(150):
        article = rng.choice(articles)
        action = rng.random()
        searchable = None
        with django_capture_on_commit_callbacks(execute=True):
            if action < 0.1 and len(articles) > 3:
                articles.remove(article)
                article.delete()
            elif action < 0.25:
                published = article.status == Article.Status.PUBLISHED
                edit(article, status="draft" if published else "published")
            elif action < 0.4:
                articles.append(make_article(f"Added at step {step}", body="lupus"))
            else:
                word = f"step{step}word"
                edit(article, title=f"{article.title.split(' [')[0]} [{word}]")
                if article.status == Article.Status.PUBLISHED:
                    searchable = word
        if searchable:  # found at once after the save's commit
            assert found(get_backend(), searchable) == {article.pk}
        assert live_segments(whoosh_index) <= writing.FOLD_AT + 1, step

    published = set(Article.objects.published().values_list("pk", flat=True))
    assert set(get_backend().indexed()) == published
    assert found(get_backend(), "lupus") == published
    diff = index.compare()
    assert diff.in_sync, diff
    for article in Article.objects.published():
        hits = get_backend().search(SearchQuery(text=f'"{article.title}"', per_page=100)).hits
        assert article.pk in [hit.id for hit in hits]
    assert found(get_backend(), "lupus", diseases=("lupus",)) == ({articles[0].pk} & published)


def test_a_fold_reads_the_articles_as_the_database_has_them_now(whoosh_index):
    """A save folding small segments rebuilds their articles from the source: an
    article unpublished meanwhile is dropped, one changed meanwhile is current."""
    database = {n: doc(n, body=f"lupus first{n}") for n in range(1, FOLD_AT + 1)}
    backend = get_backend()
    for document in database.values():
        backend.index([document])
    assert live_segments(whoosh_index) == FOLD_AT
    del database[2]  # unpublished, its removal not yet synced
    database[3] = doc(3, body="lupus changed3")

    def source(ids):
        return [database[n] for n in ids if n in database]

    database[FOLD_AT + 1] = doc(FOLD_AT + 1, body="lupus newest")
    backend.index([database[FOLD_AT + 1]], source=source)

    assert live_segments(whoosh_index) == 1
    assert found(backend, "lupus") == set(database)
    assert found(backend, "changed3") == {3}
    assert found(backend, "first3") == set()
