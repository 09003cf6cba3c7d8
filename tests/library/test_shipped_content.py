"""The shipped fixtures: what a fresh site contains after `loaddata taxonomy articles`.

These tests read the files in `fixtures/` through the public fixture format (natural keys,
no primary keys), so they also guard that format for people loading their own articles.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from library.models import Article, Disease, Tag, Therapy

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
EXAMPLE = FIXTURES / "examples" / "example-articles.json"

DISEASE_SLUGS = {
    "rheumatoid-arthritis",
    "lupus",
    "multiple-sclerosis",
    "psoriasis",
    "type-1-diabetes",
    "crohns-disease",
    "guillain-barre-syndrome",
    "systemic-sclerosis",
}
THERAPY_SLUGS = {
    "hsct",
    "mesenchymal-stem-cell-therapy",
    "umbilical-cord-blood-therapy",
    "immunosuppressants",
    "anti-inflammatory-drugs",
}
FIRST_ARTICLE = "stem-cell-therapy-for-autoimmune-diseases"

# Names that patients and clinicians actually type; searching for one finds the entry.
REQUIRED_ALIASES = {
    Disease: {
        "multiple-sclerosis": ["MS", "disseminated sclerosis"],
        "lupus": ["SLE", "systemic lupus erythematosus"],
        "rheumatoid-arthritis": ["RA"],
        "systemic-sclerosis": ["scleroderma", "SSc", "systemic scleroderma"],
        "type-1-diabetes": [
            "T1D",
            "type 1 diabetes mellitus",
            "juvenile diabetes",
            "insulin-dependent diabetes",
        ],
        "crohns-disease": ["Crohn disease", "regional enteritis"],
        "guillain-barre-syndrome": [
            "GBS",
            "Guillain-Barre syndrome",
            "acute inflammatory demyelinating polyneuropathy",
            "AIDP",
        ],
        "psoriasis": ["plaque psoriasis", "psoriatic disease"],
    },
    Therapy: {
        "hsct": [
            "HSCT",
            "aHSCT",
            "autologous HSCT",
            "haematopoietic stem cell transplantation",
            "hematopoietic stem cell transplant",
            "bone marrow transplant",
            "bone marrow transplantation",
            "BMT",
            "stem cell transplant",
        ],
        "mesenchymal-stem-cell-therapy": [
            "MSC",
            "MSC therapy",
            "mesenchymal stromal cells",
            "mesenchymal stem cells",
        ],
        "umbilical-cord-blood-therapy": [
            "cord blood",
            "cord blood stem cells",
            "UCB",
            "umbilical cord blood",
        ],
        "immunosuppressants": [
            "immunosuppressive drugs",
            "immunosuppressive therapy",
            "immunosuppression",
        ],
        "anti-inflammatory-drugs": ["NSAIDs", "anti-inflammatories", "corticosteroids", "steroids"],
    },
}


def read_fixture(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def counts() -> dict[str, int]:
    return {
        "diseases": Disease.objects.count(),
        "therapies": Therapy.objects.count(),
        "tags": Tag.objects.count(),
        "articles": Article.objects.count(),
    }


def find_pk_keys(value) -> list[str]:
    """Every "pk" key anywhere in a decoded JSON document."""
    if isinstance(value, dict):
        found = ["pk"] if "pk" in value else []
        return found + [pk for item in value.values() for pk in find_pk_keys(item)]
    if isinstance(value, list):
        return [pk for item in value for pk in find_pk_keys(item)]
    return []


# The fixture files themselves


@pytest.mark.parametrize(
    "path",
    [FIXTURES / "taxonomy.json", FIXTURES / "articles.json", EXAMPLE],
    ids=lambda path: path.name,
)
def test_fixture_files_use_natural_keys_and_carry_no_primary_keys(path):
    records = read_fixture(path)

    assert records
    assert find_pk_keys(records) == []
    for record in records:
        assert set(record) == {"model", "fields"}
        if record["model"] == "library.article":
            assert "created_at" not in record["fields"]
            assert "updated_at" not in record["fields"]


def test_every_slug_an_article_refers_to_is_defined_in_the_taxonomy_file():
    taxonomy = read_fixture(FIXTURES / "taxonomy.json")
    defined = {
        field: {r["fields"]["slug"] for r in taxonomy if r["model"] == f"library.{model}"}
        for field, model in [("diseases", "disease"), ("therapies", "therapy"), ("tags", "tag")]
    }

    for record in read_fixture(FIXTURES / "articles.json"):
        for field, slugs in defined.items():
            referenced = {key[0] for key in record["fields"][field]}
            assert referenced <= slugs, (record["fields"]["slug"], field, referenced - slugs)


def test_example_slugs_do_not_collide_with_shipped_slugs():
    shipped = read_fixture(FIXTURES / "taxonomy.json") + read_fixture(FIXTURES / "articles.json")
    shipped_keys = {(r["model"], r["fields"]["slug"]) for r in shipped}
    example = read_fixture(EXAMPLE)

    assert {r["model"] for r in example} == {
        "library.disease",
        "library.therapy",
        "library.tag",
        "library.article",
    }
    assert not {(r["model"], r["fields"]["slug"]) for r in example} & shipped_keys


# Loading the shipped content


def test_loading_creates_every_disease_therapy_and_a_published_library(shipped_content):
    assert set(Disease.objects.values_list("slug", flat=True)) == DISEASE_SLUGS
    assert set(Therapy.objects.values_list("slug", flat=True)) == THERAPY_SLUGS
    assert Article.objects.published().count() >= 14
    assert not Article.objects.exclude(status=Article.Status.PUBLISHED).exists()


def test_loading_a_second_time_updates_rows_instead_of_duplicating_them(shipped_content):
    before = counts()

    call_command("loaddata", "taxonomy", "articles", verbosity=0)

    assert counts() == before


def test_every_disease_and_therapy_has_at_least_one_published_article(shipped_content):
    for model in (Disease, Therapy):
        without_articles = [
            term.slug for term in model.objects.with_article_counts() if term.article_count == 0
        ]
        assert without_articles == [], model.__name__


def test_every_shipped_article_has_a_substantial_body_a_summary_and_a_source(shipped_content):
    for article in Article.objects.all():
        assert len(article.body.split()) >= 250, article.slug
        assert article.summary.strip(), article.slug
        assert article.source_name.strip(), article.slug
        assert "\n## " in f"\n{article.body}", f"{article.slug} has no ## section headings"


def test_every_shipped_row_passes_model_validation(shipped_content):
    for model in (Disease, Therapy, Tag, Article):
        for obj in model.objects.all():
            obj.full_clean()


def test_articles_written_for_the_library_quote_no_invented_percentages(shipped_content):
    for article in Article.objects.exclude(slug=FIRST_ARTICLE):
        assert not re.search(r"\d\s*(%|per ?cent)", article.body), article.slug


# The taxonomy readers search by


def test_diseases_and_therapies_list_the_aliases_readers_use(shipped_content):
    for model, required in REQUIRED_ALIASES.items():
        for slug, aliases in required.items():
            term = model.objects.get(slug=slug)
            missing = set(aliases) - set(term.alias_list)
            assert not missing, (slug, missing)
            assert term.description.strip(), slug


def test_names_keep_their_conventional_spelling(shipped_content):
    assert Disease.objects.get(slug="guillain-barre-syndrome").name == "Guillain-Barré syndrome"
    assert Disease.objects.get(slug="crohns-disease").name == "Crohn's disease"
    assert Therapy.objects.get(slug="hsct").name == "Hematopoietic stem cell transplantation"


def test_articles_use_the_words_readers_search_for(shipped_content):
    """Search tests rely on this vocabulary being present in realistic articles."""
    ms = Article.objects.filter(diseases__slug="multiple-sclerosis").exclude(slug=FIRST_ARTICLE)
    assert any("multiple sclerosis" in a.body.lower() and re.search(r"\bMS\b", a.body) for a in ms)

    hsct = Article.objects.filter(therapies__slug="hsct")
    assert any("hematopoietic stem cell transplantation" in a.body.lower() for a in hsct)

    ssc = Article.objects.filter(diseases__slug="systemic-sclerosis").exclude(slug=FIRST_ARTICLE)
    assert any("scleroderma" in a.body.lower() for a in ssc)

    gbs = Article.objects.filter(diseases__slug="guillain-barre-syndrome")
    assert any("Guillain-Barré syndrome" in a.body for a in gbs)


def test_spinal_cord_and_blood_tests_appear_apart_from_the_phrase_cord_blood(shipped_content):
    """A phrase search for "cord blood" must be able to tell these articles apart."""
    words_apart = [
        a
        for a in Article.objects.all()
        if "spinal cord" in a.body
        and "blood tests" in a.body
        and not re.search(r"\bcord\W+blood\b", a.body, re.IGNORECASE)
    ]
    assert words_apart
    cord_blood = Article.objects.filter(therapies__slug="umbilical-cord-blood-therapy")
    assert any("cord blood" in a.body for a in cord_blood)


# The first article, carried over from its source


def test_first_article_keeps_its_source(shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)

    assert article.is_published
    assert article.title == "Stem Cell Therapy for Autoimmune Diseases: A New Hope for Healing"
    assert article.published_on.isoformat() == "2025-05-01"
    assert article.source_name == "NestFact"
    assert "nestfact.com" in article.source_url


def test_first_article_turns_its_keyword_line_into_tags(shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)
    tags = set(article.tags.values_list("slug", flat=True))

    assert len(tags) == 30
    assert {
        "multiple-sclerosis",
        "crohns-disease",
        "msc-therapy",
        "hsct",
        "clinical-trials",
        "stem-cell-research",
        "nestfact",
        "next-gen-medicine",
    } <= tags
    assert "next gen medicine" not in article.body


def test_first_article_body_keeps_the_source_wording_and_structure(shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)
    body = article.body

    assert not body.startswith(("# ", article.title))
    for heading in [
        "## Understanding Stem Cells and Autoimmune Disorders",
        "## How Stem Cell Therapy Works for Autoimmune Diseases",
        "### 1. Hematopoietic Stem Cell Transplantation (HSCT)",
        "### 2. Mesenchymal Stem Cell Therapy (MSC)",
        "## What the Research Says",
        "## Risks and Challenges",
        "## A Glimpse into the Future",
    ]:
        assert f"\n{heading}\n" in body, heading
    assert "- Guillain-Barré syndrome\n" in body
    assert "one\u2019s quality of life" in body, "typographic apostrophes are kept"
    last_paragraph = body.strip().split("\n\n")[-1]
    assert last_paragraph.startswith("To stay informed")
    assert "www.nestfact.com" in last_paragraph


def test_first_article_links_every_disease_and_therapy_it_names(shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)

    assert set(article.diseases.values_list("slug", flat=True)) == DISEASE_SLUGS
    assert set(article.therapies.values_list("slug", flat=True)) == THERAPY_SLUGS


# The example for people loading their own articles


def test_example_fixture_loads_on_top_of_the_shipped_content(shipped_content):
    before = counts()

    call_command("loaddata", str(EXAMPLE), verbosity=0)

    assert counts() == {name: n + 1 for name, n in before.items()}
    article = Article.objects.get(slug="plasma-exchange-in-myasthenia-gravis")
    assert article.is_published
    assert list(article.diseases.values_list("slug", flat=True)) == ["myasthenia-gravis"]
    assert list(article.therapies.values_list("slug", flat=True)) == ["plasma-exchange"]
    assert list(article.tags.values_list("slug", flat=True)) == ["example"]
    assert len(article.body.split()) >= 120
