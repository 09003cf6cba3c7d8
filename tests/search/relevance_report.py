"""How well the search answers real questions: `python -m tests.search.relevance_report`.

Runs every question of `tests.search.real_questions` through the results page's own
path (`ArticleFilter.forgiving` then `build_listing`, exactly as `ArticleListView`
does, so whatever the page adds to the query, now or later, is measured too), and
prints for each question the rank of the first article that answers it and the top
three slugs, then the suite's figures:

- first answers: share of answerable questions whose first result is graded 2;
- top 3: share of answerable questions with a graded (1 or 2) article in the top 3;
- MRR: mean of 1/rank of the first graded-2 article in the page's 20 results (0 if none);
- the page's answer: how many unanswerable questions say nothing answers them
  (`answer == "none"`), and how many answerable ones do (and over a first result that
  answers).

Beside them, the same figures for an SQLite FTS5 baseline on the same texts: title,
summary and body (Porter stemming), ranked by bm25 with weights title 5, summary 2,
body 1, the question's words minus stopwords joined by OR.

Options:
    --engine whoosh|postgres  one engine, in this process (postgres needs a PostgreSQL
                              DATABASE_URL, e.g. under `python -m tests.pg_cluster`);
                              without it: Whoosh, plus PostgreSQL when DATABASE_URL is one,
                              each in a child process
    --json PATH               also write every ranking and figure to PATH

It loads the shipped content (taxonomy, articles and reader intents with their tags, as
`load_shipped_content` and the tests' `shipped_content` do) into a throw-away database
(SQLite in a temporary directory, or a new database on the PostgreSQL server that is
dropped afterwards) and never touches the site's own database or index. `tests/search/test_real_questions.py`
asserts the same figures in the test suite, with the same functions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.search.real_questions import QUESTIONS, RealQuestion

ENGINES = ("whoosh", "postgres")
DEPTH = 20  # one results page: the MRR counts an answer found on it
TOP = 3


@dataclass
class Scores:
    """The suite's figures for one ranker, with the misses behind them."""

    questions: int
    answerable: int
    first_answers: float
    top3_graded: float
    mrr: float
    misses: list[dict] = field(default_factory=list)  # first result not graded 2

    def line(self, name: str) -> str:
        return f"| {name} | {self.first_answers:.2f} | {self.top3_graded:.2f} | {self.mrr:.3f} |"


def first_answer_rank(question: RealQuestion, ranking: list[str]) -> int | None:
    """1-based rank of the first article graded 2 in `ranking`, or None."""
    for rank, slug in enumerate(ranking, start=1):
        if question.grades.get(slug) == 2:
            return rank
    return None


def score(rankings: dict[str, list[str]], questions: Iterable[RealQuestion] = QUESTIONS) -> Scores:
    """Figures over the answerable questions; `rankings` maps question text to slugs."""
    questions = list(questions)
    answerable = [q for q in questions if q.answerable]
    first = top3 = 0
    reciprocal = 0.0
    misses = []
    for question in answerable:
        ranking = rankings[question.text][:DEPTH]
        rank = first_answer_rank(question, ranking)
        if rank == 1:
            first += 1
        else:
            misses.append(
                {
                    "question": question.text,
                    "expected": sorted(question.answers),
                    "first": ranking[0] if ranking else None,
                    "first_grade": question.grades.get(ranking[0], 0) if ranking else 0,
                    "answer_rank": rank,
                }
            )
        if any(slug in question.grades for slug in ranking[:TOP]):
            top3 += 1
        reciprocal += 1 / rank if rank else 0.0
    count = len(answerable) or 1
    return Scores(
        questions=len(questions),
        answerable=len(answerable),
        first_answers=first / count,
        top3_graded=top3 / count,
        mrr=reciprocal / count,
        misses=misses,
    )


def describe_misses(scores: Scores, limit: int | None = None) -> str:
    """One line per miss: the question, what answers it, what came first."""
    lines = []
    for miss in scores.misses[:limit]:
        rank = miss["answer_rank"] or "-"
        first = f"{miss['first']} (grade {miss['first_grade']})" if miss["first"] else "nothing"
        lines.append(
            f"- {_clip(miss['question'], 90)!r}: answer at rank {rank}, expected "
            f"{', '.join(miss['expected'])}; first: {first}"
        )
    return "\n".join(lines)


# --- The site's own path ---------------------------------------------------------------


def site_ranking(text: str) -> list[str]:
    """The slugs the results page lists for `text`, in its order (first page).

    Needs Django set up, the content loaded and the index built.
    """
    return site_result(text)[0]


def site_result(text: str) -> tuple[list[str], str]:
    """`site_ranking`, with whether the page says an article answers ("found"/"none")."""
    from django.http import QueryDict

    from library.filters import ArticleFilter
    from library.listing import build_listing
    from library.models import Article

    data = QueryDict(mutable=True)
    data["q"] = text
    filterset, _dropped = ArticleFilter.forgiving(data, Article.objects.published())
    listing = build_listing(filterset, 1)
    return [item.article.slug for item in listing.items], listing.answer


def answer_counts(
    answers: dict[str, str],
    ranked: dict[str, list[str]],
    questions: Iterable[RealQuestion] = QUESTIONS,
) -> dict:
    """How many unanswerable questions get the "nothing answers this" page, how many
    answerable ones get it, and of those how many over a first result that answers."""
    questions = list(questions)
    return {
        "answering_none": [
            q.text
            for q in questions
            if answers.get(q.text) == "none"
            and ranked.get(q.text)
            and q.grades.get(ranked[q.text][0]) == 2
        ],
        "unanswerable": sum(1 for q in questions if not q.answerable),
        "unanswerable_none": sum(
            1 for q in questions if not q.answerable and answers.get(q.text) == "none"
        ),
        "answerable_none": [
            q.text for q in questions if q.answerable and answers.get(q.text) == "none"
        ],
    }


def rankings(ask: Callable[[str], list[str]]) -> dict[str, list[str]]:
    return {question.text: ask(question.text) for question in QUESTIONS}


# --- The FTS5 baseline -----------------------------------------------------------------


def fts5_ranker(documents: Iterable) -> Callable[[str], list[str]]:
    """A ranker over an in-memory FTS5 table of the documents' title, summary and body."""
    from search.backends.query import STOPWORDS

    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(slug UNINDEXED, title, summary, body, "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.executemany(
        "INSERT INTO docs VALUES (?, ?, ?, ?)",
        [(doc.slug, doc.title, doc.summary, doc.body) for doc in documents],
    )

    def ask(text: str) -> list[str]:
        words = dict.fromkeys(
            word
            for word in re.findall(r"\w+", text.casefold())
            if word not in STOPWORDS and not word.isdigit()
        )
        if not words:
            return []
        match = " OR ".join(f'"{word}"' for word in words)
        rows = db.execute(
            "SELECT slug FROM docs WHERE docs MATCH ? "
            "ORDER BY bm25(docs, 0.0, 5.0, 2.0, 1.0) LIMIT ?",
            (match, DEPTH),
        )
        return [slug for (slug,) in rows]

    return ask


# --- Running it ------------------------------------------------------------------------


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_questions(name: str, ranked: dict[str, list[str]], answers: dict[str, str]) -> None:
    print(f"\n## {name}: rank of the first answer, the page's answer, then the top {TOP}\n")
    for question in QUESTIONS:
        ranking = ranked[question.text]
        rank = first_answer_rank(question, ranking[:DEPTH])
        mark = "n/a" if not question.answerable else (str(rank) if rank else "-")
        top = ", ".join(f"{slug[:32]}({question.grades.get(slug, 0)})" for slug in ranking[:TOP])
        said = answers.get(question.text, "")
        print(f"{mark:>4} {said:5}  {_clip(question.text, 60):60}  {top or 'nothing'}")


def print_table(rows: list[tuple[str, Scores]]) -> None:
    some = rows[0][1]
    print(
        f"\n{some.questions} questions, {some.answerable} answerable "
        f"({some.questions - some.answerable} with no answer in the library)\n"
    )
    print("| | first result answers it | a graded article in the top 3 | MRR |")
    print("|---|---:|---:|---:|")
    for name, scores in rows:
        print(scores.line(name))


def _setup_django(engine: str, workdir: Path) -> Callable[[], None]:
    """Point Django at a throw-away database and index; return the clean-up."""
    cleanup = lambda: None  # noqa: E731
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stemsite.settings")
    os.environ["SEARCH_BACKEND"] = engine
    os.environ["SEARCH_INDEX_DIR"] = str(workdir / "search_index")
    os.environ["STEMSITE_VAR_DIR"] = str(workdir / "var")
    os.environ.setdefault(
        "DJANGO_SECRET_KEY", "relevance-report-only-secret-key-not-for-production-0123456789"
    )
    os.environ.setdefault("DJANGO_HTTPS", "0")
    os.environ.setdefault("SEARCH_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    if engine == "postgres":
        import psycopg

        server = os.environ.get("DATABASE_URL", "")
        if not server.startswith(("postgres://", "postgresql://")):
            sys.exit("--engine postgres needs DATABASE_URL set to a PostgreSQL server")
        name = f"relevance_report_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + name

        def cleanup() -> None:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name}")

    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'db.sqlite3'}"

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("loaddata", "taxonomy", "articles", "intents", verbosity=0)
    call_command("rebuild_index", verbosity=0)
    return cleanup


def run_engine(engine: str) -> dict:
    """Rankings and figures for one engine and for FTS5, in this process."""
    with tempfile.TemporaryDirectory(prefix="relevance-") as tmp:
        cleanup = _setup_django(engine, Path(tmp))
        try:
            from search.documents import iter_documents

            results = {question.text: site_result(question.text) for question in QUESTIONS}
            fts5 = rankings(fts5_ranker(iter_documents()))
        finally:
            cleanup()
    site = {text: slugs for text, (slugs, _answer) in results.items()}
    answers = {text: answer for text, (_slugs, answer) in results.items()}
    return {"engine": engine, "site": site, "answers": answers, "fts5": fts5}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engine", choices=ENGINES)
    parser.add_argument("--json", type=Path, help="write rankings and figures here")
    args = parser.parse_args(argv)

    if args.engine:
        runs = [run_engine(args.engine)]
    else:
        engines = ["whoosh"]
        if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
            engines.append("postgres")
        runs = []
        for engine in engines:
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                command = [sys.executable, "-m", __spec__.name, "--engine", engine]
                subprocess.run([*command, "--json", out.name], check=True, capture_output=True)
                runs.append(json.loads(Path(out.name).read_text())["runs"][0])

    table: list[tuple[str, Scores]] = []
    said = []
    for run in runs:
        print_questions(run["engine"], run["site"], run["answers"])
        table.append((f"stemsite ({run['engine']})", score(run["site"])))
        said.append((run["engine"], answer_counts(run["answers"], run["site"])))
    fts5 = score(runs[0]["fts5"])
    table.append(("FTS5, OR of the words (bm25 5/2/1)", fts5))
    print_table(table)
    for engine, counts in said:
        print(
            f"\n{engine}: {counts['unanswerable_none']} of {counts['unanswerable']} unanswerable "
            f"questions say nothing answers them; {len(counts['answerable_none'])} answerable "
            f"ones do, {len(counts['answering_none'])} of them over a first result that "
            "answers" + "".join(f"\n- {text!r}" for text in counts["answerable_none"])
        )
    for name, scores in table:
        print(f"\n### Misses, {name} ({len(scores.misses)})\n")
        print(describe_misses(scores))

    if args.json:
        args.json.write_text(
            json.dumps(
                {"runs": runs, "scores": {name: asdict(s) for name, s in table}},
                ensure_ascii=False,
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
