"""`generate_articles`: deterministic synthetic articles over the shipped taxonomy."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from library.management.commands.generate_articles import SLUG_PREFIX, SOURCE_NAME
from library.models import Article, Disease, Therapy

pytestmark = pytest.mark.django_db


@pytest.fixture
def taxonomy(db):
    call_command("loaddata", "taxonomy", verbosity=0)


def generate(*args: str) -> None:
    call_command("generate_articles", *args, verbosity=0)


def test_without_the_taxonomy_it_says_what_to_load():
    with pytest.raises(CommandError, match="loaddata taxonomy"):
        generate("--count", "3")
    assert not Article.objects.exists()


def test_creates_the_requested_number_of_articles_marked_synthetic(taxonomy):
    generate("--count", "25", "--seed", "5", "--batch-size", "10")

    articles = Article.objects.all()
    assert articles.count() == 25
    assert {a.source_name for a in articles} == {SOURCE_NAME}
    assert all(a.slug.startswith(f"{SLUG_PREFIX}5-") for a in articles)
    assert articles.filter(status=Article.Status.PUBLISHED).count() >= 20


def test_articles_read_like_articles(taxonomy):
    generate("--count", "10", "--seed", "1")

    for article in Article.objects.all():
        words = article.body.split()
        assert 450 <= len(words) <= 1400
        assert article.body.startswith("## ")  # Markdown sections
        assert article.title and article.summary.endswith(".")


def test_every_article_is_linked_to_the_shipped_taxonomy(taxonomy):
    generate("--count", "30", "--seed", "2")

    for article in Article.objects.prefetch_related("diseases", "therapies", "tags"):
        assert 1 <= article.diseases.count() <= 2
        assert 1 <= article.therapies.count() <= 3
        assert 2 <= article.tags.count() <= 5
        disease = article.diseases.first()
        # The text talks about the diseases it is filed under.
        names = [disease.name.split(" (")[0].lower(), *(a.lower() for a in disease.alias_list)]
        assert any(name in article.body.lower() for name in names)
    assert Disease.objects.filter(articles__isnull=False).distinct().count() >= 4
    assert Therapy.objects.filter(articles__isnull=False).distinct().count() >= 3


def test_dates_span_several_years(taxonomy):
    generate("--count", "60", "--seed", "3")

    years = set(Article.objects.values_list("published_on__year", flat=True))
    assert len(years) >= 4


def test_same_seed_gives_the_same_articles(taxonomy):
    generate("--count", "8", "--seed", "7")
    first = list(Article.objects.order_by("slug").values_list("slug", "title", "body"))
    Article.objects.all().delete()

    generate("--count", "8", "--seed", "7", "--batch-size", "3")
    again = list(Article.objects.order_by("slug").values_list("slug", "title", "body"))

    assert first == again


def test_another_seed_gives_other_articles(taxonomy):
    generate("--count", "5", "--seed", "1")
    generate("--count", "5", "--seed", "2")

    assert Article.objects.count() == 10
    titles = {
        seed: set(
            Article.objects.filter(slug__startswith=f"{SLUG_PREFIX}{seed}-").values_list(
                "body", flat=True
            )
        )
        for seed in (1, 2)
    }
    assert not titles[1] & titles[2]


def test_the_same_seed_twice_is_refused(taxonomy):
    generate("--count", "3", "--seed", "4")

    with pytest.raises(CommandError, match="already exist"):
        generate("--count", "3", "--seed", "4")
    assert Article.objects.count() == 3


def test_fixture_is_in_the_public_format(taxonomy, tmp_path):
    path = tmp_path / "synthetic.json"
    generate("--count", "4", "--seed", "9", "--fixture", str(path))

    records = json.loads(path.read_text(encoding="utf-8"))
    assert not Article.objects.exists()  # written, not inserted
    assert len(records) == 4
    for record in records:
        assert record["model"] == "library.article"
        assert "pk" not in record
        fields = record["fields"]
        assert fields["source_name"] == SOURCE_NAME
        assert all(isinstance(slug, list) and len(slug) == 1 for slug in fields["diseases"])
        assert fields["published_on"][:2] == "20"


def test_fixture_holds_the_same_articles_as_an_insert(taxonomy, tmp_path):
    path = tmp_path / "synthetic.json"
    generate("--count", "3", "--seed", "6", "--fixture", str(path))
    generate("--count", "3", "--seed", "6")

    records = json.loads(path.read_text(encoding="utf-8"))
    inserted = dict(Article.objects.values_list("slug", "title"))
    assert {r["fields"]["slug"]: r["fields"]["title"] for r in records} == inserted


def test_fixture_loads_with_loaddata(taxonomy, tmp_path):
    path = tmp_path / "synthetic.json"
    generate("--count", "5", "--seed", "8", "--fixture", str(path))

    call_command("loaddata", str(path), verbosity=0)

    assert Article.objects.count() == 5
    record = json.loads(path.read_text(encoding="utf-8"))[0]["fields"]
    article = Article.objects.get(slug=record["slug"])
    assert sorted(d.slug for d in article.diseases.all()) == sorted(
        slug for [slug] in record["diseases"]
    )
