"""What the index is given for each article, and what building it costs."""

from __future__ import annotations

import datetime

import pytest

from library.models import Article
from search.documents import build_document, documents_for, iter_documents
from search.synonyms import synonym_groups
from tests.conftest import make_article, make_disease, make_tag, make_therapy

pytestmark = pytest.mark.django_db


def test_a_document_carries_text_taxonomy_with_aliases_and_facets():
    ms = make_disease("Multiple sclerosis", slug="multiple-sclerosis", aliases="MS\nMS")
    hsct = make_therapy(
        "Haematopoietic stem cell transplantation", slug="hsct", aliases="HSCT\nbone marrow"
    )
    tag = make_tag("Clinical trials", slug="clinical-trials")
    article = make_article(
        "Resetting the immune system",
        slug="resetting",
        summary="What trials show.",
        body="# Heading\n\nSome **bold** text and a [link](https://example.org).\n\n- a list",
        published_on=datetime.date(2024, 6, 30),
        diseases=[ms],
        therapies=[hsct],
        tags=[tag],
    )
    article.refresh_from_db()

    (document,) = documents_for([article.pk])

    assert document.id == article.pk
    assert document.slug == "resetting"
    assert document.title == "Resetting the immune system"
    assert document.summary == "What trials show."
    # Markdown stripped by library.rendering.markdown_to_text: the text's own spacing
    # (no space before punctuation), a line per block, headings and list items ending
    # a sentence.
    assert document.body == "Heading.\nSome bold text and a link.\na list."
    assert document.taxonomy == (
        "Multiple sclerosis",
        "MS",
        "Haematopoietic stem cell transplantation",
        "HSCT",
        "bone marrow",
    )
    assert document.tag_names == ("Clinical trials",)
    assert document.diseases == ("multiple-sclerosis",)
    assert document.therapies == ("hsct",)
    assert document.tags == ("clinical-trials",)
    assert document.published_on == datetime.date(2024, 6, 30)
    assert document.updated_at == article.updated_at


def test_markup_and_scripts_never_reach_the_body_text():
    article = make_article(body="Before <script>alert(1)</script> after &amp; done")
    (document,) = documents_for([article.pk])
    assert "<" not in document.body and "alert" not in document.body
    assert document.body.startswith("Before") and "& done" in document.body


def test_only_published_articles_become_documents():
    published = make_article()
    draft = make_article(status=Article.Status.DRAFT)
    assert [d.id for d in iter_documents()] == [published.pk]
    assert [d.id for d in documents_for([published.pk, draft.pk, 999_999])] == [published.pk]
    assert [d.id for d in iter_documents(Article.objects.filter(pk=draft.pk))] == []


def test_documents_cost_four_queries_per_chunk_whatever_the_taxonomy(
    django_assert_num_queries,
):
    diseases = [make_disease() for _ in range(3)]
    tags = [make_tag() for _ in range(3)]
    therapy = make_therapy()
    articles = [make_article(diseases=diseases, therapies=[therapy], tags=tags) for _ in range(5)]
    # chunks of 2, 2 and 1: articles + diseases + therapies + tags each
    with django_assert_num_queries(12):
        documents = list(iter_documents(chunk_size=2))
    assert [d.id for d in documents] == sorted(a.pk for a in articles)
    assert all(len(d.diseases) == 3 and len(d.tags) == 3 for d in documents)


def test_an_exactly_full_last_chunk_costs_one_empty_query(django_assert_num_queries):
    for _ in range(4):
        make_article()
    with django_assert_num_queries(2 * 4 + 1):
        assert len(list(iter_documents(chunk_size=2))) == 4


def test_build_document_of_a_single_article():
    article = make_article(diseases=[make_disease("Lupus", aliases="SLE")])
    assert build_document(article).taxonomy == ("Lupus", "SLE")


def test_synonym_groups_are_each_term_with_its_aliases_read_fresh():
    make_disease("Multiple sclerosis", aliases="MS\n disseminated sclerosis \n\nMS")
    make_disease("Lupus")
    make_therapy("Haematopoietic stem cell transplantation", aliases="HSCT")
    assert synonym_groups() == (
        ("Lupus",),
        ("Multiple sclerosis", "MS", "disseminated sclerosis"),
        ("Haematopoietic stem cell transplantation", "HSCT"),
    )
    lupus = make_disease("Systemic sclerosis", aliases="scleroderma")
    assert ("Systemic sclerosis", "scleroderma") in synonym_groups()
    lupus.aliases = "SSc"
    lupus.save()
    assert ("Systemic sclerosis", "SSc") in synonym_groups()


def test_synonym_groups_cost_two_queries(django_assert_num_queries):
    for _ in range(5):
        make_disease(aliases="x")
        make_therapy(aliases="y")
    with django_assert_num_queries(2):
        assert len(synonym_groups()) == 10
