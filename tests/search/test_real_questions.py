"""The real-question suite (issue 19): readers' own questions, answered by the results page.

Every question of `tests.search.real_questions` is asked through the results page's own
path (`ArticleFilter.forgiving` then `build_listing`, as `ArticleListView` does), on
Whoosh and on PostgreSQL (test_relevance.py's `library` fixture), over
the shipped content. Whatever the page adds to a query (synonyms today, the editors'
vocabulary once `library.listing` passes it) is measured with it.

The floors below are what the search achieved on main when the suite was added, rounded
down: the suite guards against regression, and the floors go up as ranking improves.
`python -m tests.search.relevance_report` prints every question's ranking beside an
SQLite FTS5 baseline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.search.real_questions import QUESTIONS
from tests.search.relevance_report import describe_misses, rankings, score, site_ranking
from tests.search.test_relevance import (  # noqa: F401 (the fixtures: the same engines, the same content)
    PATIENTS_ASKED,
    library,
    search_backend,
)
from tests.search.test_relevance import QUESTIONS as TIDY_QUESTIONS

# Floors per engine: (first result answers it, a graded article in the top 3, MRR of the
# first answer). Issue 19's targets: 0.80 first result, 0.95 top 3.
FLOORS = {
    # Raised with the answer stage (search/answering.py), from 0.48/0.79/0.55 and
    # 0.44/0.79/0.54; then with topics kept when relaxing, titles naming a topic by
    # name, specific articles and idf-weighted coverage (README "Real questions"),
    # from 0.56/0.79/0.60 and 0.52/0.79/0.59; then with aspect words in titles and
    # headings and readers' everyday words (README "Real questions"), from 0.68/0.93/0.75
    # and 0.70/0.93/0.75; then with intents' tags loaded as the site loads them and a
    # title naming what a question asks of its topic, from 0.75/0.93/0.79 and
    # 0.74/0.95/0.78; then with "how does it work?" stating no intent, a title stating
    # the question's intent and a question matched by its intent (README "Real
    # questions", relev6), from 0.77/0.93/0.80 and 0.75/0.95/0.79.
    "whoosh": (0.80, 0.96, 0.83),
    "postgres": (0.79, 0.96, 0.82),
}

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "articles.json"


@pytest.mark.usefixtures("library")
def test_real_questions_find_their_answers_at_least_as_well_as_before(request):
    engine = request.node.callspec.params["search_backend"]
    first, top3, mrr = FLOORS[engine]
    scores = score(rankings(site_ranking))
    report = (
        f"{engine}: first result answers {scores.first_answers:.3f} (floor {first}), "
        f"graded in top 3 {scores.top3_graded:.3f} (floor {top3}), "
        f"MRR {scores.mrr:.3f} (floor {mrr}); misses:\n{describe_misses(scores)}"
    )
    assert scores.first_answers >= first, report
    assert scores.top3_graded >= top3, report
    assert scores.mrr >= mrr, report


# --- The data itself ---------------------------------------------------------------------


def _normalised(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def test_the_suite_has_at_least_sixty_questions():
    assert len(QUESTIONS) >= 60


def test_every_question_names_the_public_page_it_was_copied_from():
    for question in QUESTIONS:
        address = urlsplit(question.source_url)
        assert address.scheme in ("http", "https") and address.netloc, question.source_url
        assert question.site.strip(), question.text


def test_every_graded_article_is_a_shipped_article():
    shipped = {row["fields"]["slug"] for row in json.loads(SHIPPED.read_text())}
    for question in QUESTIONS:
        assert set(question.grades) <= shipped, (question.text, set(question.grades) - shipped)
        assert set(question.grades.values()) <= {1, 2}, question.text


def test_no_question_is_asked_twice_here_or_in_the_earlier_suite():
    texts = [_normalised(question.text) for question in QUESTIONS]
    assert len(texts) == len(set(texts))
    earlier = {
        _normalised(getattr(entry, "values", entry)[0])  # a pytest.param or a plain tuple
        for entry in [*TIDY_QUESTIONS, *PATIENTS_ASKED]
    }
    assert not set(texts) & earlier


def test_some_questions_have_no_answer_in_the_library():
    unanswerable = [question for question in QUESTIONS if not question.answerable]
    assert len(unanswerable) >= 6
    assert len(QUESTIONS) - len(unanswerable) >= 50
