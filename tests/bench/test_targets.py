"""The bench driver's issue-14 verdicts and the merge of its two search processes.

Pure functions over summaries shaped like `analyse()`'s output: no corpus is built.
"""

from __future__ import annotations

from tests.bench import run


def _summary(page_p95: float, fts5_p95: float) -> dict:
    return {"search": {"page": {"p95": page_p95}, "fts5": {"p95": fts5_p95}}}


def _verdicts(analysed: dict) -> dict[tuple[str, int], str]:
    return {(c["target"], c["size"]): c["result"] for c in run.growth_targets(analysed)}


def test_search_cost_targets_compare_the_page_with_fts5_and_with_its_own_10000_figure():
    verdicts = _verdicts({10000: _summary(0.040, 0.080), 50000: _summary(0.075, 0.300)})
    assert verdicts == {
        ("search page p95 <= 0.6x SQLite FTS5 p95", 10000): "PASS",  # 0.5x
        ("search page p95 <= SQLite FTS5 p95", 50000): "PASS",  # 0.25x
        ("search page p95 at 50,000 <= 2x its p95 at 10,000", 50000): "PASS",  # 1.9x
    }
    verdicts = _verdicts({10000: _summary(0.065, 0.073), 50000: _summary(0.267, 0.354)})
    assert verdicts[("search page p95 <= 0.6x SQLite FTS5 p95", 10000)] == "MISS"
    assert verdicts[("search page p95 <= SQLite FTS5 p95", 50000)] == "PASS"
    assert verdicts[("search page p95 at 50,000 <= 2x its p95 at 10,000", 50000)] == "MISS"


def test_without_50000_only_the_10000_search_target_is_checked():
    checks = run.growth_targets({10000: _summary(0.040, 0.080)})
    assert [(c["target"], c["result"]) for c in checks] == [
        ("search page p95 <= 0.6x SQLite FTS5 p95", "PASS")
    ]
    assert run.growth_targets({1000: _summary(0.040, 0.080)})[0]["result"] == "n/a"


class _Corpus:
    """Stands in for `run.Corpus`: answers the search task as the worker would."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def worker(self, task: str, env=None, **kwargs) -> dict:
        self.calls.append(kwargs)
        site = kwargs["site"][0]
        return {
            "queries": {
                "lupus": {
                    "kind": "rare word",
                    "times": {site: [0.02 if site == "page" else 0.01]}
                    | ({"fts5": [0.03]} if kwargs["naive_path"] else {}),
                    "cpu_times": {site: [0.019 if site == "page" else 0.009]},
                    **({"api_count": 7} if site == "api" else {"page_sql_queries": 9}),
                }
            },
            "site_error": None,
        }


def test_the_page_and_the_api_run_in_separate_processes_and_merge_into_one_result():
    corpus = _Corpus()
    merged = run.search_both(
        corpus, queries=[], reps=1, baseline_reps=1, budget=0, naive_path="naive", fts_path="fts"
    )
    page_call, api_call = corpus.calls
    assert page_call["site"] == ["page"] and page_call["naive_path"] == "naive"
    assert api_call["site"] == ["api"] and api_call["naive_path"] == ""  # no baselines twice
    lupus = merged["queries"]["lupus"]
    assert lupus["times"] == {"page": [0.02], "fts5": [0.03], "api": [0.01]}
    assert lupus["cpu_times"] == {"page": [0.019], "api": [0.009]}
    assert lupus["api_count"] == 7 and lupus["page_sql_queries"] == 9


def _issue_18(whoosh: float, postgres: float, plain: float) -> dict[str, str]:
    analysed = {
        10000: {
            "search": {"page": {"p95": whoosh}, "naive_full": {"p95": 1.0}},
            "search_cpu": {"page": {"p95": whoosh}, "naive_full": {"p95": 1.0}},
            "postgres": {
                "search": {"page": {"p95": postgres}, "plain_pg": {"p95": plain}},
                "search_cpu": {"page": {"p95": postgres}},
            },
        }
    }
    return {
        c["target"]: c["result"]
        for c in run.targets_at(analysed, 10000)
        if "issue 18" in c["target"]
    }


def test_postgresql_page_is_checked_against_twice_whoosh_and_the_plain_postgresql_query():
    assert _issue_18(whoosh=0.040, postgres=0.070, plain=0.090) == {
        "PostgreSQL results page p95 <= 2x Whoosh results page p95 (issue 18)": "PASS",
        "PostgreSQL results page p95 <= plain PostgreSQL full-text query p95 (issue 18)": "PASS",
    }
    assert set(_issue_18(whoosh=0.040, postgres=0.090, plain=0.080).values()) == {"MISS"}


def test_the_plain_postgresql_query_runs_only_in_the_pages_process():
    corpus = _Corpus()
    run.search_both(
        corpus, queries=[], reps=1, baseline_reps=0, budget=0, naive_path="", fts_path="",
        plain_pg=True,
    )  # fmt: skip
    page_call, api_call = corpus.calls
    assert page_call["plain_pg"] is True and api_call["plain_pg"] is False


def _postgres_writes(save_p95: float, load_seconds: float) -> dict:
    seconds = {"median": load_seconds, "p95": load_seconds}
    return {
        "postgres": {
            "incremental": {"save_to_searchable": {"p95": save_p95}},
            "loaddata": {"articles": 1000, "seconds": seconds, "cpu_seconds": seconds},
        }
    }


def test_postgres_write_targets_are_its_save_p95_and_its_loaddata_rate():
    def verdicts(analysed: dict) -> dict[str, str]:
        checks = run.targets_at(analysed, 10000)
        return {c["target"]: c["result"] for c in checks if c["target"].startswith("PostgreSQL")}

    assert verdicts({10000: _postgres_writes(0.090, 8.0)}) == {
        "PostgreSQL save searchable within 150 ms (p95)": "PASS",
        "PostgreSQL loaddata 1,000 articles + indexing >= 100 articles/s": "PASS",  # 125/s
    }
    assert set(verdicts({10000: _postgres_writes(0.200, 12.5)}).values()) == {"MISS"}  # 80/s


def test_the_large_load_passes_only_when_both_servers_loaded_it_in_step():
    from tests.bench import pg_load

    loaded = {"loaddata": {"articles": 50000, "published": 48500}, "check_index": "in sync"}
    result = {
        "size": 50000,
        "runs": {
            "postgres default": loaded,
            "postgres max_connections=10": {"error": "loaddata exited 1:\nout of shared memory"},
        },
    }
    checks = pg_load.targets(result)
    assert [(c["target"], c["result"]) for c in checks] == [
        ("a 50,000-article fixture loads in one run on postgres default", "PASS"),
        ("a 50,000-article fixture loads in one run on postgres max_connections=10", "MISS"),
    ]
    assert checks[1]["detail"] == "out of shared memory"
