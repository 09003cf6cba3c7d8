"""The benchmark driver: `make bench`, or `python -m tests.bench.run`.

For each corpus size it builds a throw-away SQLite database and search index in a
temporary directory (migrate, the shipped taxonomy, `generate_articles`), then measures
in child processes (`tests.bench.worker`), each figure as a median and p95 over repeated
runs:

1. full `rebuild_index`: docs/s and peak RSS;
2. one editor-style save until the search API returns it;
3. `loaddata` of 1,000 articles in the public fixture format, indexing included;
4. the search API and the results page for the fixed query set (`queries.txt`), cold;
5. browsing `/articles/` (no filter, one disease, disease+therapy+tag, page 40) with the
   SQL query count of each;
6. baselines on the same data and queries: the floor (`/healthz/` through the same
   middleware), naive Whoosh, naive `icontains` database search and SQLite FTS5.

It prints one Markdown table with ratios against the baselines (and, over several sizes,
the growth of each figure), checks the targets of issue 4 (PASS/MISS), writes every raw
figure to a JSON file and draws the results page's p95 by size beside it as an SVG with the
same name (`tests.bench.chart`).

Environment:
    BENCH_SIZES=1000,10000   sizes to run (default 1000,10000)
    BENCH_FULL=1             also 50,000 articles
    BENCH_OUTPUT=path.json   where to write the raw figures (default var/bench/)
    BENCH_KEEP=1             keep the temporary directory (for profiling)
    BENCH_LARGE_LOAD=50000   articles in the one large fixture loaded on PostgreSQL (0: none)
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from tests import pg_cluster
from tests.bench.chart import growth_table, search_chart
from tests.bench.worker import RESULT_MARK

REPO = Path(__file__).resolve().parents[2]
QUERIES = Path(__file__).with_name("queries.txt")
SEED = 1
FIXTURE_SEED = 2  # the loaddata fixture: other slugs than the corpus
FIXTURE_SIZE = 1000

# Repetitions per size: enough for a median and a p95 that mean something, few enough
# that the default sizes finish in under ten minutes on two cores.
REPS = {
    "rebuild": {1000: 3, 10000: 2, 50000: 1},
    "naive_build": {1000: 2, 10000: 1, 50000: 1},
    "search": {1000: 3, 10000: 3, 50000: 2},
    "search_baselines": {1000: 2, 10000: 2, 50000: 1},
    "browse": {1000: 30, 10000: 30, 50000: 20},
    "incremental": {1000: 40, 10000: 40, 50000: 30},
    "loaddata": {1000: 3, 10000: 2, 50000: 2},
    "editorial": {10000: 8},  # each: 5 saves and every query, with the features on and off
}
# Seconds after which the search task stops repeating (it always completes one round).
SEARCH_BUDGET = {1000: 60, 10000: 150, 50000: 300}

TARGETS_AT = 10000
GROWTH_AT = 50000  # issue 14's targets: how search cost grows up to this size
# PostgreSQL is measured up to this size (its 50,000 setup and rebuild alone take
# longer than the rest of the full run); BENCH_POSTGRES_MAX overrides it.
POSTGRES_MAX = int(os.environ.get("BENCH_POSTGRES_MAX", "10000"))
#: Articles in the one fixture file loaded on PostgreSQL at the end of the run, on a
#: default server and on one with max_connections = 10 (`tests.bench.pg_load`; 0: not).
LARGE_LOAD = int(os.environ.get("BENCH_LARGE_LOAD", "50000"))
#: The throw-away PostgreSQL cluster of this run, if PostgreSQL is installed.
POSTGRES_URL: str | None = None


class BenchError(RuntimeError):
    pass


# --- Statistics ------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * pct / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median": percentile(values, 50),
        "p95": percentile(values, 95),
        "min": min(values) if values else None,
        "max": max(values) if values else None,
    }


# --- Child processes -------------------------------------------------------------


def reps(kind: str, size: int) -> int:
    table = REPS[kind]
    return table.get(size) or table[min(table, key=lambda known: abs(known - size))]


class Corpus:
    """The throw-away database and index of one size, and how to run things against it."""

    def __init__(self, size: int, root: Path, static_root: Path) -> None:
        self.size = size
        self.dir = root / f"n{size}"
        self.dir.mkdir(parents=True)
        self.db = self.dir / "db.sqlite3"
        self.index = self.dir / "search_index"
        self.log = self.dir / "log.txt"
        self.static_root = static_root
        self.fixture = self.dir / "fixture-1000.json"

    def env(self, db: Path | None = None, index: Path | None = None) -> dict:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"sqlite:///{db or self.db}",
            SEARCH_INDEX_DIR=str(index or self.index),
            STEMSITE_VAR_DIR=str(self.dir / "var"),
            DJANGO_SECRET_KEY="benchmark-only-secret-key-not-for-production-0123456789",
            DJANGO_HTTPS="0",
            DJANGO_DEBUG="0",
            DJANGO_ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
            DJANGO_STATIC_ROOT=str(self.static_root),
            DJANGO_LOG_LEVEL="WARNING",
            STEMSITE_API_RATE_LIMIT="0",  # the benchmark is one client asking fast
            # The bench measures the work behind a page; `make loadtest` measures the cache.
            STEMSITE_PAGE_CACHE="0",
            SEARCH_LOG_LEVEL="WARNING",
            PYTHONHASHSEED="0",
        )
        return env

    def manage(self, *args: str, env: dict | None = None) -> tuple[str, float]:
        return run_child([sys.executable, "manage.py", *args], env or self.env(), self.log)

    def worker(self, task: str, env: dict | None = None, **kwargs) -> dict:
        output, peak, peak_pss = run_child(
            [sys.executable, "-m", "tests.bench.worker", task, json.dumps(kwargs)],
            env or self.env(),
            self.log,
        )
        for line in output.splitlines():
            if line.startswith(RESULT_MARK):
                result = json.loads(line[len(RESULT_MARK) :])
                result["tree_peak_rss_mb"] = round(peak, 1)
                result["tree_peak_pss_mb"] = round(peak_pss, 1)
                return result
        raise BenchError(f"worker {task} printed no result")


def run_child(command: list[str], env: dict, log: Path) -> tuple[str, float, float]:
    """Run a child to completion; return its stdout and the peak RSS and peak PSS of its
    process tree (MB, each summed over the processes alive at one sample).

    The RSS sum counts a page shared by several processes once per process; the PSS
    sum (proportional set size) divides each shared page among its sharers, so it is
    the tree's real memory. Both are kept: RSS is what the targets were first set in.
    """
    with log.open("a") as err:
        err.write(f"\n$ {' '.join(command[1:])[:300]}\n")
        err.flush()
        process = psutil.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
        peak = [0.0, 0.0]
        done = threading.Event()

        def pss(p: psutil.Process, rss: int) -> int:
            try:
                return p.memory_full_info().pss
            except (psutil.AccessDenied, AttributeError):  # no smaps: count it whole
                return rss

        def poll() -> None:
            while not done.is_set():
                try:
                    procs = [process, *process.children(recursive=True)]
                    sizes = [(p, p.memory_info().rss) for p in procs if p.is_running()]
                    peak[0] = max(peak[0], sum(rss for _, rss in sizes) / 2**20)
                    peak[1] = max(peak[1], sum(pss(p, rss) for p, rss in sizes) / 2**20)
                except psutil.Error:
                    pass
                done.wait(0.02)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        output, _ = process.communicate()
        done.set()
        poller.join()
    if process.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-25:])
        raise BenchError(f"{' '.join(command[1:3])} exited {process.returncode}:\n{tail}")
    return output, peak[0], peak[1]


def load_queries() -> list[list[str]]:
    queries, kind = [], "query"
    for line in QUERIES.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            kind = line[1:-1]
            continue
        queries.append([kind, line])
    return queries


# --- One size ----------------------------------------------------------------------


def progress(message: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {message}", flush=True)


def bench_size(size: int, root: Path, static_root: Path, queries) -> dict:
    corpus = Corpus(size, root, static_root)
    # The load average before and after each step: other work on the machine skews
    # every figure, so the JSON keeps the evidence.
    out: dict = {"size": size, "errors": {}, "load": {}}

    def step(name: str, func):
        started = time.perf_counter()
        load_before = os.getloadavg()[0]
        try:
            out[name] = func()
            load = (load_before, os.getloadavg()[0])
            out["load"][name] = load
            progress(
                f"{size:>6} {name}: {time.perf_counter() - started:.1f} s "
                f"(load average {load[0]:.1f} -> {load[1]:.1f})"
            )
        except BenchError as exc:
            out["errors"][name] = str(exc)
            progress(f"{size:>6} {name}: FAILED\n{exc}")

    def setup():
        timings = {}
        for label, args in (
            ("migrate", ["migrate", "--no-input", "-v0"]),
            ("loaddata taxonomy", ["loaddata", "taxonomy", "-v0"]),
            ("generate_articles", ["generate_articles", "--count", str(size), "--seed", str(SEED)]),
            (
                "generate fixture",
                [
                    "generate_articles",
                    "--count",
                    str(FIXTURE_SIZE),
                    "--seed",
                    str(FIXTURE_SEED),
                    "--fixture",
                    str(corpus.fixture),
                ],
            ),
        ):
            started = time.perf_counter()
            corpus.manage(*args)
            timings[label] = time.perf_counter() - started
        with sqlite3.connect(corpus.db) as db:
            timings["published"] = db.execute(
                "SELECT count(*) FROM library_article WHERE status = 'published'"
            ).fetchone()[0]
        return timings

    step("setup", setup)
    if "setup" not in out:
        return out
    naive_path = corpus.dir / "naive_index"
    fts_path = corpus.dir / "fts5.sqlite3"
    step(
        "naive_build",
        lambda: [
            corpus.worker("naive-build", path=str(naive_path))
            for _ in range(reps("naive_build", size))
        ],
    )
    step(
        "fts5_build",
        lambda: [corpus.worker("fts5-build", path=str(fts_path), text_index=str(naive_path))],
    )
    step("rebuild", lambda: [corpus.worker("rebuild") for _ in range(reps("rebuild", size))])
    step(
        "search",
        lambda: search_both(
            corpus,
            queries=queries,
            reps=reps("search", size),
            baseline_reps=reps("search_baselines", size),
            budget=SEARCH_BUDGET.get(size, 300),
            naive_path=str(naive_path),
            fts_path=str(fts_path),
        ),
    )
    step("browse", lambda: corpus.worker("browse", reps=reps("browse", size)))
    step("loaddata", lambda: [loaddata_once(corpus, n) for n in range(reps("loaddata", size))])
    step("incremental", lambda: corpus.worker("incremental", reps=reps("incremental", size)))
    if size == TARGETS_AT:
        step(
            "editorial",
            lambda: corpus.worker(
                "editorial-overhead", queries=queries, reps=reps("editorial", size)
            ),
        )
    if POSTGRES_URL and size <= POSTGRES_MAX:
        step("postgres", lambda: bench_postgres(corpus, queries))
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(corpus.dir, ignore_errors=True)
    return out


def search_both(corpus: Corpus, env: dict | None = None, **kwargs) -> dict:
    """The search task for the results page (with the baselines), then for the API,
    each in its own process; one result, as if measured together.

    Separate processes, because the backend keeps what it read between searches: an
    API request just before the page for the same words would warm the page's
    first touch of them, which no reader's request gets.
    """
    pages = corpus.worker("search", env=env, site=["page"], **kwargs)
    kwargs.update(baseline_reps=0, naive_path="", fts_path="", plain_pg=False)
    api = corpus.worker("search", env=env, site=["api"], **kwargs)
    for text, info in api["queries"].items():
        merged = pages["queries"][text]
        for clock in ("times", "cpu_times"):
            merged[clock]["api"] = info[clock].get("api", [])
        merged.update({k: v for k, v in info.items() if k.startswith("api_")})
    if api.get("site_error"):
        pages["site_error"] = pages.get("site_error") or api["site_error"]
    return pages


def bench_postgres(corpus: Corpus, queries) -> dict:
    """The same corpus (same seed) on PostgreSQL with the PostgreSQL search backend:
    rebuild, the results page for every query, and save to searchable."""
    import psycopg

    size, name = corpus.size, f"bench_{corpus.size}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    env = corpus.env()
    env.update(DATABASE_URL=POSTGRES_URL.rsplit("/", 1)[0] + "/" + name, SEARCH_BACKEND="postgres")
    for args in (
        ["migrate", "--no-input", "-v0"],
        ["loaddata", "taxonomy", "-v0"],
        ["generate_articles", "--count", str(size), "--seed", str(SEED)],
    ):
        corpus.manage(*args, env=env)
    out = {
        "rebuild": [corpus.worker("rebuild", env=env) for _ in range(reps("rebuild", size))],
        "plain_pg_build": corpus.worker("plain-pg-build", env=env),
        "search": search_both(
            corpus,
            env=env,
            queries=queries,
            reps=reps("search", size),
            baseline_reps=0,
            budget=SEARCH_BUDGET.get(size, 300),
            naive_path="",
            fts_path="",
            plain_pg=True,
        ),
        "incremental": corpus.worker("incremental", env=env, reps=reps("incremental", size)),
        "loaddata": [
            postgres_loaddata_once(corpus, name, n) for n in range(reps("loaddata", size))
        ],
    }
    return out


def postgres_loaddata_once(corpus: Corpus, template: str, n: int) -> dict:
    """The 1,000-article fixture loaded into a copy of the PostgreSQL corpus database
    (`CREATE DATABASE ... TEMPLATE`), as `loaddata_once` does on SQLite."""
    import psycopg

    copy = f"{template}_load_{n}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {copy}")
        admin.execute(f"CREATE DATABASE {copy} TEMPLATE {template}")
    env = corpus.env()
    env.update(DATABASE_URL=POSTGRES_URL.rsplit("/", 1)[0] + "/" + copy, SEARCH_BACKEND="postgres")
    try:
        return corpus.worker(
            "loaddata", env=env, path=str(corpus.fixture), slug_prefix=f"synthetic-{FIXTURE_SEED}-"
        )
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {copy}")


def loaddata_once(corpus: Corpus, n: int) -> dict:
    """Load the fixture into a copy of the corpus, so every run starts from the same state."""
    scratch = corpus.dir / f"loaddata-{n}"
    scratch.mkdir()
    db = scratch / "db.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{corpus.db}{suffix}")
        if source.exists():
            shutil.copy2(source, f"{db}{suffix}")
    index = scratch / "search_index"
    shutil.copytree(corpus.index, index)
    try:
        return corpus.worker(
            "loaddata",
            env=corpus.env(db=db, index=index),
            path=str(corpus.fixture),
            slug_prefix=f"synthetic-{FIXTURE_SEED}-",
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --- Reporting ---------------------------------------------------------------------


def machine() -> dict:
    import django

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from whoosh import versionstring as whoosh_version

        whoosh = whoosh_version()
    except ImportError:
        whoosh = "?"
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "commit": commit or "not a git checkout",
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "django": django.get_version(),
        "whoosh": whoosh,
        "sqlite": sqlite3.sqlite_version,
    }


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def _cpu(runs: list[dict]) -> dict | None:
    values = [r["cpu_seconds"] for r in runs if "cpu_seconds" in r]
    return summary(values) if values else None


def analyse(size_result: dict) -> dict:
    """Summaries (median/p95) of the raw samples of one size.

    Wall-clock figures are the measurements; CPU time of the measuring process is kept
    beside them because it moves far less when other work shares the machine.
    """
    res: dict = {}
    for name in ("naive_build", "fts5_build", "rebuild"):
        if name in size_result:
            runs = size_result[name]
            res[name] = {
                "docs": runs[0]["docs"],
                "seconds": summary([r["seconds"] for r in runs]),
                "cpu_seconds": _cpu(runs),
                "rss_mb": max(
                    max(r["tree_peak_rss_mb"], r["self_maxrss_mb"] + r["children_maxrss_mb"])
                    for r in runs
                ),
                # Older results have no PSS.
                "pss_mb": max((r.get("tree_peak_pss_mb") or 0.0 for r in runs), default=0.0)
                or None,
            }
    if "rebuild" in res:
        res["rebuild"]["segments"] = size_result["rebuild"][-1].get("segments")
        res["rebuild"]["parallel"] = any(
            r.get("children_cpu_seconds", 0) > 1 for r in size_result["rebuild"]
        )
    if "search" in size_result:
        per_query = size_result["search"]["queries"]
        methods = next(iter(per_query.values()))["times"].keys()
        res["search"] = {
            m: summary([t for q in per_query.values() for t in q["times"][m]]) for m in methods
        }
        res["search_cpu"] = {
            m: summary([t for q in per_query.values() for t in q.get("cpu_times", {}).get(m, [])])
            for m in methods
        }
        if size_result["search"]["page_warm"]:
            res["search"]["page_warm"] = summary(size_result["search"]["page_warm"])
        kinds: dict[str, dict[str, list[float]]] = {}
        for q in per_query.values():
            for m, times in q["times"].items():
                kinds.setdefault(q["kind"], {}).setdefault(m, []).extend(times)
        res["search_by_kind"] = {
            kind: {m: summary(times) for m, times in by_method.items()}
            for kind, by_method in kinds.items()
        }
        # Reader questions against every other (keyword) kind, on the results page.
        keyword_times = [
            t for kind, by in kinds.items() if kind != "questions" for t in by.get("page", [])
        ]
        if "questions" in kinds and keyword_times:
            res["questions_vs_keywords"] = {
                "questions": summary(kinds["questions"].get("page", [])),
                "keywords": summary(keyword_times),
            }
        res["search_page_sql_queries"] = sorted(
            {q["page_sql_queries"] for q in per_query.values() if "page_sql_queries" in q}
        )
    if "browse" in size_result:
        res["browse"] = {
            name: {
                **summary(page["times"]),
                "cpu": summary(page.get("cpu_times", [])),
                "sql_queries": page["sql_queries"],
                "url": page["url"],
            }
            for name, page in size_result["browse"]["pages"].items()
        }
    if "loaddata" in size_result:
        runs = size_result["loaddata"]
        res["loaddata"] = {
            "articles": runs[0]["articles"],
            "seconds": summary([r["seconds"] for r in runs]),
            "cpu_seconds": _cpu(runs),
            "loaddata_returned": summary([r["loaddata_returned"] for r in runs]),
        }
    if "postgres" in size_result:
        res["postgres"] = analyse({**size_result["postgres"], "size": size_result["size"]})
    if "editorial" in size_result:
        res["editorial"] = {
            name: {**summary(s["times"]), "cpu": summary(s["cpu_times"])}
            for name, s in size_result["editorial"]["samples"].items()
        }
    if "incremental" in size_result:
        inc = size_result["incremental"]
        res["incremental"] = {
            "save_to_searchable": summary(inc["save_to_searchable"]),
            "save_and_commit": summary(inc["save_and_commit"]),
            "saves": len(inc["save_to_searchable"]),
            "segments_before": inc["segments_before"],
            "segments_after": inc["segments_after"],
        }
    return res


def rate(item: dict, key: str = "seconds", stat: str = "median", per: str = "docs") -> float:
    """Items per second from a summary of seconds."""
    seconds = (item.get(key) or {}).get(stat)
    return item[per] / seconds if seconds else float("nan")


def table(analysed: dict[int, dict]) -> list[str]:
    lines = [
        "| size | measurement | median | p95 | median (CPU) | baseline | ratio |",
        "|---:|---|---:|---:|---:|---|---:|",
    ]

    def row(size, what, median, p95, cpu="", baseline="", ratio=""):
        lines.append(f"| {size:,} | {what} | {median} | {p95} | {cpu} | {baseline} | {ratio} |")

    for size, res in analysed.items():
        naive = res.get("naive_build")
        if "rebuild" in res:
            rb = res["rebuild"]
            ratio = cpu_ratio = ""
            if naive:
                ratio = f"{rate(rb) / rate(naive):.2f}x"
                cpu_ratio = rate(rb, "cpu_seconds") / rate(naive, "cpu_seconds")
                ratio += f" (CPU {cpu_ratio:.2f}x)"
            row(
                size,
                f"rebuild_index ({rb['docs']:,} docs, n={rb['seconds']['n']})",
                f"{rate(rb):.0f} docs/s",
                f"{rate(rb, stat='p95'):.0f} docs/s",
                f"{rate(rb, 'cpu_seconds'):.0f} docs/s",
                f"naive Whoosh {rate(naive):.0f} docs/s" if naive else "",
                ratio,
            )
            row(
                size,
                "rebuild_index peak RSS (sum over processes)",
                f"{rb['rss_mb']:.0f} MB",
                "",
                "",
                f"naive {naive['rss_mb']:.0f} MB" if naive else "",
                "",
            )
            if rb.get("pss_mb"):
                row(
                    size,
                    "rebuild_index peak PSS (sum, shared pages divided)",
                    f"{rb['pss_mb']:.0f} MB",
                    "",
                    "",
                    f"naive {naive['pss_mb']:.0f} MB" if naive and naive.get("pss_mb") else "",
                    "",
                )
        for key, label in (
            ("naive_build", "naive Whoosh build, single writer"),
            ("fts5_build", "SQLite FTS5 build (from extracted text)"),
        ):
            if key in res:
                build = res[key]
                row(
                    size,
                    f"{label} (n={build['seconds']['n']})",
                    f"{rate(build):.0f} docs/s",
                    f"{rate(build, stat='p95'):.0f} docs/s",
                    f"{rate(build, 'cpu_seconds'):.0f} docs/s",
                )
        if "incremental" in res:
            inc = res["incremental"]
            seg = inc["segments_after"]
            row(
                size,
                f"save → searchable (n={inc['saves']}; segments after: "
                f"{', '.join(str(v) for v in seg.values()) or '?'})",
                ms(inc["save_to_searchable"]["median"]),
                ms(inc["save_to_searchable"]["p95"]),
                "",
                "target 150 ms",
            )
        if "loaddata" in res:
            ld = res["loaddata"]
            row(
                size,
                f"loaddata {ld['articles']:,} articles + indexing (n={ld['seconds']['n']})",
                f"{rate(ld, per='articles'):.0f} articles/s",
                f"{rate(ld, stat='p95', per='articles'):.0f} articles/s",
                f"{rate(ld, 'cpu_seconds', per='articles'):.0f} articles/s",
                "target 100/s",
            )
        if "search" in res:
            s, cpu = res["search"], res.get("search_cpu", {})
            base = s["naive_full"]["p95"]
            labels = {
                "page": "search results page /articles/?q= (cold)",
                "api": "search API /api/search/?q= (cold)",
                "page_warm": "search results page, repeated at once (warm)",
                "naive_full": "raw Whoosh, naive: query + groupedby facets + highlights",
                "naive_plain": "raw Whoosh, naive: plain query, top 20",
                "fts5": "SQLite FTS5 bm25 + snippet + facet counts",
                "icontains": "naive DB search (icontains, count + page)",
            }
            for key, label in labels.items():
                if key in s:
                    row(
                        size,
                        f"{label} (n={s[key]['n']})",
                        ms(s[key]["median"]),
                        ms(s[key]["p95"]),
                        ms(cpu[key]["median"]) if cpu.get(key, {}).get("n") else "",
                        "" if key == "naive_full" else f"raw Whoosh p95 {ms(base)}",
                        "" if key == "naive_full" else f"{s[key]['p95'] / base:.2f}x",
                    )
        if "browse" in res:
            floor = res["browse"].get("floor /healthz/")
            for name, page in res["browse"].items():
                queries = "/".join(str(c) for c in page["sql_queries"])
                is_floor = page is floor
                row(
                    size,
                    f"{name} ({queries} SQL queries, n={page['n']})",
                    ms(page["median"]),
                    ms(page["p95"]),
                    ms(page["cpu"]["median"]) if page["cpu"]["n"] else "",
                    "" if is_floor or not floor else f"floor p95 {ms(floor['p95'])}",
                    "" if is_floor or not floor else f"{page['p95'] / floor['p95']:.0f}x",
                )
    return lines


def engine_table(analysed: dict[int, dict]) -> list[str]:
    """The PostgreSQL backend beside Whoosh on the same corpus, in the same run."""
    lines = ["Whoosh and PostgreSQL backends (median / p95):"]
    for size, res in analysed.items():
        for engine, part in (("whoosh", res), ("postgres", res.get("postgres") or {})):
            page = (part.get("search") or {}).get("page")
            rebuild = part.get("rebuild")
            save = (part.get("incremental") or {}).get("save_to_searchable")
            if not (page or rebuild or save):
                continue
            lines.append(
                f"  {size:>6,} {engine:8} results page {ms(page and page['median'])} / "
                f"{ms(page and page['p95'])}; rebuild "
                f"{rate(rebuild) if rebuild else float('nan'):,.0f} docs/s; save to searchable "
                f"{ms(save and save['median'])} / {ms(save and save['p95'])}"
            )
        plain = ((res.get("postgres") or {}).get("search") or {}).get("plain_pg")
        if plain:
            lines.append(
                f"  {size:>6,} plain PostgreSQL full-text query (baseline) "
                f"{ms(plain['median'])} / {ms(plain['p95'])}"
            )
    if len(lines) == 1:
        lines.append("  PostgreSQL not installed: `apt-get install postgresql` to compare.")
    return lines


def kind_table(analysed: dict[int, dict]) -> list[str]:
    lines = [
        "| size | query kind | page p95 | API p95 | raw Whoosh p95 | FTS5 p95 | icontains p95 |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size, res in analysed.items():
        for kind, by in res.get("search_by_kind", {}).items():
            cells = [
                ms(by[m]["p95"]) if m in by else "-"
                for m in ("page", "api", "naive_full", "fts5", "icontains")
            ]
            lines.append(f"| {size:,} | {kind} | {' | '.join(cells)} |")
    return lines


def targets(analysed: dict[int, dict]) -> list[dict]:
    """Every target: issue 4's at 10,000 articles (or the largest size run) and, when
    50,000 was run, at 50,000 too; then issue 14's search-cost targets across sizes."""
    size = TARGETS_AT if TARGETS_AT in analysed else max(analysed)
    checks = targets_at(analysed, size)
    if GROWTH_AT in analysed and size != GROWTH_AT:
        checks += targets_at(analysed, GROWTH_AT)
    return checks + growth_targets(analysed)


def growth_targets(analysed: dict[int, dict]) -> list[dict]:
    """Issue 14: the results page against SQLite FTS5 at 10,000 and 50,000 articles,
    and its growth from 10,000 to 50,000 (p95 of every query kind, one run)."""
    checks = []

    def page_p95(size: int, method: str = "page") -> float | None:
        return ((analysed.get(size) or {}).get("search") or {}).get(method, {}).get("p95")

    def check(name: str, size: int, mine: float | None, theirs: float | None, limit: float):
        if mine is None or theirs is None:
            checks.append({"target": name, "size": size, "result": "n/a", "detail": "not measured"})
            return
        ratio = mine / theirs
        checks.append(
            {
                "target": name,
                "size": size,
                "result": "PASS" if ratio <= limit else "MISS",
                "detail": f"{ms(mine)} vs {ms(theirs)} = {ratio:.2f}x",
            }
        )

    check(
        "search page p95 <= 0.6x SQLite FTS5 p95",
        TARGETS_AT,
        page_p95(TARGETS_AT),
        page_p95(TARGETS_AT, "fts5"),
        0.6,
    )
    if GROWTH_AT in analysed:
        check(
            "search page p95 <= SQLite FTS5 p95",
            GROWTH_AT,
            page_p95(GROWTH_AT),
            page_p95(GROWTH_AT, "fts5"),
            1.0,
        )
        check(
            "search page p95 at 50,000 <= 2x its p95 at 10,000",
            GROWTH_AT,
            page_p95(GROWTH_AT),
            page_p95(TARGETS_AT),
            2.0,
        )
    return checks


def targets_at(analysed: dict[int, dict], size: int) -> list[dict]:
    """Issue 4's targets (and the later ones measured at one size), checked at `size`."""
    res = analysed[size]
    checks = []

    def check(name, ok, detail, cpu_ok=None):
        """`cpu_ok` is the same test on CPU time: when the machine is busy the wall clock
        and the CPU clock can disagree, and then the verdict is NOISY, not PASS/MISS."""
        if ok is None:
            result = "n/a"
        elif cpu_ok is not None and cpu_ok != ok:
            result = "NOISY"
        else:
            result = "PASS" if ok else "MISS"
        checks.append({"target": name, "size": size, "result": result, "detail": detail})

    s = res.get("search")
    if s and "page" in s:
        ratio = s["page"]["p95"] / s["naive_full"]["p95"]
        cpu = res.get("search_cpu", {})
        cpu_ratio = cpu["page"]["p95"] / cpu["naive_full"]["p95"] if cpu.get("page") else None
        check(
            "search page p95 <= 0.5x naive raw Whoosh p95",
            ratio <= 0.5,
            f"{ms(s['page']['p95'])} vs {ms(s['naive_full']['p95'])} = {ratio:.2f}x"
            + (f" (by CPU time {cpu_ratio:.2f}x)" if cpu_ratio else ""),
            cpu_ok=None if cpu_ratio is None else cpu_ratio <= 0.5,
        )
    else:
        check("search page p95 <= 0.5x naive raw Whoosh p95", None, "not measured")
    qk = res.get("questions_vs_keywords")
    if qk:
        ratio = qk["questions"]["p95"] / qk["keywords"]["p95"]
        check(
            "search page p95 on questions <= 1.5x p95 on keyword queries",
            ratio <= 1.5,
            f"{ms(qk['questions']['p95'])} vs {ms(qk['keywords']['p95'])} = {ratio:.2f}x",
        )
    else:
        check("search page p95 on questions <= 1.5x keyword p95", None, "not measured")
    pg_search = (res.get("postgres") or {}).get("search") or {}
    pg_cpu = (res.get("postgres") or {}).get("search_cpu") or {}
    pg_page = pg_search.get("page")
    if pg_page and s and "page" in s:
        cpu = (res.get("search_cpu") or {}).get("page")
        check(
            "PostgreSQL results page p95 <= 2x Whoosh results page p95 (issue 18)",
            pg_page["p95"] <= 2 * s["page"]["p95"],
            f"{ms(pg_page['p95'])} vs {ms(s['page']['p95'])} = "
            f"{pg_page['p95'] / s['page']['p95']:.2f}x",
            cpu_ok=pg_cpu["page"]["p95"] <= 2 * cpu["p95"] if pg_cpu.get("page") and cpu else None,
        )
    plain = pg_search.get("plain_pg")
    if pg_page and plain:
        check(
            "PostgreSQL results page p95 <= plain PostgreSQL full-text query p95 (issue 18)",
            pg_page["p95"] <= plain["p95"],
            f"{ms(pg_page['p95'])} vs {ms(plain['p95'])} = {pg_page['p95'] / plain['p95']:.2f}x",
        )
    ed = res.get("editorial")
    if ed:
        # A save's p95 is one of the index's occasional segment merges (about one save
        # in fifteen), whichever half it falls on; its median is the save itself.
        for what, stat, label in (
            ("save", "median", "save to searchable median"),
            ("page", "p95", "results page p95"),
        ):
            on, off = ed[f"{what}_on"], ed[f"{what}_off"]
            ratio, cpu_ratio = on[stat] / off[stat], on["cpu"][stat] / off["cpu"][stat]
            check(
                f"revisions and search terms add <= 10% to {label}",
                ratio <= 1.10,
                f"{ms(on[stat])} with vs {ms(off[stat])} without = {ratio:.2f}x "
                f"(by CPU time {cpu_ratio:.2f}x)",
                cpu_ok=cpu_ratio <= 1.10,
            )
    rb, nb = res.get("rebuild"), res.get("naive_build")
    if rb and nb:
        ratio = rate(rb) / rate(nb)
        cpu_ratio = rate(rb, "cpu_seconds") / rate(nb, "cpu_seconds")
        # A rebuild spread over several processes buys wall-clock time with CPU
        # time, so its CPU time (all processes) is no stand-in for the wall clock.
        parallel = rb.get("parallel", False)
        check(
            "rebuild >= 1.5x naive single-writer docs/s",
            ratio >= 1.5,
            f"{rate(rb):.0f} vs {rate(nb):.0f} docs/s = {ratio:.2f}x "
            f"(by CPU time{' of all processes' if parallel else ''} {cpu_ratio:.2f}x)",
            cpu_ok=None if parallel else cpu_ratio >= 1.5,
        )
        pss = f" (PSS sum {rb['pss_mb']:.0f} MB)" if rb.get("pss_mb") else ""
        check("rebuild peak RSS < 400 MB", rb["rss_mb"] < 400, f"{rb['rss_mb']:.0f} MB{pss}")
    else:
        check("rebuild >= 1.5x naive single-writer docs/s", None, "not measured")
    inc = res.get("incremental")
    if inc:
        p95 = inc["save_to_searchable"]["p95"]
        segments = [v for v in inc["segments_after"].values() if isinstance(v, int)]
        few = bool(segments) and max(segments) < 20
        check(
            "save searchable within 150 ms (p95), segments stay few",
            p95 <= 0.150 and few,
            f"p95 {ms(p95)}; {max(segments) if segments else '?'} segments after "
            f"{inc['saves']} saves",
        )
    else:
        check("save searchable within 150 ms (p95)", None, "not measured")
    br = res.get("browse")
    if br:
        pages = {k: v for k, v in br.items() if k.startswith("browse")}
        fixed = all(len(v["sql_queries"]) == 1 for v in pages.values())
        # The count must not grow with the corpus either.
        for other in analysed.values():
            for name, page in other.get("browse", {}).items():
                if name in pages and page["sql_queries"] != pages[name]["sql_queries"]:
                    fixed = False
        worst = max(v["p95"] for v in pages.values())
        worst_cpu = max(v["cpu"]["p95"] for v in pages.values())
        floor = br.get("floor /healthz/", {}).get("p95")
        check(
            "browse: query count fixed, p95 < 50 ms",
            fixed and worst < 0.050,
            f"worst p95 {ms(worst)} (floor {ms(floor)}); queries "
            + ", ".join(
                f"{k.split(': ')[1]}={'/'.join(map(str, v['sql_queries']))}"
                for k, v in pages.items()
            )
            + ("" if fixed else " (NOT fixed)")
            + f"; worst CPU p95 {ms(worst_cpu)}",
            cpu_ok=fixed and worst_cpu < 0.050,
        )
    else:
        check("browse: query count fixed, p95 < 50 ms", None, "not measured")

    def loaddata_check(prefix: str, ld: dict, by_cpu: bool) -> None:
        """`by_cpu`: the loading process does all the work (Whoosh), so its CPU time is
        a second verdict; on PostgreSQL the server does part of it."""
        speed, cpu_speed = rate(ld, per="articles"), rate(ld, "cpu_seconds", per="articles")
        check(
            f"{prefix}loaddata 1,000 articles + indexing >= 100 articles/s",
            speed >= 100,
            f"{speed:.0f} articles/s (slowest run {rate(ld, stat='p95', per='articles'):.0f}; "
            f"by CPU time{'' if by_cpu else ' of the loading process'} {cpu_speed:.0f})",
            cpu_ok=cpu_speed >= 100 if by_cpu else None,
        )

    postgres = res.get("postgres") or {}
    if postgres.get("incremental"):
        p95 = postgres["incremental"]["save_to_searchable"]["p95"]
        check("PostgreSQL save searchable within 150 ms (p95)", p95 <= 0.150, f"p95 {ms(p95)}")
    if postgres.get("loaddata"):
        loaddata_check("PostgreSQL ", postgres["loaddata"], by_cpu=False)
    if res.get("loaddata"):
        loaddata_check("", res["loaddata"], by_cpu=True)
    else:
        check("loaddata >= 100 articles/s", None, "not measured")
    return checks


# --- Main --------------------------------------------------------------------------


def sizes() -> list[int]:
    if os.environ.get("BENCH_SIZES"):
        return [int(s) for s in os.environ["BENCH_SIZES"].replace(" ", "").split(",") if s]
    chosen = [1000, 10000]
    if os.environ.get("BENCH_FULL"):
        chosen.append(50000)
    return chosen


def output_path(stamp: str) -> Path:
    if os.environ.get("BENCH_OUTPUT"):
        return Path(os.environ["BENCH_OUTPUT"])
    var = Path(os.environ.get("STEMSITE_VAR_DIR", REPO / "var"))
    return var / "bench" / f"bench-{stamp}.json"


def report(raw: dict[int, dict]) -> tuple[dict, list[dict]]:
    """Print the table, the per-kind table and the targets; return summaries and checks."""
    analysed = {size: analyse(result) for size, result in raw.items()}
    checks = targets(analysed) if analysed else []
    print()
    print("\n".join(table(analysed)))
    print()
    print("Search p95 by query kind:")
    print("\n".join(kind_table(analysed)))
    print()
    print("\n".join(engine_table(analysed)))
    print()
    if len(analysed) > 1:
        print(f"Growth from {min(analysed):,} to {max(analysed):,} articles (largest ÷ smallest):")
        print("\n".join(growth_table(analysed)))
        print()
    for check in checks:
        print(f"{check['result']:4}  {check['target']} (at {check['size']:,}): {check['detail']}")
    loads = [v for r in raw.values() for pair in r["load"].values() for v in pair]
    if loads and max(loads) > 0.75 * (os.cpu_count() or 1):
        print(
            f"WARNING: the machine was busy during the run (load average up to "
            f"{max(loads):.1f} on {os.cpu_count()} CPUs): the figures are noisy."
        )
    for size, result in raw.items():
        for name, message in result["errors"].items():
            print(f"ERROR at {size:,}: {name}: {message.splitlines()[0]}")
    return analysed, checks


def write_chart(analysed: dict[int, dict], path: Path) -> None:
    path.write_text(search_chart(analysed), encoding="utf-8")
    print(f"Chart of the results page's p95 by size: {path}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--report"]:  # print the table of an earlier run's JSON
        saved = json.loads(Path(argv[1]).read_text())
        analysed, _ = report({int(size): result for size, result in saved["raw"].items()})
        write_chart(analysed, Path(argv[1]).with_suffix(".svg"))
        return 0
    started = time.perf_counter()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    queries = load_queries()
    root = Path(tempfile.mkdtemp(prefix="stemsite-bench-"))
    info = machine()
    print(
        f"stemsite benchmark: sizes {', '.join(map(str, sizes()))}; {len(queries)} queries; "
        f"{info['nproc']} CPUs, {info['ram_gb']} GB RAM, Python {info['python']}; in {root}"
    )
    print(f"Code: {REPO} at {info['commit']}")
    print("Requests go through Django's test Client in-process (full middleware stack, no HTTP).")
    static_root = root / "static"
    # DEBUG is off, so templates need the hashed static files manifest.
    Corpus(0, root, static_root).manage("collectstatic", "--no-input", "-v0")
    path = output_path(stamp)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw: dict[int, dict] = {}

    large = None

    def save(analysed=None, checks=None) -> None:
        # Written after every size too, so an interrupted run keeps what it measured.
        document = {
            "started": stamp,
            "elapsed_seconds": time.perf_counter() - started,
            "machine": info,
            "client": "django.test.Client, in-process, full middleware stack",
            "queries": queries,
            "raw": raw,
            "summary": analysed,
            "targets": checks,
            "large_load": large,
        }
        path.write_text(json.dumps(document, indent=1, default=str))

    with contextlib.ExitStack() as stack:
        global POSTGRES_URL
        if pg_cluster.installed():
            POSTGRES_URL = stack.enter_context(pg_cluster.cluster())
            print(f"PostgreSQL backend measured too, on a throw-away cluster ({POSTGRES_URL})")
        else:
            print(f"Whoosh only. {pg_cluster.INSTALL_HINT}")
        for size in sizes():
            raw[size] = bench_size(size, root, static_root, queries)
            save()
    if POSTGRES_URL and LARGE_LOAD:
        from tests.bench import pg_load

        large = pg_load.bench(LARGE_LOAD, root)
    analysed, checks = report(raw)
    if large is not None:
        print("\n".join(pg_load.lines(large)))
        checks += pg_load.targets(large)
        for check in checks[-2:]:
            print(f"{check['result']:4}  {check['target']}: {check['detail']}")
    save(analysed, checks)
    write_chart(analysed, path.with_suffix(".svg"))
    elapsed = time.perf_counter() - started
    print(f"\nRaw figures: {path}\nTotal time: {elapsed / 60:.1f} min")
    if os.environ.get("BENCH_KEEP"):
        print(f"Kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if any(result["errors"] for result in raw.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
