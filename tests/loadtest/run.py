"""The load test: `make loadtest`, or `python -m tests.loadtest.run`. Never part of `make test`.

In a throw-away directory it migrates a SQLite database, loads the shipped content plus
generated articles, rebuilds the index and starts gunicorn with the production settings
on a free loopback port. Then, while an editor process saves an article every half
second through the ORM (each save adds a unique word to the summary), locust drives
the readers of `locustfile.py` at each concurrency level for a bounded time. It prints
requests/s and p50/p95/p99 per level (and per kind of request), the 5xx count, whether
every article's last saved version is searchable, and `check_index`'s verdict. It exits
non-zero on any 5xx, lost update, failed save or index difference, and always stops
gunicorn and the editor.

Environment:
    LOADTEST_ARTICLES=5000       generated articles besides the shipped ones
    LOADTEST_LEVELS=1,4,16,32    concurrent readers, one run each
    LOADTEST_SECONDS=30          length of each run
    LOADTEST_GUNICORN="…"        gunicorn options (default: the README's production ones)
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
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.loadtest import replica

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The production command of README.md ("Running in production"), on loopback.
GUNICORN = "--workers 2 --threads 4 --timeout 30 --graceful-timeout 5"
EDITOR_INTERVAL = 0.5
EDITED_ARTICLES = 25  # the editor cycles through this many published articles

EDITOR = """
import json, sys, time
import django
django.setup()
from library.models import Article

log_path, stop_path, interval, count, limit = sys.argv[1:6]
articles = list(Article.objects.published().order_by("pk")[: int(count)])
originals = {a.pk: a.summary for a in articles}
deadline = time.monotonic() + float(limit)
n = 0
with open(log_path, "a") as log:
    while time.monotonic() < deadline and not __import__("os").path.exists(stop_path):
        started = time.monotonic()
        article = articles[n % len(articles)]
        token = f"rev{n:05d}x"
        article.summary = f"{originals[article.pk]} Revision {token}."
        try:
            article.save()
            entry = {"slug": article.slug, "token": token, "ok": True}
        except Exception as exc:
            entry = {"slug": article.slug, "token": token, "ok": False, "error": repr(exc)}
        entry["ms"] = round((time.monotonic() - started) * 1000, 1)
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
print(json.dumps({
    "articles": list(Article.objects.published().values_list("slug", flat=True)[:2000]),
    "disease": list(Disease.objects.values_list("slug", flat=True)),
    "therapy": list(Therapy.objects.values_list("slug", flat=True)),
    "tag": list(Tag.objects.values_list("slug", flat=True)),
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
    gunicorn_options = os.environ.get("LOADTEST_GUNICORN", GUNICORN).split()
    reuse = os.environ.get("LOADTEST_DIR")
    root = Path(reuse) if reuse else Path(tempfile.mkdtemp(prefix="stemsite-loadtest-"))
    port = free_port()
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
    server = editor = None
    failures: list[str] = []
    print(f"Load test in {root}: {articles} generated articles, levels {levels}, {seconds} s each")
    print(machine())
    try:
        if not reuse:
            setup(env, articles)
        slugs = root / "slugs.json"
        slugs.write_text(run([sys.executable, "-c", SLUGS], env).stdout)
        server = start_server(env, port, gunicorn_options, root)
        stop_file = root / "editor.stop"
        editor_log = root / "editor.jsonl"
        stop_file.unlink(missing_ok=True)
        editor_log.unlink(missing_ok=True)
        time_limit = len(levels) * (seconds + 30) + 60
        editor = subprocess.Popen(
            [
                sys.executable,
                "-c",
                EDITOR,
                str(editor_log),
                str(stop_file),
                str(EDITOR_INTERVAL),
                str(EDITED_ARTICLES),
                str(time_limit),
            ],
            cwd=REPO,
            env=env,
        )
        if split:
            split.start()
        rows = [drive(level, seconds, port, root, env, slugs) for level in levels]
        stop_file.touch()
        editor.wait(timeout=60)
        report(rows, seconds, gunicorn_options)
        if split:
            print(split.report())
        failures += [f"{r['5xx']} server errors at {r['level']} readers" for r in rows if r["5xx"]]
        failures += check_saves(editor_log, port)
    except BaseException:
        stop(editor)
        stop(server)
        databases.close()  # leave no PostgreSQL cluster running
        raise
    finally:
        for process in (editor, server):
            stop(process)
    checked = run([sys.executable, "manage.py", "check_index"], env, check=False)
    print(f"check_index (exit {checked.returncode}): {checked.stdout.strip()}")
    if checked.returncode != 0:
        failures.append(f"check_index: {checked.stdout.strip()} {checked.stderr.strip()}")
    databases.close()
    if os.environ.get("LOADTEST_KEEP") == "1" or reuse:
        print(f"Kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    for failure in failures:
        print(f"FAIL  {failure}")
    print("PASS  no 5xx, no lost update, index in step" if not failures else "")
    return 1 if failures else 0


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


def start_server(env: dict, port: int, options: list[str], root: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "stemsite.wsgi", "--bind", f"127.0.0.1:{port}", *options],
        cwd=REPO,
        env=env,
        stdout=open(root / "gunicorn.out", "w"),  # noqa: SIM115
        stderr=open(root / "gunicorn.err", "w"),  # noqa: SIM115
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2):
                return server
        except (urllib.error.URLError, OSError):
            if server.poll() is not None:
                raise SystemExit((root / "gunicorn.err").read_text()) from None
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


def drive(level: int, seconds: int, port: int, root: Path, env: dict, slugs: Path) -> dict:
    prefix = root / f"locust-{level}"
    errors = root / f"5xx-{level}.json"
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
        {**env, "LOADTEST_SLUGS": str(slugs), "LOADTEST_5XX": str(errors)},
    )
    with open(f"{prefix}_stats.csv", newline="") as stats:
        by_name = {row["Name"]: row for row in csv.DictReader(stats)}
    total = by_name.pop("Aggregated")
    server_errors = json.loads(errors.read_text()) if errors.exists() else {}
    return {
        "level": level,
        "total": total,
        "by_name": by_name,
        "5xx": sum(server_errors.values()),
        "load": os.getloadavg()[0],
    }


def report(rows: list[dict], seconds: int, options: list[str]) -> None:
    print(f"\ngunicorn {' '.join(options)}; {seconds} s per level; an editor saves every 0.5 s\n")
    print("| readers | requests | req/s | p50 | p95 | p99 | max | 5xx | other failures | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        t = row["total"]
        others = int(t["Failure Count"]) - row["5xx"]
        print(
            f"| {row['level']} | {t['Request Count']} | {float(t['Requests/s']):.1f} "
            f"| {t['50%']} ms | {t['95%']} ms | {t['99%']} ms | {float(t['Max Response Time']):.0f} ms "
            f"| {row['5xx']} | {others} | {row['load']:.1f} |"
        )
    print("\np95 by kind of request (ms):\n")
    names = sorted({name for row in rows for name in row["by_name"]})
    print("| request | " + " | ".join(f"{row['level']} readers" for row in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for name in names:
        cells = [row["by_name"].get(name, {}).get("95%", "") for row in rows]
        print(f"| `{name}` | " + " | ".join(cells) + " |")


def check_saves(log_path: Path, port: int) -> list[str]:
    """Every article's last saved version must be what a search for its word finds."""
    entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    failed = [e for e in entries if not e["ok"]]
    last = {}
    for entry in entries:
        if entry["ok"]:
            last[entry["slug"]] = entry["token"]
    lost = []
    for slug, token in sorted(last.items()):
        url = f"http://127.0.0.1:{port}/api/search/?q={token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            found = [r["slug"] for r in json.load(response)["results"]]
        if found != [slug]:
            lost.append(f"{slug} ({token}: found {found})")
    times = sorted(e["ms"] for e in entries)
    p95 = times[int(0.95 * (len(times) - 1))] if times else 0
    print(
        f"\nEditor: {len(entries)} saves of {len(last)} articles, {len(failed)} failed, "
        f"save p95 {p95} ms (index update included); last versions searchable: "
        f"{len(last) - len(lost)} of {len(last)}"
    )
    problems = [f"save failed: {e['slug']} {e.get('error')}" for e in failed]
    problems += [f"lost update: {item}" for item in lost]
    return problems


if __name__ == "__main__":
    sys.exit(main())
