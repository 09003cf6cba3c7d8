"""Loading one large fixture file: PostgreSQL (default and small servers) beside SQLite + Whoosh.

    python -m tests.bench.pg_load --size 50000            # what `make bench` runs
    python -m tests.bench.pg_load --size 5000 --whoosh    # with the SQLite + Whoosh baseline

One fixture of `--size` synthetic articles (`generate_articles --fixture`, public
format) is loaded with `loaddata` into a fresh database, and timed until every loaded
article is searchable (the bench worker's `loaddata` task):

- on a throw-away PostgreSQL cluster with the test cluster's settings
  (`max_connections = 100`, PostgreSQL's default lock table);
- on a second cluster with `max_connections = 10`, whose shared lock table is about
  a tenth of that (it holds `max_locks_per_transaction` x the number of server
  processes): the kind of server on which a 5,000-article load used to fail with
  "out of shared memory";
- with `--whoosh`, on SQLite + Whoosh (the default engine), as the same run's baseline.

During each PostgreSQL load a separate connection samples `pg_locks` every 0.2 s and
keeps the most locks any one server process held, and of them the advisory locks (the
search sync's). Afterwards `check_index` must find the index in step with the
database, and save-to-searchable is measured on the loaded library (the worker's
`incremental` task: an editor-style save, then the search API polled until it finds
the new word).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests import pg_cluster
from tests.bench import run

#: Server settings of the small PostgreSQL server (everything else as the test cluster's).
SMALL_SERVER = {"max_connections": "10"}
FIXTURE_SEED = 5  # other slugs than the bench corpus (seed 1) and its fixture (seed 2)
SAVES = 30  # editor-style saves on the loaded library
LOCK_SAMPLE_SECONDS = 0.2

_PEAK_LOCKS = """
SELECT coalesce(max(n), 0), coalesce(max(advisory), 0) FROM (
    SELECT pid, count(*) AS n, count(*) FILTER (WHERE locktype = 'advisory') AS advisory
    FROM pg_locks WHERE pid IS NOT NULL AND pid <> pg_backend_pid() GROUP BY pid
) per_process
"""


class LockWatch:
    """Samples `pg_locks` from its own connection until stopped; keeps the peaks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.peak = self.peak_advisory = self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self._stop.is_set():
                locks, advisory = connection.execute(_PEAK_LOCKS).fetchone()
                self.peak = max(self.peak, locks)
                self.peak_advisory = max(self.peak_advisory, advisory)
                self.samples += 1
                self._stop.wait(LOCK_SAMPLE_SECONDS)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def server_settings(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        return {
            name: connection.execute(f"SHOW {name}").fetchone()[0]
            for name in ("max_connections", "max_locks_per_transaction", "server_version")
        }


def load(corpus: run.Corpus, env: dict, fixture: Path, lock_url: str | None = None) -> dict:
    """Migrate and load the taxonomy into the empty database of `env`, then time the
    fixture's load until searchable, check the index and time editor-style saves."""
    for args in (["migrate", "--no-input", "-v0"], ["loaddata", "taxonomy", "-v0"]):
        corpus.manage(*args, env=env)
    watch = LockWatch(lock_url) if lock_url else None
    result: dict = {}
    try:
        if watch:
            watch.__enter__()
        result["loaddata"] = corpus.worker(
            "loaddata",
            env=env,
            path=str(fixture),
            slug_prefix="",  # every article in the fresh database is the fixture's
            timeout=3600,
        )
    except run.BenchError as exc:
        result["error"] = str(exc)
        return result
    finally:
        if watch:
            watch.__exit__()
            result["peak_locks_per_process"] = watch.peak
            result["peak_advisory_locks_per_process"] = watch.peak_advisory
            result["lock_samples"] = watch.samples
    try:
        corpus.manage("check_index", env=env)
        result["check_index"] = "in sync"
    except run.BenchError as exc:
        result["check_index"] = str(exc).splitlines()[-1]
    result["incremental"] = corpus.worker("incremental", env=env, reps=SAVES)
    return result


CONFIGURATIONS = {
    "default": ("postgres default", None),
    "small": ("postgres max_connections=10", SMALL_SERVER),
}


def bench(
    size: int,
    root: Path,
    whoosh: bool = False,
    fixture: Path | None = None,
    servers: tuple[str, ...] = ("default", "small"),
) -> dict:
    """Every configuration's load of one `size`-article fixture (generated, unless
    `fixture` names a file of the public format); the raw figures."""
    corpus = run.Corpus(size, root / "large-load", root / "static")
    out: dict = {"size": size, "load_average": {"before": os.getloadavg()[0]}, "runs": {}}
    started = time.perf_counter()
    if fixture is None:
        fixture = corpus.dir / f"fixture-{size}.json"
        sqlite_env = corpus.env()
        for args in (["migrate", "--no-input", "-v0"], ["loaddata", "taxonomy", "-v0"]):
            corpus.manage(*args, env=sqlite_env)
        corpus.manage(
            "generate_articles",
            "--count",
            str(size),
            "--seed",
            str(FIXTURE_SEED),
            "--fixture",
            str(fixture),
            env=sqlite_env,
        )
    out["fixture_mb"] = round(fixture.stat().st_size / 2**20, 1)
    out["fixture_seconds"] = time.perf_counter() - started
    for label, server in (CONFIGURATIONS[name] for name in servers):
        run.progress(f"{size:>6} large load: {label}")
        with pg_cluster.cluster(server=server) as url:
            env = corpus.env()
            env.update(DATABASE_URL=url, SEARCH_BACKEND="postgres")
            out["runs"][label] = {"server": server_settings(url), **load(corpus, env, fixture, url)}
    if whoosh:
        run.progress(f"{size:>6} large load: sqlite + whoosh")
        fresh = corpus.dir / "whoosh"
        fresh.mkdir()
        env = corpus.env(db=fresh / "db.sqlite3", index=fresh / "search_index")
        out["runs"]["sqlite + whoosh"] = load(corpus, env, fixture)
    out["load_average"]["after"] = os.getloadavg()[0]
    return out


def lines(result: dict) -> list[str]:
    """One line per configuration: rate, peak locks, check_index, save p95."""
    size = result["size"]
    out = [
        f"Loading one {size:,}-article fixture ({result['fixture_mb']} MB) until searchable "
        f"(load average {result['load_average']['before']:.1f} -> "
        f"{result['load_average'].get('after', float('nan')):.1f}):"
    ]
    for label, info in result["runs"].items():
        if "error" in info:
            out.append(f"  {label:28} FAILED: {info['error'].splitlines()[-1]}")
            continue
        ld = info["loaddata"]
        saves = run.summary(info["incremental"]["save_to_searchable"])
        locks = (
            f"; peak locks per process {info['peak_locks_per_process']} "
            f"({info['peak_advisory_locks_per_process']} advisory)"
            if "peak_locks_per_process" in info
            else ""
        )
        out.append(
            f"  {label:28} {ld['articles'] / ld['seconds']:.0f} articles/s "
            f"({ld['articles']:,} in {ld['seconds']:.0f} s; CPU of the loading process "
            f"{ld['cpu_seconds']:.0f} s){locks}; check_index: {info['check_index']}; "
            f"save to searchable median {run.ms(saves['median'])}, p95 {run.ms(saves['p95'])}"
        )
    return out


def targets(result: dict) -> list[dict]:
    """Issue 18's write-path targets over one large load."""
    checks = []
    size = result["size"]
    for label in result["runs"]:
        if not label.startswith("postgres"):
            continue
        info = result["runs"][label]
        ok = "error" not in info and info.get("check_index") == "in sync"
        detail = info.get("error", "").splitlines()[-1:] or [info.get("check_index", "")]
        if "loaddata" in info:
            ld = info["loaddata"]
            detail = [f"{ld['articles']:,} loaded, {ld['published']:,} searchable; {detail[0]}"]
        checks.append(
            {
                "target": f"a {size:,}-article fixture loads in one run on {label}",
                "size": size,
                "result": "PASS" if ok else "MISS",
                "detail": detail[0],
            }
        )
    return checks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--whoosh", action="store_true", help="also load on SQLite + Whoosh")
    parser.add_argument("--fixture", type=Path, help="load this file instead of generating one")
    parser.add_argument(
        "--server", choices=("default", "small", "both"), default="both",
        help="which PostgreSQL servers: default (max_connections=100), small (10), both",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not pg_cluster.installed():
        print(pg_cluster.INSTALL_HINT)
        return 0
    root = Path(tempfile.mkdtemp(prefix="stemsite-pgload-"))
    run.Corpus(0, root, root / "static").manage("collectstatic", "--no-input", "-v0")
    servers = ("default", "small") if args.server == "both" else (args.server,)
    result = bench(args.size, root, whoosh=args.whoosh, fixture=args.fixture, servers=servers)
    checks = targets(result)
    print("\n".join(lines(result)))
    for check in checks:
        print(f"{check['result']:4}  {check['target']}: {check['detail']}")
    path = run.output_path(time.strftime("%Y%m%d-%H%M%S")).with_name(
        f"pgload-{args.size}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"result": result, "targets": checks}, indent=1, default=str))
    print(f"Raw figures: {path}")
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(root, ignore_errors=True)
    return 0 if all(check["result"] == "PASS" for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
