"""The reader query language: what each construct means, lenient reading of anything
malformed, and (with hypothesis) that no string can make parsing unbounded or make a
search raise.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.backends.base import SearchDocument, SearchPage, SearchQuery
from search.backends.query import (
    MAX_CLAUSES,
    MAX_COMPILED_TERMS,
    MAX_PHRASE_WORDS,
    MAX_QUERY_CHARS,
    Clause,
    ParsedQuery,
    compile_query,
    parse_query,
    split_hyphens,
)
from search.backends.whoosh import WhooshBackend
from search.backends.whoosh_analysis import analyse

SYNONYMS = (
    ("Multiple sclerosis", "MS", "disseminated sclerosis"),
    ("Hematopoietic stem cell transplantation", "HSCT", "bone marrow transplant"),
    ("Systemic sclerosis", "scleroderma", "SSc"),
)


def words(*ws: str) -> tuple[Clause, ...]:
    return tuple(Clause((w,)) for w in ws)


def test_plain_words_are_each_required():
    assert parse_query("stem  cell lupus") == ParsedQuery(
        required=((Clause(("stem",)),), (Clause(("cell",)),), (Clause(("lupus",)),))
    )


def test_quoted_phrases_exclusions_and_or():
    parsed = parse_query('"cord blood" lupus OR psoriasis -steroids -"bone marrow" NOT diet')
    assert parsed.required == (
        (Clause(("cord", "blood"), phrase=True, quoted=True),),
        (Clause(("lupus",)), Clause(("psoriasis",))),
    )
    assert parsed.excluded == (
        Clause(("steroids",)),
        Clause(("bone", "marrow"), phrase=True, quoted=True),
        Clause(("diet",)),
    )


def test_typographic_quotes_make_phrases():
    expected = ((Clause(("cord", "blood"), phrase=True, quoted=True),),)
    assert parse_query("\u201ccord blood\u201d").required == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"cord blood', ParsedQuery(required=tuple((c,) for c in words("cord", "blood")))),
        ("lupus OR", ParsedQuery(required=((Clause(("lupus",)),),))),
        ("OR lupus", ParsedQuery(required=((Clause(("lupus",)),),))),
        ("lupus - -", ParsedQuery(required=((Clause(("lupus",)),),))),
        ("lupus NOT", ParsedQuery(required=((Clause(("lupus",)),),))),
        ("title:lupus", ParsedQuery(required=tuple((c,) for c in words("title", "lupus")))),
        ("lup* ?upus *", ParsedQuery(required=tuple((c,) for c in words("lup", "upus")))),
        ("((lupus))", ParsedQuery(required=((Clause(("lupus",)),),))),
        ("lu\x00pus\x1b", ParsedQuery(required=tuple((c,) for c in words("lu", "pus")))),
        ('""', ParsedQuery()),
        ("*", ParsedQuery()),
        ("", ParsedQuery()),
    ],
)
def test_malformed_input_is_read_leniently(text, expected):
    assert parse_query(text) == expected


def test_hyphenated_words_stay_whole():
    assert parse_query("Guillain-Barré").required == ((Clause(("Guillain-Barré",)),),)


def test_an_unheld_hyphenated_word_splits_into_its_parts_and_nothing_else_does():
    parsed = parse_query('insulin-independence long-term "self-injecting" -non-myeloablative')
    split = split_hyphens(parsed, {"insulin-independence"})

    assert split.required == (
        *((clause,) for clause in words("insulin", "independence")),
        (Clause(("long-term",)),),
        (Clause(("self-injecting",), quoted=True),),
    )
    assert split.excluded == (Clause(("non-myeloablative",)),)
    assert split_hyphens(parse_query("lupus OR follow-up"), {"follow-up"}) == parse_query(
        "lupus OR follow-up"
    )


def test_input_is_capped():
    parsed = parse_query("word " * 5_000)
    assert len(parsed.required) == 1  # a repeated word is one condition
    parsed = parse_query(" ".join(f"w{n}" for n in range(1_000)))
    assert len(parsed.required) == MAX_CLAUSES
    assert len(parse_query("x" * 20_000).required[0][0].words[0]) <= MAX_QUERY_CHARS
    long_phrase = parse_query('"' + " ".join(f"w{n}" for n in range(50)) + '"')
    assert len(long_phrase.required[0][0].words) == MAX_PHRASE_WORDS


def test_render_swaps_words_for_a_suggestion():
    parsed = parse_query('"stem cells" lupis -steroids')
    assert parsed.render({"lupis": "lupus"}) == '"stem cells" lupus -steroids'


# --- Compiling: analysis and synonyms -----------------------------------------------


def test_compile_expands_synonyms_longest_run_first():
    compiled = compile_query(parse_query("multiple sclerosis stem"), analyse, SYNONYMS)
    first, second = compiled.required
    assert first.alternatives == (
        analyse("multiple sclerosis"),
        ("ms",),
        analyse("disseminated sclerosis"),
    )
    assert first.source == ("multiple", "sclerosis")
    assert first.loose == (analyse("multiple sclerosis"),)  # the words, anywhere
    assert second.alternatives == (("stem",),)


def test_compile_expands_an_or_alternative_and_exclusions_but_not_quotes():
    compiled = compile_query(parse_query("HSCT OR zzz -MS"), analyse, SYNONYMS)
    assert ("bone", "marrow", "transplant") in compiled.required[0].alternatives
    assert ("multipl", "sclerosi") in compiled.excluded[0].alternatives
    quoted = compile_query(parse_query('"bone marrow transplant" "MS"'), analyse, SYNONYMS)
    assert [u.alternatives for u in quoted.required] == [
        (("bone", "marrow", "transplant"),),
        (("ms",),),
    ]
    assert all(u.must for u in quoted.required)


def test_stop_words_drop_out():
    assert not compile_query(parse_query("the of and"), analyse)


# --- Property tests ---------------------------------------------------------------------

hostile_pieces = st.sampled_from(
    [
        '"',
        "-",
        "OR",
        "NOT",
        "AND",
        "*",
        "?",
        "(",
        ")",
        ":",
        "title:",
        "\x00",
        "\x1b",
        "\u202e",
        "lupus",
        "MS",
        "scleroderma",
        "stem",
        "cell",
        " ",
        "  ",
        '-"',
        "\u201c",
        "é",
        "’",
        "~2",
        "^3",
    ]
)
hostile_text = st.one_of(
    st.text(),
    st.lists(hostile_pieces, max_size=200).map("".join),
    st.lists(hostile_pieces, max_size=50).map(" ".join),
    st.integers(1, 30_000).map(lambda n: "NOT x " * (n // 6)),
    st.integers(1, 30_000).map(lambda n: "(" * n + "lupus" + ")" * n),
    st.integers(1, 30_000).map(lambda n: "a" * n),
)

many_synonyms = st.lists(
    st.lists(st.text(min_size=1, max_size=40), min_size=2, max_size=6).map(tuple),
    max_size=8,
).map(tuple)


@given(hostile_text)
@settings(max_examples=300, deadline=None)
def test_parsing_any_text_is_bounded(text):
    parsed = parse_query(text)
    clauses = [c for group in parsed.required for c in group] + list(parsed.excluded)
    assert len(clauses) <= MAX_CLAUSES
    assert all(len(c.words) <= MAX_PHRASE_WORDS for c in clauses)
    assert all(w.strip() for c in clauses for w in c.words)


@given(hostile_text, many_synonyms)
@settings(max_examples=300, deadline=None)
def test_compiled_queries_are_bounded_even_with_synonyms(text, synonyms):
    compiled = compile_query(parse_query(text), analyse, SYNONYMS + synonyms)
    assert compiled.term_count() <= MAX_COMPILED_TERMS


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> WhooshBackend:
    backend = WhooshBackend("hostile", {"PATH": tmp_path_factory.mktemp("hostile")})
    when = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    backend.index(
        SearchDocument(
            id=n,
            slug=f"a-{n}",
            title=title,
            summary="Stem cells and the immune system.",
            body=f"{title}. Lupus, multiple sclerosis and scleroderma in patients {n}.",
            taxonomy=("Multiple sclerosis", "MS"),
            tag_names=("Clinical trials",),
            diseases=("multiple-sclerosis",),
            therapies=(),
            tags=("clinical-trials",),
            published_on=datetime.date(2020 + n % 5, 1, 1),
            updated_at=when,
        )
        for n, title in enumerate(
            ["Stem cell basics", "Lupus and HSCT", "Guillain-Barré", "Crohn\u2019s", "Cord blood"]
        )
    )
    return backend


@given(
    text=hostile_text,
    ordering=st.sampled_from(["relevance", "-published_on", "published_on", "title", "x"]),
    page=st.integers(-5, 50),
)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_search_answers_any_query_with_a_page(small_index, text, ordering, page):
    result = small_index.search(
        SearchQuery(text=text, ordering=ordering, page=page, synonyms=SYNONYMS)
    )
    assert isinstance(result, SearchPage)
    assert 1 <= result.page <= result.num_pages
    assert all("<script" not in hit.highlight for hit in result.hits)


@given(st.text(max_size=300))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_suggest_answers_any_prefix(small_index, prefix):
    completions = small_index.suggest(prefix)
    assert isinstance(completions, list)
    assert len(completions) <= 10
