"""One benchmark task in a child process: `python -m tests.bench.worker TASK 'JSON args'`.

The driver (`tests.bench.run`) starts this with the throw-away environment of one
corpus size (DATABASE_URL, SEARCH_INDEX_DIR, ...). Requests go through Django's test
`Client`: in-process, through the full middleware stack, no HTTP server or socket in
between, so the figures are the site's own cost with less noise. The result is one JSON
line on stdout after `RESULT_MARK`; everything else goes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

RESULT_MARK = "BENCH-RESULT "
BASELINES = ("naive_full", "naive_plain", "fts5", "icontains")


def _setup() -> None:
    """Set the site up as a gunicorn worker does: by importing its WSGI module."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stemsite.settings")
    import stemsite.wsgi  # noqa: F401


def _maxrss_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self_maxrss_mb": round(own, 1), "children_maxrss_mb": round(children, 1)}


def _published_count() -> int:
    from library.models import Article

    return Article.objects.published().count()


def segment_counts() -> dict[str, int]:
    """Segments of the live Whoosh index under SEARCH_INDEX_DIR (every index if unsure)."""
    from django.conf import settings
    from whoosh.index import open_dir

    counts = {}
    root = Path(settings.SEARCH_INDEX_DIR)
    directories = {toc.parent for toc in root.rglob("*.toc")}
    with contextlib.suppress(OSError):  # the Whoosh backend's pointer to the live index
        live = root / (root / "CURRENT").read_text().strip()
        directories = {d for d in directories if d == live} or directories
    for directory in sorted(directories):
        names = {toc.name.rsplit("_", 1)[0].lstrip("_") for toc in directory.glob("_*_*.toc")}
        for name in names:
            try:
                ix = open_dir(str(directory), indexname=name)
                counts[f"{directory.relative_to(root)}/{name}"] = len(ix._segments())
                ix.close()
            except Exception as exc:  # an index being swapped
                counts[f"{directory.relative_to(root)}/{name}"] = f"error: {exc}"
    return counts


# --- Tasks -------------------------------------------------------------------------


def _children_cpu() -> float:
    """CPU time of the child processes that have ended (a parallel rebuild's writers)."""
    times = os.times()
    return times.children_user + times.children_system


def task_rebuild() -> dict:
    from django.core.management import call_command

    docs = _published_count()
    started, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    call_command("rebuild_index", quiet=True)
    own = time.process_time() - cpu
    children = _children_cpu() - children
    return {
        "seconds": time.perf_counter() - started,
        # Every process's CPU: the writer processes of a parallel rebuild included.
        "cpu_seconds": own + children,
        "own_cpu_seconds": own,
        "children_cpu_seconds": children,
        "docs": docs,
        "segments": segment_counts(),
        **_maxrss_mb(),
    }


def task_naive_build(path: str) -> dict:
    from tests.bench.baselines import NaiveWhoosh

    started, cpu = time.perf_counter(), time.process_time()
    docs = NaiveWhoosh(Path(path)).build()
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "docs": docs,
        **_maxrss_mb(),
    }


def task_fts5_build(path: str, text_index: str) -> dict:
    from tests.bench.baselines import Fts5

    started, cpu = time.perf_counter(), time.process_time()
    docs = Fts5(Path(path)).build(Path(text_index))
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "docs": docs,
        **_maxrss_mb(),
    }


def task_plain_pg_build() -> dict:
    """The plain PostgreSQL full-text baseline's table, in the Django database."""
    from tests.bench.baselines import PlainPostgres

    started = time.perf_counter()
    docs = PlainPostgres().build()
    return {"docs": docs, "seconds": time.perf_counter() - started}


def _clear_caches() -> None:
    from django.core.cache import caches

    for cache in caches.all(initialized_only=True):
        cache.clear()


def task_search(
    queries: list[list[str]],
    reps: int,
    naive_path: str,
    fts_path: str,
    baseline_reps: int,
    budget: float = 0,
    site: tuple[str, ...] | list[str] = ("page", "api"),
    plain_pg: bool = False,
) -> dict:
    """Every query through the site (`site`: the results page and/or the API, cold)
    and every baseline.

    The driver measures the page and the API in separate processes: the backend keeps
    what it read from the index between searches, so an API request for the same
    words just before a page would make the page's first touch of them look warm.
    Repetitions after the first stop once `budget` seconds have gone (when positive),
    so a slow search cannot make the benchmark run for an hour. With `plain_pg` (the
    PostgreSQL run), the plain PostgreSQL query is timed beside the page, every round.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.bench.baselines import Fts5, NaiveWhoosh, PlainPostgres, icontains_search

    client = Client()
    if naive_path:
        naive = NaiveWhoosh(Path(naive_path))
        naive.open()
        fts = Fts5(Path(fts_path))
        fts.open()

    def api(text):
        _clear_caches()
        response = client.get("/api/search/", {"q": text})
        if response.status_code != 200:
            raise RuntimeError(f"/api/search/?q={text!r}: {response.status_code}")
        return response

    def page(text):
        _clear_caches()
        response = client.get("/articles/", {"q": text})
        if response.status_code != 200:
            raise RuntimeError(f"/articles/?q={text!r}: {response.status_code}")
        return response

    methods = {name: method for name, method in (("page", page), ("api", api)) if name in site}
    if naive_path:  # no baselines for the PostgreSQL backend's run: measured once
        methods |= {
            "naive_full": lambda text: naive.search(text, facets=True),
            "naive_plain": lambda text: naive.search(text, facets=False),
            "fts5": fts.search,
            "icontains": icontains_search,
        }
    if plain_pg:
        methods["plain_pg"] = PlainPostgres().search
    site_error = None
    try:
        for name in site:
            {"page": page, "api": api}[name]("warm up")
    except Exception as exc:  # the site's search is not there yet: measure the baselines
        site_error = f"{type(exc).__name__}: {exc}"
        for name in site:
            methods.pop(name, None)
    # Warm-up (not timed): imports, the searchers, the synonym table, SQLite's page cache.
    for method in methods.values():
        method(queries[0][1])
    per_query: dict[str, dict] = {
        text: {
            "kind": kind,
            "times": {m: [] for m in methods},
            "cpu_times": {m: [] for m in methods},
        }
        for kind, text in queries
    }
    timed_from = time.perf_counter()
    reps_done = 0
    for rep in range(reps):
        if rep and budget and time.perf_counter() - timed_from > budget:
            break
        reps_done += 1
        for _kind, text in queries:
            info = per_query[text]
            for name, method in methods.items():
                if name in BASELINES and rep >= baseline_reps:
                    continue
                # The first round also keeps what each method answered (and the page's
                # SQL query count: capturing costs microseconds).
                capture = CaptureQueriesContext(connection) if rep == 0 and name == "page" else None
                started, cpu = time.perf_counter(), time.process_time()
                if capture is not None:
                    with capture:
                        answer = method(text)
                else:
                    answer = method(text)
                info["times"][name].append(time.perf_counter() - started)
                info["cpu_times"][name].append(time.process_time() - cpu)
                if rep == 0:
                    _remember(info, name, answer, capture)
    # A warm figure, only on request: the site keeps no result cache to warm.
    warm = []
    if os.environ.get("BENCH_WARM") and not site_error:
        for _kind, text in queries:
            page(text)
            started = time.perf_counter()
            client.get("/articles/", {"q": text})
            warm.append(time.perf_counter() - started)
    return {
        "queries": per_query,
        "page_warm": warm,
        "site_error": site_error,
        "reps": reps_done,
        **_maxrss_mb(),
    }


def _remember(info: dict, name: str, answer, capture) -> None:
    """Counts and suggestions of the first round, to compare what each method finds."""
    if name == "api":
        data = json.loads(answer.content)
        info["api_count"] = data.get("count")
        info["api_suggestion"] = data.get("suggestion")
        info["api_top"] = [r.get("slug") for r in data.get("results", [])[:3]]
    elif name == "page":
        info["page_sql_queries"] = len(capture)
    elif name in BASELINES and isinstance(answer, dict):
        info[f"{name}_total"] = answer.get("total")


def task_browse(reps: int) -> dict:
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from library.models import Article

    published = Article.objects.published()
    through_d = Article.diseases.through.objects.filter(article__status="published")
    disease = (
        through_d.values("disease__slug").annotate(n=Count("id")).order_by("-n")[0]["disease__slug"]
    )
    pair = (
        published.filter(diseases__slug=disease)
        .values("therapies__slug")
        .annotate(n=Count("id"))
        .order_by("-n")[0]["therapies__slug"]
    )
    tag = (
        published.filter(diseases__slug=disease, therapies__slug=pair)
        .values("tags__slug")
        .annotate(n=Count("id"))
        .order_by("-n")[0]["tags__slug"]
    )
    pages = {
        "floor /healthz/": "/healthz/",
        "browse: no filter": "/articles/",
        "browse: one disease": f"/articles/?disease={disease}",
        "browse: disease+therapy+tag": f"/articles/?disease={disease}&therapy={pair}&tag={tag}",
        "browse: page 40": "/articles/?page=40",
    }
    client = Client()
    results = {}
    for name, url in pages.items():
        for _ in range(3):  # warm-up
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code}")
        counts = set()
        times, cpu_times = [], []
        for _ in range(reps):
            with CaptureQueriesContext(connection) as captured:
                started, cpu = time.perf_counter(), time.process_time()
                client.get(url)
                times.append(time.perf_counter() - started)
                cpu_times.append(time.process_time() - cpu)
            counts.add(len(captured))
        results[name] = {
            "url": url,
            "times": times,
            "cpu_times": cpu_times,
            "sql_queries": sorted(counts),
        }
    return {"pages": results, **_maxrss_mb()}


@dataclass(frozen=True)
class _Save:
    searchable: float  # seconds from the save's start until search finds it
    committed: float  # seconds until commit and the on_commit callbacks were done
    cpu: float  # CPU seconds of this process over the same span as `searchable`
    polls: int


def _save_until_searchable(client, article_id: int, rng: random.Random) -> _Save:
    """An editor-style save (ORM save in a transaction) adding a new word to the title,
    then the search API polled until it finds the article by that word."""
    from django.db import transaction

    from library.models import Article

    article = Article.objects.get(pk=article_id)
    token = "qz" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
    started, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic():
        article.title = f"{article.title} {token}"
        article.save()
    committed = time.perf_counter()  # after commit and the on_commit callbacks
    polls = 0
    while True:
        polls += 1
        data = json.loads(client.get("/api/search/", {"q": token}).content)
        if any(hit.get("slug") == article.slug for hit in data.get("results", [])):
            now = time.perf_counter()
            return _Save(now - started, committed - started, time.process_time() - cpu, polls)
        if time.perf_counter() - started > 30:
            raise RuntimeError(f"article {article.pk} not searchable 30 s after saving")
        time.sleep(0.002)


def task_incremental(reps: int) -> dict:
    """Editor-style saves, each until the search API finds it."""
    from django.test import Client

    from library.models import Article

    rng = random.Random(4)
    ids = list(Article.objects.published().values_list("pk", flat=True))
    client = Client()
    client.get("/api/search/", {"q": "warm up"})
    before = segment_counts()
    saves = [_save_until_searchable(client, rng.choice(ids), rng) for _ in range(reps)]
    return {
        "save_to_searchable": [save.searchable for save in saves],
        "save_and_commit": [save.committed for save in saves],
        "polls": [save.polls for save in saves],
        "segments_before": before,
        "segments_after": segment_counts(),
        **_maxrss_mb(),
    }


#: Saves per repetition of the editorial-overhead task: saves are quick, so more of
#: them per repetition than rounds of queries.
EDITORIAL_SAVES_PER_REP = 5


def _editorial_off():
    """Revisions and search-term recording switched off; the rest of the site as it is."""
    from django.test import override_settings

    stack = contextlib.ExitStack()
    stack.enter_context(override_settings(SIMPLE_HISTORY_ENABLED=False))
    stack.enter_context(mock.patch("library.views.record_after_response", lambda *a, **k: None))
    return stack


def task_editorial_overhead(queries: list[list[str]], reps: int) -> dict:
    """What issue 10's features cost: revisions on every save, search terms on every search.

    The same save (`EDITORIAL_SAVES_PER_REP` per repetition) and the same cold results
    page for every query, with those features on and off. "Off" is
    `SIMPLE_HISTORY_ENABLED=False` for saves and no search-term recording for the
    results page; everything else is the production path. On and off alternate save
    by save and query by query, so that the index's occasional merge of small segments
    and any change in the machine's load fall on both halves alike.
    """
    from django.test import Client

    from library.models import Article

    rng = random.Random(10)
    ids = list(Article.objects.published().values_list("pk", flat=True))
    client = Client()
    client.get("/api/search/", {"q": "warm up"})
    samples = {
        f"{what}_{mode}": {"times": [], "cpu_times": []}
        for what in ("save", "page")
        for mode in ("on", "off")
    }

    def results_page(text: str) -> tuple[float, float]:
        _clear_caches()
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get("/articles/", {"q": text})  # the test client closes it
        if response.status_code != 200:
            raise RuntimeError(f"/articles/?q={text!r}: {response.status_code}")
        return time.perf_counter() - started, time.process_time() - cpu

    def record(name: str, wall: float, cpu: float) -> None:
        samples[name]["times"].append(wall)
        samples[name]["cpu_times"].append(cpu)

    def switched(mode: str):
        return _editorial_off() if mode == "off" else contextlib.nullcontext()

    for rep in range(reps):
        for n in range(2 * EDITORIAL_SAVES_PER_REP):
            mode = ("on", "off")[(n + rep) % 2]
            with switched(mode):
                save = _save_until_searchable(client, rng.choice(ids), rng)
            record(f"save_{mode}", save.searchable, save.cpu)
        for n, (_kind, text) in enumerate(queries):
            for mode in ("on", "off") if (n + rep) % 2 == 0 else ("off", "on"):
                with switched(mode):
                    record(f"page_{mode}", *results_page(text))
    return {"samples": samples}


def task_loaddata(path: str, slug_prefix: str, timeout: float = 300) -> dict:
    """`loaddata` of a public-format fixture, until every loaded article is searchable
    (giving up `timeout` seconds after the load started)."""
    from django.core.management import call_command

    from library.models import Article
    from search.backends import get_backend

    started, cpu = time.perf_counter(), time.process_time()
    call_command("loaddata", path, verbosity=0)
    returned = time.perf_counter()
    cpu_seconds = time.process_time() - cpu
    expected = set(
        Article.objects.published()
        .filter(slug__startswith=slug_prefix)
        .values_list("pk", flat=True)
    )
    loaded = Article.objects.filter(slug__startswith=slug_prefix).count()
    backend = get_backend()
    while True:
        check_started = time.perf_counter()
        missing = expected - set(backend.indexed())
        if not missing:
            break
        if check_started - started > timeout:
            raise RuntimeError(
                f"{len(missing)} loaded articles still not indexed after {timeout:g} s"
            )
        time.sleep(0.05)
    return {
        "seconds": check_started - started,
        "loaddata_returned": returned - started,
        "cpu_seconds": cpu_seconds,
        "articles": loaded,
        "published": len(expected),
        "segments": segment_counts(),
        **_maxrss_mb(),
    }


TASKS = {
    "rebuild": task_rebuild,
    "naive-build": task_naive_build,
    "fts5-build": task_fts5_build,
    "plain-pg-build": task_plain_pg_build,
    "search": task_search,
    "browse": task_browse,
    "incremental": task_incremental,
    "loaddata": task_loaddata,
    "editorial-overhead": task_editorial_overhead,
}


def main() -> None:
    task = sys.argv[1]
    kwargs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    _setup()
    result = TASKS[task](**kwargs)
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
