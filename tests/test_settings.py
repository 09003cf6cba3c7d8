"""Settings come from the environment; production values pass `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "k3#9vq!x2Lp0-long-random-production-secret-value-7Hn4Rz8WmT6yB1cD",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "stemsite.example.org",
    "DJANGO_HTTPS": "1",
}


def run_manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean |= {"STEMSITE_VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("preload", ["0", "1"])
def test_check_deploy_is_clean_with_production_settings(tmp_path, preload):
    env = PRODUCTION_ENV | {"DJANGO_SECURE_HSTS_PRELOAD": preload}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_a_secret_key_production_refuses_to_start(tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = run_manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_database_url_selects_postgresql(tmp_path):
    env = PRODUCTION_ENV | {"DATABASE_URL": "postgres://site:pw@db.internal:5432/stemsite"}

    result = run_manage(
        "shell", "--no-imports", "-c",
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['ENGINE'], d['NAME'], d['HOST'])",
        env=env, tmp_path=tmp_path,
    )  # fmt: skip

    assert result.stdout.split() == ["django.db.backends.postgresql", "stemsite", "db.internal"]


def read_setting(expression: str, env: dict[str, str], tmp_path: Path) -> str:
    result = run_manage(
        "shell", "--no-imports", "-c", f"from django.conf import settings; print({expression})",
        env=env, tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_hsts_preload_is_opt_in(tmp_path):
    assert read_setting("settings.SECURE_HSTS_PRELOAD", PRODUCTION_ENV, tmp_path) == "False"
    opted_in = PRODUCTION_ENV | {"DJANGO_SECURE_HSTS_PRELOAD": "1"}
    assert read_setting("settings.SECURE_HSTS_PRELOAD", opted_in, tmp_path) == "True"


def test_throttling_is_configured_from_the_environment(tmp_path):
    env = PRODUCTION_ENV | {
        "STEMSITE_LOGIN_FAILURE_LIMIT": "7",
        "STEMSITE_LOGIN_COOLOFF_MINUTES": "30",
        "STEMSITE_API_RATE_LIMIT": "300",
        "STEMSITE_API_RATE_PERIOD": "120",
        "STEMSITE_CLIENT_IP_HEADER": "X-Real-IP",
        "STEMSITE_TRUSTED_PROXIES": "2",
    }
    expression = (
        "(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds(), "
        "settings.API_RATE_LIMIT, settings.API_RATE_LIMIT_PERIOD, settings.CLIENT_IP_HEADER, "
        "settings.CLIENT_IP_TRUSTED_PROXIES, settings.CACHES['ratelimit']['BACKEND'])"
    )

    assert read_setting(expression, env, tmp_path) == (
        "(7, 1800.0, 300, 120, 'X-Real-IP', 2, 'stemsite.cache.LockedFileBasedCache')"
    )
    assert read_setting(expression, PRODUCTION_ENV, tmp_path) == (
        "(5, 900.0, 120, 60, '', 1, 'stemsite.cache.LockedFileBasedCache')"
    )


def test_the_page_cache_is_configured_from_the_environment(tmp_path):
    expression = (
        "(settings.CACHES['default'], settings.CACHES['ratelimit']['BACKEND'], "
        "settings.PAGE_CACHE, settings.PAGE_CACHE_MAX_AGE, "
        "settings.PAGE_CACHE_STALE_WHILE_REVALIDATE, settings.PAGE_CACHE_RELEASE)"
    )
    env = PRODUCTION_ENV | {
        "CACHE_URL": "redis://cache.internal:6379/2",
        "STEMSITE_PAGE_CACHE": "0",
        "STEMSITE_PAGE_MAX_AGE": "0",
        "STEMSITE_PAGE_STALE_WHILE_REVALIDATE": "30",
        "STEMSITE_RELEASE": "abc123",
    }

    assert read_setting(expression, PRODUCTION_ENV, tmp_path) == (
        "({'BACKEND': 'django.core.cache.backends.locmem.LocMemCache', 'LOCATION': '', "
        "'OPTIONS': {'MAX_ENTRIES': 10000}, 'TIMEOUT': 86400}, "
        "'stemsite.cache.LockedFileBasedCache', True, 60, 60, '')"
    )
    assert read_setting(expression, env, tmp_path) == (
        "({'BACKEND': 'django.core.cache.backends.redis.RedisCache', "
        "'LOCATION': 'redis://cache.internal:6379/2', 'TIMEOUT': 86400}, "
        "'stemsite.cache.LockedFileBasedCache', False, 0, 30, 'abc123')"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "",
              "OPTIONS": {"MAX_ENTRIES": 10_000}, "TIMEOUT": 86_400}),
        ("locmem://pages?max_entries=5000&timeout=600",
         {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages",
          "OPTIONS": {"MAX_ENTRIES": 5000}, "TIMEOUT": 600}),
        ("memcached://m1:11211,m2:11211",
         {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
          "LOCATION": ["m1:11211", "m2:11211"], "TIMEOUT": 86_400}),
        ("file:///var/cache/stemsite",
         {"BACKEND": "stemsite.cache.LockedFileBasedCache",
          "LOCATION": "/var/cache/stemsite", "OPTIONS": {"MAX_ENTRIES": 10_000},
          "TIMEOUT": 86_400}),
        ("db://page_cache", {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                             "LOCATION": "page_cache", "OPTIONS": {"MAX_ENTRIES": 10_000},
                             "TIMEOUT": 86_400}),
        ("dummy://", {"BACKEND": "django.core.cache.backends.dummy.DummyCache",
                      "OPTIONS": {"MAX_ENTRIES": 10_000}, "TIMEOUT": 86_400}),
    ],
)  # fmt: skip
def test_cache_url_names_any_django_cache_backend(url, expected):
    from stemsite.cache import cache_from_url

    assert cache_from_url(url) == expected


def test_an_unknown_cache_url_is_named(tmp_path):
    result = run_manage("check", env=PRODUCTION_ENV | {"CACHE_URL": "mongo://x"}, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "CACHE_URL: unknown scheme 'mongo'" in result.stderr


def test_a_malformed_number_in_the_environment_is_named(tmp_path):
    result = run_manage(
        "check", env=PRODUCTION_ENV | {"STEMSITE_API_RATE_LIMIT": "lots"}, tmp_path=tmp_path
    )

    assert result.returncode != 0
    assert "STEMSITE_API_RATE_LIMIT must be a whole number, not 'lots'." in result.stderr


def test_a_worker_freezes_what_it_loaded_at_start_out_of_the_garbage_collector(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    script = (
        "import gc\nimport stemsite.wsgi\nprint(gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT, env=clean | PRODUCTION_ENV | {"STEMSITE_VAR_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    frozen, collected = map(int, result.stdout.split())
    assert frozen > 10_000  # Django and the site's modules: a full collection skips them
    assert collected < frozen / 10


def test_replicas_are_configured_from_the_environment(tmp_path):
    env = PRODUCTION_ENV | {
        "DATABASE_URL": "postgres://site:pw@db.internal:5432/stemsite",
        "DATABASE_REPLICA_URLS": "postgres://site:pw@replica-a:5432/stemsite, "
        "postgres://site:pw@replica-b:5433/stemsite?connect_timeout=5",
        "DATABASE_REPLICA_MAX_LAG": "2.5",
    }
    expression = (
        "(settings.DATABASE_REPLICAS, settings.DATABASE_REPLICA_MAX_LAG, "
        "[(settings.DATABASES[a]['HOST'], settings.DATABASES[a]['OPTIONS']['connect_timeout']) "
        "for a in settings.DATABASE_REPLICAS], settings.SEARCH_BACKENDS['default']['BACKEND'])"
    )

    assert read_setting(expression, env, tmp_path) == (
        "(['replica1', 'replica2'], 2.5, [('replica-a', 2), ('replica-b', 5)], "
        "'stemsite.replica_search.ReplicaPostgresBackend')"
    )
    # Without replicas nothing changes: no alias, the plain engine.
    plain = PRODUCTION_ENV | {"DATABASE_URL": "postgres://site:pw@db.internal:5432/stemsite"}
    assert read_setting(expression, plain, tmp_path) == (
        "([], 5.0, [], 'search.backends.postgres.PostgresBackend')"
    )


def test_replica_urls_that_cannot_serve_are_reported_by_check(tmp_path):
    env = PRODUCTION_ENV | {
        "DATABASE_REPLICA_URLS": "postgres://site:s3cret@replica-a/stemsite,"
        "replica-b:5432,mysql://site@replica-c/stemsite,postgres://site:s3cret@replica-d:port/x",
    }

    result = run_manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode == 1
    assert (
        "(stemsite.E001) DATABASE_REPLICA_URLS is set, but the primary database is sqlite3: "
        "replicas need a PostgreSQL primary, so every read goes to the primary." in result.stderr
    )
    assert "(stemsite.E002) DATABASE_REPLICA_URLS entry 2 does not parse: " in result.stderr
    assert "(stemsite.E002) DATABASE_REPLICA_URLS entry 3 is not a PostgreSQL URL." in result.stderr
    assert "(stemsite.E002) DATABASE_REPLICA_URLS entry 4 does not parse: " in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
