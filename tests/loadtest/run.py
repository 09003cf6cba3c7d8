"""The load test: `make loadtest`, or `python -m tests.loadtest.run`. Never part of `make test`.

In a throw-away directory it migrates a SQLite database, loads the shipped content plus
generated articles, rebuilds the index and starts two gunicorns with the production
settings on free loopback ports, sharing that database and index: one with the page
cache on (the default), one with `STEMSITE_PAGE_CACHE=0`. Then, while an editor process
saves an article every half second through the ORM (each save adds a unique word to the
summary), locust drives the readers of `locustfile.py` at each concurrency level for a
bounded time, with each mix of popularity (`LOADTEST_MIXES`: readers choosing articles
and queries uniformly, by Zipf's law, or in a wave on one article in the news; see
`locustfile.py`), first against the uncached server, then against the cached one. It prints requests/s and p50/p95/p99 per level, mix and mode
(and per kind of request), the CPU seconds the server, locust and the editor used in each
level (all three share the machine's cores), the 5xx count, the issue-21 verdicts per mix (cache on
against off at 16 readers, p95 at 16 against 1), and `check_index`'s verdict.

Staleness: around every save the editor asks the server being driven, as a reader
would, for the article's page and for a search of the word the save is about to add
(caching the old answers), saves, and at once asks again: the page must show the word,
the JSON API and the results page must find the article. Any old answer is a stale one.
After each level and mode, with the editor paused, every article's last version saved
in it must be what a search for its word finds (else a lost update).

It exits non-zero on any 5xx, stale answer, lost update, failed save or index
difference, and always stops gunicorn and the editor.

Environment:
    LOADTEST_ARTICLES=5000       generated articles besides the shipped ones
    LOADTEST_LEVELS=1,4,16,32    concurrent readers, one run each per mode
    LOADTEST_SECONDS=30          length of each run
    LOADTEST_MODES=off,on        the page cache off and on (either alone is allowed)
    LOADTEST_MIXES=uniform,zipf  how readers choose articles, queries and terms (locustfile):
                                 uniform, zipf, wave, or several (uniform,zipf,wave)
    LOADTEST_ZIPF_S=0.8          the Zipf exponent of the zipf and wave mixes
    LOADTEST_WAVE_SHARE=0.8      the wave mix's share of requests for the news's pages
    LOADTEST_CACHE_URL=url       the cached server's CACHE_URL (default: local memory in
                                 each process); e.g. file:///dev/shm/pages, one cache
                                 shared by both gunicorn processes (emptied at start)
    LOADTEST_EDITOR_INTERVAL=0.5 seconds between the editor's saves
    LOADTEST_GUNICORN="…"        gunicorn options (default: the README's production ones)
    LOADTEST_JSON=path           also write the figures there as JSON
    LOADTEST_KEEP=1              keep the directory (database, index, logs, CSVs)
    LOADTEST_DIR=path            reuse a directory kept by an earlier run (no set-up)
    LOADTEST_REPLICA=1 (or 0)    on PostgreSQL with a hot standby as read replica (0: not
                                 used); prints the statements' split (replica.py)
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

from tests.loadtest import replica

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The production command of README.md ("Running in production"), on loopback.
GUNICORN = "--workers 2 --threads 4 --timeout 30 --graceful-timeout 5"
EDITOR_INTERVAL = float(os.environ.get("LOADTEST_EDITOR_INTERVAL", "0.5"))
EDITED_ARTICLES = 25  # the editor cycles through this many published articles
MIXES = {"uniform", "zipf", "wave"}  # how readers choose what they read: locustfile.py

EDITOR = """
import json, os, secrets, sys, time, urllib.parse, urllib.request
import django
django.setup()
from library.models import Article

log_path, stop_path, phase_path, interval, count, limit = sys.argv[1:7]
articles = list(Article.objects.published().order_by("pk")[: int(count)])
originals = {a.pk: a.summary for a in articles}
deadline = time.monotonic() + float(limit)
run_tag = secrets.token_hex(2)  # words stay unique when a kept directory is reused


def get(base, path, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def reader_sees(base, article, token):
    \"\"\"What a reader arriving now gets: the problems with each answer, if any.\"\"\"
    stale = []
    if token not in get(base, article.get_absolute_url()):
        stale.append("article page")
    found = [r["slug"] for r in json.loads(get(base, "/api/search/", q=token))["results"]]
    if found != [article.slug]:
        stale.append(f"api search {found}")
    if f'data-slug="{article.slug}"' not in get(base, "/articles/", q=token):
        stale.append("results page")
    return stale


n = 0
with open(log_path, "a") as log:
    while time.monotonic() < deadline and not os.path.exists(stop_path):
        phase = json.loads(open(phase_path).read())
        with open(phase_path + ".ack", "w") as ack:
            ack.write(phase["name"])
        if phase["name"] == "pause":
            time.sleep(0.05)
            continue
        base = f"http://127.0.0.1:{phase['port']}"
        started = time.monotonic()
        article = articles[n % len(articles)]
        token = f"rev{run_tag}{n:05d}x"
        article.summary = f"{originals[article.pk]} Revision {token}."
        entry = {"slug": article.slug, "token": token, "phase": phase["name"]}
        entry["stale"] = []
        try:
            get(base, article.get_absolute_url())  # as readers had it before the save
            get(base, "/api/search/", q=token)
        except Exception as exc:
            entry["stale"].append(f"request before the save failed: {exc!r}")
        saving = time.monotonic()
        try:
            article.save()
            entry["ok"] = True
        except Exception as exc:
            entry.update(ok=False, error=repr(exc))
        entry["ms"] = round((time.monotonic() - saving) * 1000, 1)
        if entry["ok"]:
            try:
                entry["stale"] += reader_sees(base, article, token)
            except Exception as exc:
                entry["stale"].append(f"request after the save failed: {exc!r}")
        log.write(json.dumps(entry) + "\\n")
        log.flush()
        n += 1
        time.sleep(max(0.0, float(interval) - (time.monotonic() - started)))
"""

SLUGS = """
import json, sys
import django
django.setup()
from library.models import Article, Disease, Tag, Therapy
# The wave's article: the newest published article filed under a disease and a therapy,
# as the news would send readers to; its disease's page; searches about it.
news = (
    Article.objects.published().filter(diseases__isnull=False, therapies__isnull=False)
    .order_by("-published_on", "-pk").first()
)
disease, therapy = news.diseases.order_by("pk").first(), news.therapies.order_by("pk").first()
print(json.dumps({
    "articles": list(Article.objects.published().values_list("slug", flat=True)[:2000]),
    "disease": list(Disease.objects.values_list("slug", flat=True)),
    "therapy": list(Therapy.objects.values_list("slug", flat=True)),
    "tag": list(Tag.objects.values_list("slug", flat=True)),
    "wave": {
        "article": news.slug,
        "disease": disease.slug,
        "queries": [
            disease.name.lower(),
            f"{therapy.name.lower()} {disease.name.lower()}",
            f"stem cell {disease.name.lower()}",
            news.title.lower(),
        ],
    },
}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    articles = int(os.environ.get("LOADTEST_ARTICLES", "5000"))
    levels = [int(n) for n in os.environ.get("LOADTEST_LEVELS", "1,4,16,32").split(",")]
    seconds = int(os.environ.get("LOADTEST_SECONDS", "30"))
    modes = [m.strip() for m in os.environ.get("LOADTEST_MODES", "off,on").split(",")]
    mixes = [m.strip() for m in os.environ.get("LOADTEST_MIXES", "uniform,zipf").split(",")]
    if not mixes or set(mixes) - MIXES:
        raise SystemExit(f"LOADTEST_MIXES: use any of {', '.join(sorted(MIXES))}, not {mixes}")
    if not modes or set(modes) - {"off", "on"}:
        raise SystemExit(f"LOADTEST_MODES: use off, on or off,on, not {modes}")
    gunicorn_options = os.environ.get("LOADTEST_GUNICORN", GUNICORN).split()
    reuse = os.environ.get("LOADTEST_DIR")
    root = Path(reuse) if reuse else Path(tempfile.mkdtemp(prefix="stemsite-loadtest-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stemsite.settings",
        "STEMSITE_VAR_DIR": str(root / "var"),
        "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
        "SEARCH_INDEX_DIR": str(root / "index"),
        "DJANGO_STATIC_ROOT": str(root / "static"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
        # Every simulated reader comes from 127.0.0.1: the per-address API limit would
        # answer most of them 429, which is the limit working, not the site's latency.
        "STEMSITE_API_RATE_LIMIT": "0",
    }
    databases = contextlib.ExitStack()
    split = databases.enter_context(replica.database(env))
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    editor = None
    failures: list[str] = []
    rows: list[dict] = []
    started_load = os.getloadavg()
    print(
        f"Load test in {root}: {articles} generated articles, levels {levels}, mixes {mixes}, "
        f"modes {modes}, {seconds} s each"
    )
    print(machine())
    print(f"Page cache of the cached server: {cache_in_use()}")
    try:
        if not reuse:
            setup(env, articles)
        slugs = root / "slugs.json"
        slugs.write_text(run([sys.executable, "-c", SLUGS], env).stdout)
        for mode in modes:
            mode_env = {**env, "STEMSITE_PAGE_CACHE": "1" if mode == "on" else "0"}
            if mode == "on" and os.environ.get("LOADTEST_CACHE_URL"):
                mode_env["CACHE_URL"] = shared_cache(os.environ["LOADTEST_CACHE_URL"])
            port = free_port()
            servers[mode] = (start_server(mode_env, port, gunicorn_options, root, mode), port)
        stop_file = root / "editor.stop"
        phase_file = root / "editor.phase"
        editor_log = root / "editor.jsonl"
        stop_file.unlink(missing_ok=True)
        editor_log.unlink(missing_ok=True)
        set_phase(phase_file, "pause")
        time_limit = len(levels) * len(mixes) * len(modes) * (seconds + 60) + 60
        editor = subprocess.Popen(
            [
                sys.executable,
                "-c",
                EDITOR,
                str(editor_log),
                str(stop_file),
                str(phase_file),
                str(EDITOR_INTERVAL),
                str(EDITED_ARTICLES),
                str(time_limit),
            ],
            cwd=REPO,
            env=env,
        )
        if split:
            split.start()
        for level in levels:
            for mix in mixes:
                for mode in modes:
                    port = servers[mode][1]
                    name = f"{level}-{mix}-{mode}"
                    set_phase(phase_file, name, port)
                    watched = {"server": servers[mode][0].pid, "editor": editor.pid}
                    cpu_before = cpu_seconds(watched)
                    row = drive(level, mix, mode, seconds, port, root, env, slugs)
                    row["cpu"] = cpu_used(cpu_before, cpu_seconds(watched), row)
                    set_phase(phase_file, "pause")
                    wait_for_pause(phase_file)  # the save under way, and its checks, end
                    row.update(check_phase(editor_log, name, port))
                    rows.append(row)
        stop_file.touch()
        editor.wait(timeout=60)
        report(rows, seconds, gunicorn_options)
        if split:
            print(split.report())
        for r in rows:
            where = f"at {r['level']} readers ({r['mix']}), cache {r['mode']}"
            failures += [f"{r['5xx']} server errors {where}"] if r["5xx"] else []
            failures += [f"{r['stale']} stale answers {where}"] if r["stale"] else []
            failures += [f"{r['lost_updates']} lost updates {where}"] if r["lost_updates"] else []
            failures += [f"{r['failed_saves']} failed saves {where}"] if r["failed_saves"] else []
        failures += check_saves(editor_log, servers[modes[-1]][1])
    except BaseException:
        for process in (editor, *(server for server, _port in servers.values())):
            stop(process)
        databases.close()  # leave no PostgreSQL cluster running
        raise
    finally:
        for process in (editor, *(server for server, _port in servers.values())):
            stop(process)
    checked = run([sys.executable, "manage.py", "check_index"], env, check=False)
    print(f"check_index (exit {checked.returncode}): {checked.stdout.strip()}")
    if checked.returncode != 0:
        failures.append(f"check_index: {checked.stdout.strip()} {checked.stderr.strip()}")
    databases.close()
    verdicts = targets(rows)
    for verdict in verdicts:
        print(verdict["text"])
    if os.environ.get("LOADTEST_JSON"):
        write_json(Path(os.environ["LOADTEST_JSON"]), rows, verdicts, failures, started_load,
                   articles=articles, seconds=seconds, options=gunicorn_options)  # fmt: skip
    if os.environ.get("LOADTEST_KEEP") == "1" or reuse:
        print(f"Kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    for failure in failures:
        print(f"FAIL  {failure}")
    print("PASS  no 5xx, no stale answer, no lost update, index in step" if not failures else "")
    return 1 if failures else 0


def cache_in_use() -> str:
    return os.environ.get("LOADTEST_CACHE_URL") or "local memory in each process"


def shared_cache(url: str) -> str:
    """The cached server's CACHE_URL; a file cache's directory is emptied first, so that
    each run starts cold, as local memory does."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        shutil.rmtree(parts.path, ignore_errors=True)
    return url


def wait_for_pause(path: Path) -> None:
    ack = path.with_name(path.name + ".ack")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if ack.exists() and ack.read_text() == "pause":
            return
        time.sleep(0.05)
    raise SystemExit("The editor did not pause within 120 s")


def set_phase(path: Path, name: str, port: int = 0) -> None:
    """Tell the editor which server readers are on now ("pause": stop saving)."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"name": name, "port": port}))
    os.replace(temporary, path)
    path.with_name(path.name + ".ack").unlink(missing_ok=True)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average {load} (1/5/15 min) at start"
    )


def run(command: list[str], env: dict, *, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{done.stdout}{done.stderr}")
    return done


def setup(env: dict, articles: int) -> None:
    manage = [sys.executable, "manage.py"]
    started = time.monotonic()
    run([*manage, "migrate", "--noinput", "-v0"], env)
    run([*manage, "load_shipped_content"], env)
    run([*manage, "generate_articles", "--count", str(articles), "--seed", "1"], env)
    run([*manage, "rebuild_index", "--quiet"], env)
    run([*manage, "collectstatic", "--noinput", "-v0"], env)
    print(f"Set up in {time.monotonic() - started:.0f} s")


def start_server(
    env: dict, port: int, options: list[str], root: Path, name: str
) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "stemsite.wsgi", "--bind", f"127.0.0.1:{port}", *options],
        cwd=REPO,
        env=env,
        stdout=open(root / f"gunicorn-{name}.out", "w"),  # noqa: SIM115
        stderr=open(root / f"gunicorn-{name}.err", "w"),  # noqa: SIM115
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2):
                return server
        except (urllib.error.URLError, OSError):
            if server.poll() is not None:
                raise SystemExit((root / f"gunicorn-{name}.err").read_text()) from None
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not answer /healthz/ within 60 s")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user and system) used so far by each named process and its children
    alive now (gunicorn's workers), and by this driver's finished children (locust)."""
    used = {}
    for name, pid in pids.items():
        try:
            process = psutil.Process(pid)
            tree = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            used[name] = 0.0
            continue
        total = 0.0
        for member in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = member.cpu_times()
                total += times.user + times.system
        used[name] = total
    finished = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["locust"] = finished.ru_utime + finished.ru_stime
    return used


def cpu_used(before: dict[str, float], after: dict[str, float], row: dict) -> dict:
    """Who used the machine's cores during one level: the server under load, locust
    and the editor (its saves, index writes and checks), in CPU seconds, and the
    server's CPU milliseconds per answered request."""
    used = {name: round(after[name] - before[name], 1) for name in before}
    requests = int(row["total"]["Request Count"])
    used["server_ms_per_request"] = round(1000 * used["server"] / requests, 1) if requests else None
    return used


def drive(
    level: int, mix: str, mode: str, seconds: int, port: int, root: Path, env: dict, slugs: Path
) -> dict:
    prefix = root / f"locust-{level}-{mix}-{mode}"
    errors = root / f"5xx-{level}-{mix}-{mode}.json"
    run(
        [
            str(BIN / "locust"),
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "--only-summary",
            "--users",
            str(level),
            "--spawn-rate",
            str(level),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--exit-code-on-error",
            "0",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(prefix),
            "--loglevel",
            "WARNING",
        ],
        {**env, "LOADTEST_SLUGS": str(slugs), "LOADTEST_5XX": str(errors), "LOADTEST_MIX": mix},
    )
    with open(f"{prefix}_stats.csv", newline="") as stats:
        by_name = {row["Name"]: row for row in csv.DictReader(stats)}
    total = by_name.pop("Aggregated")
    server_errors = json.loads(errors.read_text()) if errors.exists() else {}
    answers = Path(f"{errors}.cache")
    cache_answers = json.loads(answers.read_text()) if answers.exists() else {}
    by_kind = Path(f"{errors}.cache-by-name")
    hits_by_name = json.loads(by_kind.read_text()) if by_kind.exists() else {}
    return {
        "level": level,
        "mix": mix,
        "mode": mode,
        "total": total,
        "by_name": by_name,
        "5xx": sum(server_errors.values()),
        "hits": cache_answers.get("hit", 0),
        "misses": cache_answers.get("miss", 0),
        "revalidated": cache_answers.get("revalidated", 0),
        "hits_by_name": {
            name: {
                "hits": counts.get("hit", 0),
                "misses": counts.get("miss", 0),
                "revalidated": counts.get("revalidated", 0),
            }
            for name, counts in hits_by_name.items()
        },
        "load": os.getloadavg()[0],
    }


def report(rows: list[dict], seconds: int, options: list[str]) -> None:
    print(
        f"\ngunicorn {' '.join(options)}; {seconds} s per level, mix and mode; "
        f"an editor saves every {EDITOR_INTERVAL} s (or as soon as the last save and checks end)\n"
    )
    print(
        "| readers | mix | cache | requests | req/s | p50 | p95 | p99 | max | 5xx | other failures "
        "| hits | saves | stale | lost | load |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        t = row["total"]
        others = int(t["Failure Count"]) - row["5xx"]
        print(
            f"| {row['level']} | {row['mix']} | {row['mode']} | {t['Request Count']} | {float(t['Requests/s']):.1f} "
            f"| {t['50%']} ms | {t['95%']} ms | {t['99%']} ms | {float(t['Max Response Time']):.0f} ms "
            f"| {row['5xx']} | {others} | {hit_rate(row)} | {row['saves']} | {row['stale']} "
            f"| {row['lost_updates']} "
            f"| {row['load']:.1f} |"
        )
    print("\np95 by kind of request (ms):\n")
    names = sorted({name for row in rows for name in row["by_name"]})
    heads = [f"{row['level']} {row['mix']} {row['mode']}" for row in rows]
    print("| request | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(rows))
    for name in names:
        cells = [row["by_name"].get(name, {}).get("95%", "") for row in rows]
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    print(
        f"\nCPU seconds used during each level ({os.cpu_count()} cores x the level's length): "
        "the server, locust, the editor; the server's CPU per request:\n"
    )
    print("| level | server | locust | editor | server ms/request |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        cpu = row["cpu"]
        print(
            f"| {row['level']} {row['mix']} {row['mode']} | {cpu['server']} | {cpu['locust']} "
            f"| {cpu['editor']} | {cpu['server_ms_per_request']} |"
        )
    cached = [row for row in rows if row["mode"] == "on"]
    if cached:
        print("\nPage cache hits by kind of request (cache on):\n")
        print("| request | " + " | ".join(f"{row['level']} {row['mix']}" for row in cached) + " |")
        print("|---|" + "---:|" * len(cached))
        for name in names:
            cells = [
                hit_rate(row["hits_by_name"].get(name, {"hits": 0, "misses": 0})) for row in cached
            ]
            print(f"| `{name}` | " + " | ".join(cells) + " |")


def hit_rate(row: dict) -> str:
    """The share of cacheable answers the page cache gave without building the page, and
    beside it (`+ n% rev.`) the share it served again after asking the engine
    (`X-Page-Cache: revalidated`, `pagecache.answers`)."""
    revalidated = row.get("revalidated", 0)
    answered = row["hits"] + row["misses"] + revalidated
    if not answered:
        return "-"
    share = f"{100 * row['hits'] / answered:.0f}%"
    return share + (f" + {100 * revalidated / answered:.0f}% rev." if revalidated else "")


def editor_entries(log_path: Path) -> list[dict]:
    return [json.loads(line) for line in log_path.read_text().splitlines()]


def searchable(port: int, slug: str, token: str) -> list[str]:
    url = f"http://127.0.0.1:{port}/api/search/?q={token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        found = [r["slug"] for r in json.load(response)["results"]]
    return [] if found == [slug] else [f"{slug} ({token}: found {found})"]


def check_phase(log_path: Path, phase: str, port: int) -> dict:
    """One level and mode's saves: failed, stale answers after them, and lost updates
    (an article's last version saved in the phase that a search does not find)."""
    entries = [e for e in editor_entries(log_path) if e["phase"] == phase]
    last = {e["slug"]: e["token"] for e in entries if e["ok"]}
    lost = [item for slug, token in sorted(last.items()) for item in searchable(port, slug, token)]
    stale = [e for e in entries if e["stale"]]
    for entry in stale[:5]:
        print(f"stale after saving {entry['slug']} ({entry['token']}): {entry['stale']}")
    for item in lost[:5]:
        print(f"lost update: {item}")
    times = sorted(e["ms"] for e in entries)
    return {
        "saves": len(entries),
        "failed_saves": sum(1 for e in entries if not e["ok"]),
        "stale": sum(len(e["stale"]) for e in entries),
        "lost_updates": len(lost),
        "save_p95": times[int(0.95 * (len(times) - 1))] if times else None,
    }


def check_saves(log_path: Path, port: int) -> list[str]:
    """Every article's last saved version must be what a search for its word finds."""
    entries = editor_entries(log_path)
    failed = [e for e in entries if not e["ok"]]
    last = {e["slug"]: e["token"] for e in entries if e["ok"]}
    lost = [item for slug, token in sorted(last.items()) for item in searchable(port, slug, token)]
    times = sorted(e["ms"] for e in entries)
    p95 = times[int(0.95 * (len(times) - 1))] if times else 0
    print(
        f"\nEditor: {len(entries)} saves of {len(last)} articles, {len(failed)} failed, "
        f"save p95 {p95} ms (index update included); last versions searchable: "
        f"{len(last) - len(lost)} of {len(last)}; "
        f"{sum(len(e['stale']) for e in entries)} stale answers after saves"
    )
    return [f"lost update at the end: {item}" for item in lost]


def number(text: str) -> float | None:
    """A figure from locust's CSV ("N/A" when a run got no answers)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def figures(row: dict) -> dict:
    t = row["total"]
    return {
        "level": row["level"],
        "mix": row["mix"],
        "mode": row["mode"],
        "requests": int(t["Request Count"]),
        "rps": round(number(t["Requests/s"]) or 0.0, 1),
        "p50_ms": number(t["50%"]),
        "p95_ms": number(t["95%"]),
        "p99_ms": number(t["99%"]),
        "max_ms": number(t["Max Response Time"]),
        "5xx": row["5xx"],
        "cache_hits": row["hits"],
        "cache_misses": row["misses"],
        "cache_revalidated": row.get("revalidated", 0),
        "failed_saves": row["failed_saves"],
        "lost_updates": row["lost_updates"],
        "stale": row["stale"],
        "saves": row["saves"],
        "save_p95_ms": row["save_p95"],
        "load": round(row["load"], 2),
        "cpu_seconds": row["cpu"],
        "p95_by_request_ms": {name: number(r["95%"]) for name, r in row["by_name"].items()},
        "cache_by_request": row["hits_by_name"],
    }


def targets(rows: list[dict]) -> list[dict]:
    """Issue 21's targets, from this run's own rows, per mix: 16 readers cached against
    uncached, p95 at 16 cached readers against 1, and nothing stale, lost or failed."""
    by = {(r["level"], r["mix"], r["mode"]): figures(r) for r in rows}
    verdicts = []
    for mix in dict.fromkeys(r["mix"] for r in rows):
        if (16, mix, "on") in by and (16, mix, "off") in by:
            ratio = by[16, mix, "on"]["rps"] / max(by[16, mix, "off"]["rps"], 0.001)
            verdicts.append({"target": f"rps at 16 readers, cache on >= 4x off ({mix})",
                             "value": round(ratio, 2), "met": ratio >= 4})  # fmt: skip
        if (16, mix, "on") in by and (1, mix, "on") in by:
            ratio = (by[16, mix, "on"]["p95_ms"] or 0) / max(by[1, mix, "on"]["p95_ms"] or 0, 0.001)
            verdicts.append({"target": f"p95 at 16 readers <= 3x p95 at 1 (cache on, {mix})",
                             "value": round(ratio, 2), "met": ratio <= 3})  # fmt: skip
    bad = sum(f["5xx"] + f["lost_updates"] + f["stale"] + f["failed_saves"] for f in by.values())
    verdicts.append({"target": "0 5xx, lost updates, stale answers, failed saves", "value": bad,
                     "met": bad == 0})  # fmt: skip
    for verdict in verdicts:
        verdict["text"] = (
            f"{'MET ' if verdict['met'] else 'MISSED'}  {verdict['target']}: {verdict['value']}"
        )
    return verdicts


def write_json(path: Path, rows: list[dict], verdicts: list[dict], failures: list[str],
               started_load: tuple, **run: object) -> None:  # fmt: skip
    path.write_text(
        json.dumps(
            {
                "machine": machine(),
                "load_average_at_start": [round(x, 2) for x in started_load],
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                **run,
                "editor_interval_s": EDITOR_INTERVAL,
                "page_cache": cache_in_use(),
                "rows": [figures(r) for r in rows],
                "targets": verdicts,
                "failures": failures,
            },
            indent=2,
        )
    )
    print(f"Figures written to {path}")


if __name__ == "__main__":
    sys.exit(main())
