"""Throttled admin logins, the API rate limit, client addresses behind proxies, headers.

The rate limit's counter must hold across worker processes: one test increments it from
several processes at once, another hammers a real three-worker gunicorn.
"""

from __future__ import annotations

import datetime
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a-long-and-correct-password-7"
LOCKED_MESSAGE = "Too many failed login attempts"


# --- Admin logins ------------------------------------------------------------------------


@pytest.fixture
def staff(db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast
    return User.objects.create_user("alex", password=PASSWORD, is_staff=True)


def log_in(client, password: str, *, username: str = "alex", address: str = "192.0.2.10"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_wrong_passwords_lock_the_login_even_with_the_right_password(client, staff):
    for left in (2, 1):
        wrong = log_in(client, "not-the-password")
        assert wrong.status_code == 200  # the login form again
        page = wrong.content.decode()
        assert "Please enter the correct username and password" in page
        assert (
            f"{left} attempt{'s' if left > 1 else ''} left before logins to this account "
            "from your address are locked for 15 minutes."
        ) in page
    assert LOCKED_MESSAGE in log_in(client, "not-the-password").content.decode()  # the third

    refused = log_in(client, PASSWORD)

    page = refused.content.decode()
    assert refused.status_code == 429
    assert LOCKED_MESSAGE in page
    assert "locked for 15 minutes" in page
    lifts = timezone.localtime(timezone.now() + datetime.timedelta(minutes=15))
    assert re.search(
        r"Attempts remaining: none until the lock lifts, at <time[^>]*>(\d\d:\d\d) \(\w+\)</time>, "
        r"in about 15 minutes\. Then you have 3 attempts again\.",
        page,
    )
    shown = re.search(r"lock lifts, at <time[^>]*>(\d\d):(\d\d)", page).groups()
    shown_minutes = int(shown[0]) * 60 + int(shown[1])
    assert abs(shown_minutes - (lifts.hour * 60 + lifts.minute)) % (24 * 60) <= 1
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_the_lock_is_per_username_and_address(client, staff):
    User.objects.create_user("sam", password=PASSWORD, is_staff=True)
    for _ in range(3):
        log_in(client, "not-the-password")

    assert log_in(client, PASSWORD, username="sam").status_code == 302
    client.logout()
    assert log_in(client, PASSWORD, address="198.51.100.7").status_code == 302


@pytest.mark.parametrize("command", [["axes_reset"], ["axes_reset_username", "alex"]])
def test_an_operator_unlocks_the_account_as_the_readme_says(client, staff, command):
    for _ in range(3):
        log_in(client, "not-the-password")
    assert log_in(client, PASSWORD).status_code == 429

    call_command(*command, verbosity=0)

    response = log_in(client, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_good_login_clears_earlier_failures(client, staff):
    for _ in range(2):
        log_in(client, "not-the-password")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()

    for _ in range(2):
        log_in(client, "not-the-password")
    assert log_in(client, PASSWORD).status_code == 302


# --- The API rate limit ------------------------------------------------------------------


WINDOW_START = 60 * 28_333_334  # a minute boundary


@pytest.fixture
def limit(settings, monkeypatch):
    """5 requests a minute, with the clock held 10 s into a minute (no window ends mid-test)."""
    settings.API_RATE_LIMIT = 5
    settings.API_RATE_LIMIT_PERIOD = 60
    monkeypatch.setattr("stemsite.middleware.time.time", lambda: WINDOW_START + 10.0)
    return 5


def suggest(client, **meta):
    return client.get("/api/suggest/", {"q": ""}, **meta)


def test_over_the_limit_the_api_answers_429_json_with_retry_after(client, limit):
    answers = [suggest(client).status_code for _ in range(limit)]
    refused = suggest(client)

    assert answers == [200] * limit
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert refused["Retry-After"] == "50"  # the window ends 50 s later
    assert refused.json()["error"] == (
        "Too many requests: at most 5 every 60 seconds from one address. Try again in 50 seconds."
    )


def test_api_answers_say_the_limit_what_remains_and_when_it_resets(client, limit):
    answers = [suggest(client) for _ in range(limit + 1)]

    headers = [
        (a.status_code, a["RateLimit-Limit"], a["RateLimit-Remaining"], a["RateLimit-Reset"])
        for a in answers
    ]
    assert headers == [
        (200, "5", "4", "50"),
        (200, "5", "3", "50"),
        (200, "5", "2", "50"),
        (200, "5", "1", "50"),
        (200, "5", "0", "50"),
        (429, "5", "0", "50"),
    ]
    refused = answers[-1]
    assert refused["Retry-After"] == refused["RateLimit-Reset"]
    assert refused["Cache-Control"] == "no-store"


def test_the_limit_is_per_client_address(client, limit):
    for _ in range(limit):
        suggest(client, REMOTE_ADDR="192.0.2.1")

    assert suggest(client, REMOTE_ADDR="192.0.2.1").status_code == 429
    assert suggest(client, REMOTE_ADDR="192.0.2.2").status_code == 200


def test_a_forged_forwarded_for_header_is_ignored_by_default(client, limit):
    for n in range(limit):
        suggest(client, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    assert suggest(client, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, limit, settings):
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.CLIENT_IP_TRUSTED_PROXIES = 1
    for _ in range(limit):
        # What the client wrote (left) is ignored; the proxy appended the real address.
        suggest(client, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5", REMOTE_ADDR="10.0.0.1")

    assert suggest(client, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.5").status_code == 429
    assert suggest(client, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.6").status_code == 200


def test_ipv6_clients_are_counted_by_their_64_network(client, limit):
    for n in range(limit):
        suggest(client, REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")

    assert suggest(client, REMOTE_ADDR="2001:db8:1:2:ffff::1").status_code == 429
    assert suggest(client, REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


def test_pages_outside_the_api_are_not_counted(client, limit):
    for _ in range(limit * 2):
        assert client.get("/healthz/").status_code == 200

    assert suggest(client).status_code == 200


def test_a_limit_of_zero_turns_it_off(client, settings):
    settings.API_RATE_LIMIT = 0

    assert {suggest(client).status_code for _ in range(30)} == {200}


def test_the_counter_is_exact_when_processes_increment_at_once(tmp_path):
    script = (
        "import sys; from stemsite.cache import LockedFileBasedCache as C; "
        "c = C(sys.argv[1], {}); c.add('k', 0, timeout=600); "
        "[c.incr('k') for _ in range(100)]"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "c")], cwd=ROOT)
        for _ in range(4)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0, 0]

    from stemsite.cache import LockedFileBasedCache

    assert LockedFileBasedCache(str(tmp_path / "c"), {}).get("k") == 400


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_limit_holds_across_gunicorn_workers(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env |= {
        "DJANGO_SECRET_KEY": "test-only-secret-key-for-the-gunicorn-rate-limit-test-0123",
        "DJANGO_HTTPS": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "STEMSITE_VAR_DIR": str(tmp_path),
        "STEMSITE_API_RATE_LIMIT": "40",
        "STEMSITE_API_RATE_PERIOD": "86400",  # a window ending mid-test is very unlikely
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "stemsite.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "3", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def get(_n: int) -> int:
        connection = HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", "/api/suggest/?q=")
            return connection.getresponse().status
        finally:
            connection.close()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(get, range(90)))
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert statuses.count(200) == 40
    assert statuses.count(429) == 50


# --- Headers -----------------------------------------------------------------------------


def test_pages_send_a_strict_content_security_policy(client):
    response = client.get("/")

    policy = dict(
        [*part.strip().split(" ", 1), ""][:2]
        for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]


def test_pages_send_a_permissions_policy(client):
    header = client.get("/")["Permissions-Policy"]

    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in header


def test_culling_removes_expired_counters_and_keeps_live_ones(tmp_path, monkeypatch):
    from stemsite import cache as cache_module

    monkeypatch.setattr(cache_module, "CULL_EVERY", 1)  # cull on every write
    cache = cache_module.LockedFileBasedCache(str(tmp_path / "c"), {"OPTIONS": {"MAX_ENTRIES": 4}})
    cache.add("live", 0, timeout=600)
    cache.incr("live")
    for n in range(3):
        cache.set(f"old-{n}", 0, timeout=-1)  # already expired: a past window's counter

    cache.add("new", 0, timeout=600)  # the directory is full: culling runs

    assert cache.get("live") == 1
    assert cache.get("new") == 0
    assert sorted(p.name for p in (tmp_path / "c").glob("*.djcache")) == sorted(
        Path(cache._key_to_file(key)).name for key in ("live", "new")
    )
