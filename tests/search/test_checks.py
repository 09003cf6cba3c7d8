"""The search app's system checks name a bad configuration instead of crashing: each
configured backend checks its own settings."""

from __future__ import annotations

import os

import pytest

from search.checks import check_search_backends


def ids(settings, path) -> list[str]:
    settings.SEARCH_BACKENDS = {
        "default": {"BACKEND": "search.backends.whoosh.WhooshBackend", "PATH": path}
    }
    return [message.id for message in check_search_backends()]


def test_an_existing_or_creatable_directory_passes(settings, tmp_path):
    assert ids(settings, tmp_path) == []
    assert ids(settings, tmp_path / "not" / "yet" / "created") == []


def test_a_file_where_the_directory_should_be_is_an_error(settings, tmp_path):
    (tmp_path / "index").write_text("")
    assert ids(settings, tmp_path / "index") == ["search.E002"]
    assert ids(settings, tmp_path / "index" / "below") == ["search.E004"]


def test_an_unset_directory_is_an_error(settings):
    assert ids(settings, "") == ["search.E001"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_directory_is_an_error(settings, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert ids(settings, locked) == ["search.E003"]
        assert ids(settings, locked / "index") == ["search.E004"]
    finally:
        locked.chmod(0o700)


def test_the_postgres_backend_on_another_database_is_an_error(settings, tmp_path):
    (tmp_path / "file").write_text("")
    settings.SEARCH_INDEX_DIR = tmp_path / "file"  # Whoosh's setting: not checked here
    settings.SEARCH_BACKENDS = {
        "default": {"BACKEND": "search.backends.postgres.PostgresBackend", "DATABASE": "default"}
    }
    messages = check_search_backends()
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        assert messages == []
    else:
        assert [m.id for m in messages] == ["search.E010"]
        assert "needs a PostgreSQL database" in messages[0].msg


def test_an_unknown_engine_is_an_error(settings, tmp_path):
    settings.SEARCH_BACKEND = "elastic"
    assert ids(settings, tmp_path) == ["search.E011"]
