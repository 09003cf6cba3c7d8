"""The filing rule: an article is filed under a disease or therapy only when its text
discusses that treatment or disease, and a therapy an article discusses at length is one
it is filed under.

"Discusses" is checked the way a reader would: the term's name or one of its aliases
appears in the article (title, summary, Key points or body) in a sentence that does not
rule it out ("HSCT is not used to treat psoriasis" names HSCT only to say it is not used).
"""

from __future__ import annotations

import re

import pytest

from library.models import Article, Disease, Therapy
from library.rendering import markdown_to_text

pytestmark = pytest.mark.django_db

# A sentence that names a treatment only to say it is not one for this disease.
RULED_OUT = re.compile(
    r"\b(?:is|are)\s+not\s+used\b|\bnot\s+(?:part\s+of|recommended|a\s+treatment)\b"
    r"|\bplays?\s+(?:little|no)\s+role\b",
    re.IGNORECASE,
)


def normalised(text: str) -> str:
    return " " + re.sub(r"\W+", " ", text.replace("’", "'")).strip().casefold() + " "


def sentences(article: Article) -> list[str]:
    text = "\n".join(
        [
            article.title + ".",
            article.summary,
            article.key_points,
            markdown_to_text(article.body),
        ]
    )
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def names(term: Disease | Therapy) -> set[str]:
    """The term's name and aliases, also without a bracketed part or a plural s."""
    found = {term.name, term.name.split(" (")[0], *term.alias_list}
    return {normalised(n) for n in found} | {normalised(n.removesuffix("s")) for n in found}


def sentences_discussing(article: Article, term: Disease | Therapy) -> list[str]:
    wanted = names(term)
    return [
        sentence
        for sentence in sentences(article)
        if any(name in normalised(sentence) for name in wanted) and not RULED_OUT.search(sentence)
    ]


def test_every_article_is_filed_only_under_what_its_text_discusses(shipped_content):
    """Every article the library wrote. The article reproduced word for word is filed by its
    source's own keyword line (see test_shipped_content), in the source's words: its
    "anti-inflammatory drugs" names no drug class of ours."""
    checked = 0
    own = Article.objects.filter(source_name="").prefetch_related("diseases", "therapies")
    for article in own:
        for term in [*article.diseases.all(), *article.therapies.all()]:
            assert sentences_discussing(article, term), (
                f"{article.slug} is filed under {term.slug} but never discusses it"
            )
            checked += 1
    assert checked > own.count()


def test_psoriasis_is_not_filed_under_hsct_which_its_text_rules_out(shipped_content):
    article = Article.objects.get(slug="psoriasis-and-stem-cell-research")
    hsct = Therapy.objects.get(slug="hsct")

    assert not article.therapies.filter(slug="hsct").exists()
    assert "is not used to treat psoriasis" in article.body
    assert sentences_discussing(article, hsct) == [], "filing it again would break the rule"


def test_the_guillain_barre_article_discusses_no_treatment_it_is_filed_under(shipped_content):
    article = Article.objects.get(
        slug="guillain-barre-syndrome-standard-care-and-stem-cell-research"
    )
    steroids = Therapy.objects.get(slug="corticosteroids")

    assert not article.therapies.exists()
    assert sentences_discussing(article, steroids) == []  # "not recommended for GBS"


def test_lupus_is_filed_under_car_t_which_it_discusses(shipped_content):
    article = Article.objects.get(slug="stem-cell-therapy-research-in-lupus")
    car_t = Therapy.objects.get(slug="car-t-cell-therapy")

    assert article.therapies.filter(slug="car-t-cell-therapy").exists()
    assert sentences_discussing(article, car_t)


def test_the_msc_guide_is_filed_under_every_disease_it_says_mscs_were_studied_in(
    shipped_content,
):
    article = Article.objects.get(slug="mesenchymal-stem-cell-therapy-explained")
    line = next(s for s in sentences(article) if "have been studied in conditions" in s)
    named = {
        disease.slug
        for disease in Disease.objects.all()
        if any(name in normalised(line) for name in names(disease))
    }

    assert named == {"crohns-disease", "lupus", "rheumatoid-arthritis", "multiple-sclerosis"}
    assert named <= set(article.diseases.values_list("slug", flat=True))


def test_a_sentence_that_rules_a_treatment_out_does_not_count_as_discussing_it(
    shipped_content,
):
    """The check itself can fail: the same words, said positively, count."""
    article = Article.objects.get(slug="psoriasis-and-stem-cell-research")
    hsct = Therapy.objects.get(slug="hsct")
    article.body += "\n\nHematopoietic stem cell transplantation has been studied in psoriasis."

    assert sentences_discussing(article, hsct)
