"""Read replicas, against a real primary and a real streaming hot standby.

`python -m tests.pg_cluster` starts both (the standby made with `pg_basebackup -R`, as
the README tells operators) and the test database, created on the primary, streams to
the standby like any other. A web machine (gunicorn on a loopback port) runs with
`DATABASE_REPLICA_URLS` naming the standby; the test writes to the primary, reads the
site as readers and editors do, and reads each server's own statement log (the web
machine's connections turn on `log_statement=all` for themselves) to see where every
statement went. Replay is paused on the standby to make it lag, and the standby is
stopped and started again, for real.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.db import connection

from library.models import Article
from search.models import SearchTerm
from tests import pg_cluster
from tests.conftest import make_article, make_disease
from tests.search.test_two_machines import (  # noqa: F401 (clean_index is a fixture)
    Editor,
    article_form,
    clean_index,
    eventually,
    machine,
)

# Committed for real: the standby replays what this test writes.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_index"),
]

ROOT = Path(__file__).resolve().parent.parent
WITHIN = 1.0  # seconds: a change on the primary is found through the replica
PASSWORD = "a-long-test-password"
# A statement, and its further lines (the server's log starts each with a tab).
STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*):(.*(?:\n\t.*)*)")
LAG_CHECK = "pg_is_in_recovery()"


@pytest.fixture(scope="module")
def cluster():
    servers = pg_cluster.servers_from_env()
    assert servers, "run through `python -m tests.pg_cluster`, as `make test` does"
    return servers


def url_for(port: int, **options: str) -> str:
    db = connection.settings_dict
    query = urllib.parse.urlencode(options, quote_via=urllib.parse.quote)
    return f"postgres://{db['USER']}@127.0.0.1:{port}/{db['NAME']}?{query}"


LOGGED = {"options": "-c log_statement=all", "application_name": "stemsite-web"}


@contextlib.contextmanager
def replica_machine(
    tmp_path: Path, cluster, max_lag: float = 5.0, replica_settings: str = "", before: str = ""
):
    """A web machine reading from the standby (after the replica URL `before`, if given);
    its statements are logged on each server."""
    primary, standby = cluster
    replica = {**LOGGED, "options": f"{LOGGED['options']} {replica_settings}".strip()}
    env = {
        "DATABASE_URL": url_for(primary.port, **LOGGED),
        "DATABASE_REPLICA_URLS": ",".join(filter(None, [before, url_for(standby.port, **replica)])),
        "DATABASE_REPLICA_MAX_LAG": str(max_lag),
    }
    started = Statements(cluster)
    with machine(tmp_path, "web", env) as base:
        # Its worker reads the search entries once as it starts (`search.backends.warm_up`,
        # on the primary, outside any request): done before a test counts a page's reads.
        seen: list[str] = []
        eventually(lambda: _warmed_up(started, seen), within=15)
        yield base


KEPT_ENTRIES = "pg_snapshot_xmin(pg_current_snapshot())"  # the warm-up's statement


def _warmed_up(statements: Statements, seen: list[str]) -> bool:
    for logged in statements.take().values():
        seen += logged
    return any(KEPT_ENTRIES in statement for statement in seen)


class Statements:
    """The statements each server logged since the last `take()`."""

    def __init__(self, cluster) -> None:
        self.logs = {"primary": cluster[0].log, "standby": cluster[1].log}
        self.offsets = {name: log.stat().st_size for name, log in self.logs.items()}

    def take(self) -> dict[str, list[str]]:
        found = {}
        for name, log in self.logs.items():
            with log.open("rb") as file:
                file.seek(self.offsets[name])
                text = file.read().decode(errors="replace")
                self.offsets[name] = file.tell()
            found[name] = [" ".join(m.group(1).split()) for m in STATEMENT.finditer(text)]
        return found


def reads(statements: list[str]) -> list[str]:
    """The page's own reads: SELECTs other than the replica's health check and a new
    connection's time-zone setting."""
    return [
        s
        for s in statements
        if s.startswith(("SELECT", "WITH")) and LAG_CHECK not in s and "set_config(" not in s
    ]


def get(base: str, path: str, opener=None) -> tuple[int, str]:
    opener = opener or urllib.request.build_opener()
    try:
        with opener.open(base + path, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def api_search(base: str, text: str) -> list[str]:
    status, body = get(base, "/api/search/?" + urllib.parse.urlencode({"q": text}))
    assert status == 200, body
    return [r["slug"] for r in json.loads(body)["results"]]


def reads_the_replica(cluster, web: str, path: str) -> bool:
    statements = Statements(cluster)
    get(web, path)
    return bool(reads(statements.take()["standby"]))


def failed_sign_in(web: str, opener) -> None:
    """A wrong password through the admin's login form, as a browser sends it."""
    page = get(web, "/admin/login/", opener)[1]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"csrfmiddlewaretoken": token, "username": "editor", "password": "wrong"}
    request = urllib.request.Request(
        f"{web}/admin/login/", data=urllib.parse.urlencode(form).encode()
    )
    request.add_header("Referer", f"{web}/admin/login/")
    assert "Please enter the correct username" in opener.open(request, timeout=15).read().decode()


def browser():
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


@contextlib.contextmanager
def replay_paused(standby):
    """The standby receives WAL but applies none of it: it falls behind, for real."""
    with psycopg.connect(url_for(standby.port), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")


@pytest.fixture
def library():
    lupus = make_disease("Lupus", slug="lupus")
    article = make_article(
        "Kidney care in lupus",
        slug="kidney",
        summary="Looking after the kidneys.",
        diseases=[lupus],
    )
    User.objects.create_superuser("editor", "editor@example.org", PASSWORD)
    return article


READER_PAGES = (
    "/",
    "/articles/",
    "/articles/?q=kidney",
    "/articles/kidney/",
    "/diseases/",
    "/diseases/lupus/",
    "/explore/",
    "/api/search/?q=kidney",
    "/api/suggest/?q=kid",
    "/feeds/articles/",
    "/sitemap.xml",
)


def test_an_article_published_on_the_primary_is_found_through_the_replica_within_a_second(
    tmp_path, cluster, library
):
    with replica_machine(tmp_path, cluster) as web:
        statements = Statements(cluster)
        editor = Editor(web, "editor", PASSWORD)
        editor.post(
            "/admin/library/article/add/",
            article_form(title="Marrow transplant basics", slug="marrow"),
        )
        took = eventually(lambda: api_search(web, "marrow") == ["marrow"], WITHIN)
        seen = statements.take()

    assert took <= WITHIN
    assert any('INSERT INTO "library_article"' in s for s in seen["primary"])
    assert not any(s.startswith("INSERT") for s in seen["standby"])
    assert any("search_entry" in s for s in reads(seen["standby"])), "search ran on the replica"


def test_reader_pages_and_the_api_issue_their_sql_on_the_replica(tmp_path, cluster, library):
    with replica_machine(tmp_path, cluster) as web:
        assert api_search(web, "kidney") == ["kidney"]  # connections made, replica checked
        for path in READER_PAGES:
            statements = Statements(cluster)
            status, body = get(web, path)
            seen = statements.take()

            assert status == 200, (path, body[:300])
            assert reads(seen["standby"]), f"{path} read nothing from the replica"
            assert reads(seen["primary"]) == [], f"{path} read from the primary"


def test_writes_reach_the_primary_and_never_fail_as_read_only(tmp_path, cluster, library):
    with replica_machine(tmp_path, cluster) as web:
        statements = Statements(cluster)
        editor = Editor(web, "editor", PASSWORD)  # a login: session and axes on the primary
        editor.post(
            f"/admin/library/article/{library.pk}/change/",
            article_form(title="Renal care in lupus", slug="kidney"),
        )
        assert get(web, "/articles/?q=renal")[0] == 200  # a reader's search is recorded
        for _ in range(2):  # a wrong password is counted by the login throttle
            failed_sign_in(web, browser())
        eventually(lambda: SearchTerm.objects.filter(query="renal").exists(), within=5)
        log = (tmp_path / "web.log").read_text()
        seen = statements.take()

    assert Article.objects.get(pk=library.pk).title == "Renal care in lupus"
    assert SearchTerm.objects.get(query="renal").count == 1
    assert AccessAttempt.objects.get(username="editor").failures_since_start == 2
    assert "read-only transaction" not in log
    assert "read-only transaction" not in cluster[1].log.read_text()
    assert not any(s.lstrip().startswith(("INSERT", "UPDATE", "DELETE")) for s in seen["standby"])


def test_an_editor_who_saves_reads_the_primary_while_the_replica_is_behind(
    tmp_path, cluster, library
):
    # A lag bound the paused standby stays under, so anonymous readers keep reading it.
    with replica_machine(tmp_path, cluster, max_lag=120) as web:
        editor = Editor(web, "editor", PASSWORD)
        assert "Kidney care in lupus" in get(web, "/articles/kidney/")[1]
        with replay_paused(cluster[1]):
            editor.post(
                f"/admin/library/article/{library.pk}/change/",
                article_form(title="Renal care in lupus", slug="kidney"),
            )
            statements = Statements(cluster)
            _, editors_page = get(web, "/articles/kidney/", editor.opener)
            editor_reads = statements.take()
            _, readers_page = get(web, "/articles/kidney/")
            reader_reads = statements.take()

            # A browser that wrote (a failed sign-in is a write) is pinned by a signed
            # cookie for a few seconds; the same cookie, forged, pins nothing.
            wrote = browser()
            failed_sign_in(web, wrote)
            _, pinned_page = get(web, "/articles/kidney/", wrote)
            forger = urllib.request.build_opener()
            forger.addheaders = [("Cookie", "stemsite_wrote=1")]
            _, forged_page = get(web, "/articles/kidney/", forger)

    assert "Renal care in lupus" in editors_page
    assert reads(editor_reads["primary"]) and not reads(editor_reads["standby"])
    assert "Kidney care in lupus" in readers_page, "a reader reads the (paused) replica"
    assert reads(reader_reads["standby"]) and not reads(reader_reads["primary"])
    assert "Renal care in lupus" in pinned_page
    assert "Kidney care in lupus" in forged_page


def test_a_replica_lagging_beyond_the_bound_is_left_until_it_catches_up(tmp_path, cluster, library):
    with replica_machine(tmp_path, cluster, max_lag=1) as web:
        assert api_search(web, "kidney") == ["kidney"]
        with replay_paused(cluster[1]):
            Article.objects.filter(pk=library.pk).update(title="Renal care in lupus")
            time.sleep(2.5)  # past the bound, and past the next health check
            _, page = get(web, "/articles/kidney/")
            ready = json.loads(get(web, "/readyz/")[1])
        eventually(lambda: reads_the_replica(cluster, web, "/articles/kidney/"), within=10)
        log = (tmp_path / "web.log").read_text()

    assert "Renal care in lupus" in page, "the lagging replica was not read"
    [(name, state)] = ready["checks"]["replicas"].items()
    assert name.startswith(f"replica1 (127.0.0.1:{cluster[1].port}/")
    assert state.startswith("lagging")
    assert "Reads fall back from replica replica1" in log
    assert "Reads return to replica replica1" in log


def test_with_the_standby_stopped_readers_are_served_by_the_primary(tmp_path, cluster, library):
    standby = cluster[1]
    with replica_machine(tmp_path, cluster) as web:
        assert api_search(web, "kidney") == ["kidney"]
        standby.stop()
        try:
            answers, read_on_primary = {}, []
            for path in READER_PAGES:
                statements = Statements(cluster)
                answers[path] = get(web, path)
                if reads(statements.take()["primary"]):
                    read_on_primary.append(path)
            ready_status, ready_body = get(web, "/readyz/")
        finally:
            standby.start()
        eventually(lambda: reads_the_replica(cluster, web, "/api/search/?q=kidney"), within=15)
        log = (tmp_path / "web.log").read_text()

    failed = {path: status for path, (status, _) in answers.items() if status != 200}
    assert failed == {}
    assert read_on_primary == list(READER_PAGES)
    assert "Kidney care in lupus" in answers["/articles/kidney/"][1]
    assert ready_status == 200
    ready = json.loads(ready_body)
    assert ready["status"] == "ok"
    [(name, state)] = ready["checks"]["replicas"].items()
    assert name.startswith(f"replica1 (127.0.0.1:{standby.port}/")
    assert state.startswith("down")
    assert ready["warning"] == f"replica {name} {state}: its reads go to the primary."
    assert "Reads fall back from replica replica1" in log
    assert "Reads return to replica replica1" in log
    assert "Traceback" not in log


@contextlib.contextmanager
def tables_locked_on_the_primary(cluster, seconds: float):
    """ACCESS EXCLUSIVE locks on the article and index tables, held `seconds` on the
    primary; the standby replays them, so its readers wait as the primary's do."""
    holder = psycopg.connect(url_for(cluster[0].port))
    holder.execute("LOCK TABLE library_article, search_entry IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(seconds, holder.commit)
    release.start()
    try:
        with psycopg.connect(url_for(cluster[0].port), autocommit=True) as other:
            # A synchronous commit flushes the WAL that holds the lock, so it streams.
            other.execute("SET synchronous_commit = on")
            other.execute("SELECT txid_current()")
        with psycopg.connect(url_for(cluster[1].port), autocommit=True) as standby:
            held = "SELECT count(*) FROM pg_locks WHERE relation = 'library_article'::regclass"
            eventually(lambda: standby.execute(held).fetchone()[0] > 0, within=5)
        yield
    finally:
        release.join()
        holder.close()


def test_a_replica_that_never_answers_leaves_its_reads_to_the_other(tmp_path, cluster, library):
    nobody = url_for(pg_cluster.free_port())  # replica1: nothing listens there
    with replica_machine(tmp_path, cluster, before=nobody) as web:
        answers, read_on_standby = {}, []
        for path in READER_PAGES:
            statements = Statements(cluster)
            answers[path] = get(web, path)
            seen = statements.take()
            if reads(seen["standby"]) and not reads(seen["primary"]):
                read_on_standby.append(path)
        ready = json.loads(get(web, "/readyz/")[1])
        log = (tmp_path / "web.log").read_text()

    assert {status for status, _ in answers.values()} == {200}
    assert read_on_standby == list(READER_PAGES)
    assert ready["status"] == "ok"
    states = list(ready["checks"]["replicas"].values())
    assert states[0].startswith("down: connection failed") and states[1] == "ok"
    assert ready["warning"].endswith(": its reads go to the other replicas.")
    assert "Reads fall back from replica replica1" in log


def test_a_replica_failing_mid_request_costs_the_reader_only_time(tmp_path, cluster, library):
    # The replica's health check reads no table and passes; then the page's own reads
    # fail there (its connection gives up waiting for a lock: an error from the server,
    # as when it goes away), and the page is read again from the primary.
    with replica_machine(tmp_path, cluster, replica_settings="-c lock_timeout=200") as web:
        answers = []
        for path in ("/articles/kidney/", "/api/search/?q=kidney"):
            eventually(lambda: reads_the_replica(cluster, web, "/diseases/"), within=10)
            with tables_locked_on_the_primary(cluster, seconds=1.5):
                answers.append(get(web, path))
        log = (tmp_path / "web.log").read_text()

    assert [status for status, _ in answers] == [200, 200]
    assert "Kidney care in lupus" in answers[0][1]
    assert json.loads(answers[1][1])["results"][0]["slug"] == "kidney"
    assert log.count("Reads fall back from replica replica1") == 2
    assert "canceling statement due to lock timeout" in log


def test_the_readmes_standby_commands_are_the_ones_the_tests_run():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### More than one machine", 1)[1].split("\n## ", 1)[0]
    options = " ".join(pg_cluster.BASEBACKUP_OPTIONS)
    assert re.search(rf"pg_basebackup .*-D \S+ {re.escape(options)}", section)
    assert "DATABASE_REPLICA_URLS=" in section
