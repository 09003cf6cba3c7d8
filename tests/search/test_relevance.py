"""Relevance over the shipped content: readers' questions in their own words, and the
precision of keyword searches that must not regress.

Engine-neutral: every test talks to the search contract (`SearchBackend.search` with
`SearchQuery`) through the `search_backend` fixture, which runs each test on Whoosh and
on PostgreSQL (in `make test`'s PostgreSQL pass; deselected on SQLite). The questions
and their expected articles were written before the search was tuned for them.
"""

from __future__ import annotations

import re

import pytest

from search.backends import reset_backends
from search.backends.base import SearchQuery
from search.documents import iter_documents
from search.synonyms import synonym_groups
from tests.conftest import make_article, make_disease
from tests.search.engines import POSTGRES, engine_backend
from tests.search.real_questions import (  # the shipped slugs, named once
    ANTI_INFLAMMATORY,
    ASK,
    CAR_T,
    CHILDREN,
    CLINICS,
    CORD_BLOOD,
    COSTS,
    CROHNS,
    DIABETES,
    FERTILITY,
    GBS,
    HSCT,
    IMMUNOSUPPRESSANTS,
    LIFE_AFTER,
    LUPUS,
    MS,
    MSC,
    NOT_LISTED,
    OVERVIEW,
    PSORIASIS,
    RA,
    RECOVERY,
    REGULATION,
    REMISSION,
    SCLERODERMA,
    TRIALS,
)

RELEVANCE_BACKENDS = ["whoosh", pytest.param("postgres", marks=POSTGRES)]

# (question as a reader types it, the article it should find, found within this rank)
QUESTIONS = [
    ("is stem cell treatment safe for lupus", LUPUS, 3),
    ("can stem cells cure my daughter's lupus", LUPUS, 3),
    (
        "my daughter is 16 and has had lupus for three years, her kidneys are affected "
        "and the doctors talk about stronger medicines, are there any stem cell "
        "treatments that could help her kidney problems or is that just hype",
        LUPUS,
        3,
    ),
    ("cure for lupus", LUPUS, 3),
    ("how much does stem cell treatment cost", OVERVIEW, 3),
    ("is it safe to go abroad for stem cell treatment", CLINICS, 3),
    ("how do I know if a stem cell clinic is legit", CLINICS, 3),
    ("what are the side effects of a stem cell transplant", HSCT, 3),
    ("how long does recovery take after HSCT", HSCT, 3),
    ("can MS be stopped with a stem cell transplant", MS, 3),
    ("stem cells for multiple sclerosis", MS, 1),
    ("my husband has MS, would stem cells help him", MS, 3),
    ("does stem cell therapy work for rheumatoid arthritis", RA, 3),
    ("stem cell injections for arthritis in my knees", RA, 3),
    ("can stem cells help the psoriasis on my skin", PSORIASIS, 3),
    ("is there a stem cell cure for type 1 diabetes so my son can stop insulin", DIABETES, 3),
    ("can my child stop insulin injections", DIABETES, 3),
    ("stem cells for crohns fistula", CROHNS, 3),
    ("what is guillain barre and is it treated with stem cells", GBS, 3),
    ("tingling and weakness in my feet after an infection", GBS, 3),
    ("scleroderma hardening of the skin stem cell transplant", SCLERODERMA, 3),
    ("should we save our baby's cord blood", CORD_BLOOD, 3),
    ("what is the difference between cord blood and cord tissue", CORD_BLOOD, 3),
    ("what are mesenchymal stem cells", MSC, 3),
    ("how are MSCs given to patients", MSC, 3),
    ("what are the side effects of immunosuppressants", IMMUNOSUPPRESSANTS, 3),
    ("is it dangerous to stop taking methotrexate suddenly", IMMUNOSUPPRESSANTS, 3),
    ("can I take ibuprofen if I have crohns", ANTI_INFLAMMATORY, 3),
    ("what do steroids do to your bones", ANTI_INFLAMMATORY, 3),
    ("prednisolone weight gain", ANTI_INFLAMMATORY, 1),
    ("what questions should I ask before stem cell treatment", CLINICS, 3),
    ("do I have to pay to join a stem cell trial", COSTS, 3),
    # The articles answering the questions readers ask most (issue 13).
    ("how do I find a clinical trial near me", TRIALS, 3),
    ("how can I tell if a trial is legitimate", TRIALS, 3),
    ("what should I ask my doctor about stem cell treatment", ASK, 1),
    ("how long is recovery after an autologous stem cell transplant", RECOVERY, 3),
    ("what happens during HSCT", HSCT, 3),
    ("what is CAR T cell therapy for lupus", CAR_T, 1),
    ("will insurance pay for stem cell treatment abroad", COSTS, 1),
    ("what does FDA approved mean for stem cells", REGULATION, 1),
    pytest.param(
        "which autoimmune diseases can stem cells treat",
        OVERVIEW,
        3,
        marks=pytest.mark.xfail(
            reason="ranked 4th: articles saying 'treatment' often outscore the overview's title",
            strict=True,
        ),
    ),
    ("what happens during a bone marrow transplant for autoimmune disease", HSCT, 3),
    ("lupis stem cell", LUPUS, 3),
    ("why isn't stem cell therapy used for guillain barre syndrome", GBS, 3),
]


# Issue 20's new articles, each found by a question a patient really asked, copied word
# for word from the public page named beside it: (question, article, within, source).
PATIENTS_ASKED = [
    (
        "I get told on a pretty regular basis that the goal of treatment is to put my SLE "
        "into remission, but I've always had a hard time figuring out what remission is "
        "supposed to look and feel like.",
        REMISSION,
        3,
        "https://redlib.vhack.eu/r/lupus/comments/1jw8ars/defining_remission/mmngdat/?context=3",
    ),
    (
        "How long before I know if the transplant was successful?",
        REMISSION,
        3,
        "http://www.webmd.com/cancer/stem-cell-transplant-12/questions-for-doctor?page=2",
    ),
    (
        "Should your child participate in a clinical study?",
        CHILDREN,
        3,
        "http://nih.gov/health/clinicaltrials/parentsandchildren/index.htm",
    ),
    (
        "When can I try to get pregnant after a stem cell transplant?",
        FERTILITY,
        3,
        "https://anthonynolan.org/patients-and-families/preparing-a-stem-cell-transplant/"
        "fertility-after-a-stem-cell-transplant",
    ),
    (
        "Does having a stem cell transplant affect fertility?",
        FERTILITY,
        3,
        "https://anthonynolan.org/patients-and-families/preparing-a-stem-cell-transplant/"
        "fertility-after-a-stem-cell-transplant",
    ),
    (
        "How soon after a stem cell transplant can you return to work? Will I need to take a "
        "leave of absence during the complete work up as well as transplant and average time "
        "off?",
        LIFE_AFTER,
        3,
        "https://cancercare.org/questions/313",
    ),
    (
        "Who Treats CIDP with HSCT?",
        NOT_LISTED,
        3,
        "http://mycidp.blogspot.com/2014/05/update-43-hsct-is-cure-for-cidp-facts-1.html",
    ),
]

# Names readers type that are aliases of a term (issue 20): the term's main article near the
# top. (PostgreSQL puts the overview, filed under immunosuppressants, above the
# immunosuppressants article for cyclosporine: both are about the term.)
ALIASES_FIND_THEIR_ARTICLE = [
    ("prednisone", ANTI_INFLAMMATORY, 1),
    ("RRMS", MS, 1),
    ("relapsing-remitting MS", MS, 1),
    ("cyclosporine", IMMUNOSUPPRESSANTS, 2),
    ("ciclosporin", IMMUNOSUPPRESSANTS, 2),
]


# Questions ts_rank orders differently from BM25F (strict xfail on PostgreSQL only).
# ("lupis stem cell" was one until the plain-language lupus article, issue 20, ranked 3rd.)
POSTGRES_RANKS_DIFFERENTLY: dict[str, str] = {}


@pytest.fixture(params=RELEVANCE_BACKENDS)
def search_backend(request, settings, search_index_dir):
    """The backend under test, with an empty index of its own."""
    yield engine_backend(request, settings, search_index_dir)
    reset_backends()


@pytest.fixture
def library(search_backend, shipped_content):
    """The shipped content indexed into the backend under test."""
    search_backend.rebuild(iter_documents())
    return search_backend


def search(backend, text: str, **kwargs):
    kwargs.setdefault("per_page", 100)
    return backend.search(SearchQuery(text=text, synonyms=synonym_groups(), **kwargs))


def slugs(backend, text: str, **kwargs) -> list[str]:
    return [hit.slug for hit in search(backend, text, **kwargs).hits]


def containing(pattern: str) -> set[str]:
    """Slugs of published articles whose searchable text matches `pattern` (a regex)."""
    found = set()
    regex = re.compile(pattern, re.IGNORECASE)
    for doc in iter_documents():
        text = "\n".join([doc.title, doc.summary, doc.body, *doc.taxonomy, *doc.tag_names])
        if regex.search(text):
            found.add(doc.slug)
    return found


# --- Questions in readers' words ----------------------------------------------------


@pytest.mark.parametrize(("question", "expected", "within"), QUESTIONS, ids=lambda v: str(v)[:40])
def test_a_question_finds_its_article(request, library, question, expected, within):
    reason = POSTGRES_RANKS_DIFFERENTLY.get(question)
    if reason and request.node.callspec.params["search_backend"] == "postgres":
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    found = slugs(library, question)
    assert expected in found[:within], f"{question!r}: got {found[:5]}"


@pytest.mark.parametrize(
    ("question", "expected", "within", "source"), PATIENTS_ASKED, ids=lambda v: str(v)[:40]
)
def test_each_new_article_answers_a_question_patients_asked(
    library, question, expected, within, source
):
    found = slugs(library, question)
    assert expected in found[:within], f"{question!r} (asked at {source}): got {found[:5]}"


def test_every_new_article_has_a_patients_question():
    new = {REMISSION, CHILDREN, FERTILITY, LIFE_AFTER, NOT_LISTED}
    assert {expected for _, expected, _, _ in PATIENTS_ASKED} == new
    assert all(source.startswith(("http://", "https://")) for *_, source in PATIENTS_ASKED)


@pytest.mark.parametrize(("alias", "expected", "within"), ALIASES_FIND_THEIR_ARTICLE)
def test_a_new_alias_finds_its_terms_article(library, alias, expected, within):
    found = slugs(library, alias)
    assert expected in found[:within], found[:5]


def test_there_are_at_least_thirty_questions():
    assert len(QUESTIONS) >= 30


def test_question_words_are_never_required(library):
    plain = search(library, "lupus")
    asked = search(library, "what is lupus")
    assert [h.slug for h in asked.hits] == [h.slug for h in plain.hits]
    assert asked.match == "all"


def test_a_question_reports_what_it_did_not_find(library):
    page = search(library, "my husband has MS, would stem cells help him")
    assert page.match == "most"
    assert "husband" in page.not_found
    assert page.hits, "the words that were found still find articles"


def test_synonym_expansion_is_reported(library):
    page = search(library, "MS")
    assert "Multiple sclerosis" in page.expanded["ms"]
    assert page.hits[0].slug == MS


def test_a_quoted_word_is_searched_exactly(library):
    exact = set(slugs(library, '"MS"'))
    assert exact == containing(r"\bMS\b")
    assert search(library, '"MS"').expanded == {}


# --- Keyword precision that must not regress ---------------------------------------


@pytest.mark.parametrize(
    ("word", "pattern"),
    [
        ("lupus", r"\blupus"),
        ("fistula", r"\bfistula"),
        ("methotrexate", r"\bmethotrexate"),
        ("insulin", r"\binsulin"),
        ("apheresis", r"\bapheresis"),
    ],
)
def test_a_single_keyword_finds_exactly_the_articles_that_use_it(library, word, pattern):
    page = search(library, word)
    assert page.match == "all"
    assert {hit.slug for hit in page.hits} == containing(pattern)
    assert page.total == len(containing(pattern))


def test_every_word_of_a_keyword_query_is_required_when_enough_articles_match(library):
    page = search(library, "kidney infection")
    expected = containing(r"\bkidney") & containing(r"\binfection")
    assert len(expected) >= 3
    assert page.match == "all"
    assert {hit.slug for hit in page.hits} == expected


def test_a_phrase_keeps_its_exact_meaning(library):
    found = set(slugs(library, '"cord blood"'))
    assert found == containing(r"\bcord blood\b")
    assert MS not in found  # it only mentions the spinal cord and blood tests


def test_a_phrase_stays_required_in_a_question(library):
    found = set(slugs(library, 'what about "cord blood" for my husband'))
    assert found and found <= containing(r"\bcord blood\b")


def test_an_exclusion_keeps_its_exact_meaning_in_every_mode(library):
    assert set(slugs(library, "lupus -kidneys")) == containing(r"\blupus") - containing(r"\bkidney")
    question = set(slugs(library, "can stem cells help my lupus husband -kidneys"))
    assert question and not question & containing(r"\bkidney")


def test_or_keeps_its_meaning(library):
    found = set(slugs(library, "psoriasis OR scleroderma"))
    assert found == containing(r"\bpsoria") | containing(r"\bscleroderma|systemic sclerosis")


def test_facet_counts_are_exact(library):
    page = search(library, "stem cell", diseases=("lupus",))
    found = {hit.slug for hit in page.hits}
    lupus = {doc.slug for doc in iter_documents() if "lupus" in doc.diseases}
    assert found == lupus & containing(r"\bstem") & containing(r"\bcell")
    assert page.total == len(found)
    counts = {facet.value: facet.count for facet in page.facets["therapy"]}
    for doc_therapy in ("hsct", "mesenchymal-stem-cell-therapy"):
        expected = sum(
            1 for doc in iter_documents() if doc.slug in found and doc_therapy in doc.therapies
        )
        assert counts.get(doc_therapy, 0) == expected


# --- Snippets a reader can trust -----------------------------------------------------


def highlights(backend, text: str) -> list[str]:
    return [hit.highlight for hit in search(backend, text).hits]


def test_a_multi_word_alias_is_highlighted_whole_never_word_by_word(library):
    for snippet in highlights(library, "nsaids"):
        assert "<mark>inflammatory</mark>" not in snippet
        assert "<mark>bowel</mark>" not in snippet
    assert any("<mark>NSAIDs</mark>" in snippet for snippet in highlights(library, "nsaids"))
    crohns = highlights(library, "crohns")
    assert all("<mark>disease" not in snippet for snippet in crohns)
    assert any(
        "<mark>Crohn’s disease</mark>" in s or "<mark>Crohn's disease</mark>" in s for s in crohns
    )


def test_the_snippet_is_the_passage_with_the_most_query_terms(library):
    page = search(library, "cure for lupus")
    snippet = next(hit.highlight for hit in page.hits if hit.slug == LUPUS)
    assert "<mark>cures</mark>" in snippet and "<mark>lupus</mark>" in snippet


def test_snippets_keep_the_texts_own_spacing(library):
    (snippet,) = [h.highlight for h in search(library, "tacrolimus").hits]
    assert "<mark>tacrolimus</mark>, which" in snippet
    assert " ," not in snippet
    snippet = next(
        h.highlight
        for h in search(library, "cyclophosphamide").hits
        if h.slug == IMMUNOSUPPRESSANTS
    )
    assert "T cells.\n" in snippet or "T cells. " in snippet


def test_a_long_question_is_shortened_keeping_its_meaningful_words(library):
    question = (
        "hello, I am writing because my daughter who is 16 has had lupus for three years and "
        "now her kidneys are affected and the doctors at the hospital talk about stronger "
        "medicines and I would like to know whether there are any stem cell treatments that "
        "could help her kidney problems or whether that is just hype that I read online"
    )
    page = search(library, question)
    assert page.shortened
    assert LUPUS in [hit.slug for hit in page.hits[:3]]
    assert not search(library, "is stem cell treatment safe for lupus").shortened


# --- Small made-up libraries for rules the shipped content cannot show -------------


@pytest.fixture
def tiny(search_backend, db):
    def build(*bodies: str, drafts: tuple[str, ...] = ()):
        articles = [make_article(f"Article {n}", body=body) for n, body in enumerate(bodies)]
        for body in drafts:
            make_article("Draft", slug=f"draft-{len(body)}", body=body, status="draft")
        search_backend.rebuild(iter_documents())
        return [a.slug for a in articles]

    return build


def test_articles_matching_more_words_always_rank_above_fewer(search_backend, tiny):
    three, two, one = tiny(
        "alpha beta gamma once.",
        "alpha alpha alpha beta beta beta, many times alpha beta.",
        "alpha " * 30,
    )
    page = search(search_backend, "alpha beta gamma delta")
    assert [hit.slug for hit in page.hits] == [three, two, one]
    assert page.match == "most"
    assert page.not_found == ["delta"]


def test_drafts_are_never_found_in_any_mode(search_backend, tiny):
    tiny("alpha beta", drafts=("alpha beta gamma delta", "zulu"))
    assert [h.slug for h in search(search_backend, "alpha beta gamma delta").hits] != []
    assert all(
        not h.slug.startswith("draft")
        for h in search(search_backend, "alpha beta gamma delta").hits
    )
    assert search(search_backend, "zulu").hits == []


def test_an_abbreviation_alias_matches_as_a_whole_unstemmed_word(search_backend, db):
    gbs = make_disease("Guillain-Barré syndrome", slug="gbs", aliases="GBS")
    ra = make_disease("Rheumatoid arthritis", slug="ra", aliases="RA")
    about_gbs = make_article("Nerves", body="GBS is treated in hospital.", diseases=[gbs])
    storage = make_article("Storage", body="Each scan needs about 2 GB of disk space.")
    gene = make_article("Genes", body="Mutations of the RAS gene family are common.")
    about_ra = make_article("Joints", body="RA affects joints.", diseases=[ra])
    search_backend.rebuild(iter_documents())
    found_gbs = set(slugs(search_backend, "GBS"))
    assert about_gbs.slug in found_gbs and storage.slug not in found_gbs
    assert set(slugs(search_backend, "gbs")) == found_gbs
    found_ra = set(slugs(search_backend, "ra"))
    assert about_ra.slug in found_ra and gene.slug not in found_ra
