"""Corrections made in the condition and treatment articles (issue 20): each corrected
sentence is present, the wrong or missing one is gone, the source is under "Further
reading", and the article says in one sentence what changed.
"""

from __future__ import annotations

import re

import pytest

from library.models import Article

pytestmark = pytest.mark.django_db

DIABETES = "type-1-diabetes-and-stem-cell-research"
CROHNS = "crohns-disease-and-stem-cell-therapy"
MS = "stem-cell-research-in-multiple-sclerosis"
RA = "stem-cell-approaches-in-rheumatoid-arthritis"
IMMUNOSUPPRESSANTS = "immunosuppressants-in-autoimmune-disease"
HSCT_GUIDE = "hematopoietic-stem-cell-transplantation-what-it-involves"
SCLERODERMA = "systemic-sclerosis-scleroderma-and-stem-cell-transplantation"

NEJM_ISLETS = "https://www.nejm.org/doi/full/10.1056/NEJMoa2506549"
EMA_ALOFISEL = "https://www.ema.europa.eu/en/news/alofisel-withdrawn-eu-market"
MHRA_METHOTREXATE = (
    "https://www.gov.uk/drug-safety-update/methotrexate-once-weekly-for-autoimmune-diseases-"
    "new-measures-to-reduce-risk-of-fatal-overdose-due-to-inadvertent-daily-instead-of-weekly-dosing"
)
EBMT_PATIENTS = "https://pmc.ncbi.nlm.nih.gov/articles/PMC6760538/"


def article(slug: str) -> Article:
    return Article.objects.get(slug=slug)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def reading(article: Article) -> set[str]:
    return {link["url"] for link in article.further_reading}


def test_stem_cell_derived_islets_are_no_longer_called_early_trials(shipped_content):
    diabetes = article(DIABETES)
    body = flat(diabetes.body)

    assert "Early clinical trials are testing whether these cells" not in body
    assert "zimislecel (VX-880)" in body
    assert "In 2025, the New England Journal of Medicine reported" in body
    assert "10 of the 12 no longer needed insulin injections" in body
    assert "a larger phase 3 part of the trial was under way" in body
    assert "keep taking medicines that suppress the immune system" in body
    assert NEJM_ISLETS in reading(diabetes)
    assert "not a stem cell treatment" in body  # islet transplantation, an earlier correction


def test_the_crohns_article_says_alofisel_was_withdrawn_in_the_eu(shipped_content):
    crohns = article(CROHNS)
    body = flat(crohns.body)

    assert "darvadstrocel (Alofisel), was approved in the European Union (EU) in 2018" in body
    assert "it was no better than a dummy treatment (placebo)" in body
    assert "In December 2024, Alofisel was withdrawn from the EU market." in body
    assert "whether it is available depends on the country and the regulator" not in body
    assert EMA_ALOFISEL in reading(crohns)


@pytest.mark.parametrize("slug", [RA, IMMUNOSUPPRESSANTS])
def test_methotrexate_is_taken_once_a_week_with_folic_acid(shipped_content, slug):
    text = article(slug)
    body = flat(text.body)

    assert "taken once a week, not every day" in body
    assert "folic acid" in body
    assert "Taking methotrexate every day by mistake is a known and serious error" in body
    assert "fatal" in body
    assert MHRA_METHOTREXATE in reading(text)


def test_every_own_article_naming_methotrexate_says_it_is_weekly(shipped_content):
    naming = Article.objects.filter(source_name="", body__icontains="methotrexate")

    assert naming.count() >= 5
    for text in naming:
        assert "once a week" in text.body, text.slug
        for sentence in re.split(r"(?<=[.!?])\s+", flat(text.body)):
            if re.search(r"\bdaily\b|\bevery day\b", sentence) and "ethotrexate" in sentence:
                assert re.search(r"\bnot every day\b|\bby mistake\b", sentence), sentence


@pytest.mark.parametrize("slug", [MS, CROHNS])
def test_the_ms_and_crohns_articles_name_the_small_risk_of_death_from_hsct(shipped_content, slug):
    text = article(slug)

    assert "There is also a small risk of dying from the treatment" in flat(text.body)
    assert EBMT_PATIENTS in reading(text)


@pytest.mark.parametrize("slug", [HSCT_GUIDE, SCLERODERMA])
def test_the_transplant_articles_keep_the_risk_of_death(shipped_content, slug):
    assert re.search(r"\b(death|die|dying)\b", article(slug).body), slug


@pytest.mark.parametrize("slug", [DIABETES, CROHNS, MS, RA, IMMUNOSUPPRESSANTS, SCLERODERMA])
def test_each_corrected_article_says_in_one_sentence_what_changed(shipped_content, slug):
    note = article(slug).update_note

    assert note and note == note.strip(), slug
    assert note.endswith(".") and "\n" not in note, slug
    assert len(re.findall(r"[.!?](?:\s|$)", note)) == 1, f"one sentence: {note}"


def test_every_source_added_for_a_correction_is_a_specific_page(shipped_content):
    for url in [NEJM_ISLETS, EMA_ALOFISEL, MHRA_METHOTREXATE, EBMT_PATIENTS]:
        assert re.match(r"https://[^/]+/.+/", url + "/"), url
        assert url.count("/") >= 4, f"a page, not a home page: {url}"
