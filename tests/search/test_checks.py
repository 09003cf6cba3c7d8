"""The search app's system checks name a bad configuration instead of crashing: each
configured backend checks its own settings."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
from pathlib import Path

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


def test_an_unwritable_directory_is_an_error(settings, tmp_path):
    """Checked as an unprivileged user: root passes every permission check, so when the
    suite runs as root (as in CI) a forked child drops to "nobody" to run the check."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        try:
            assert ids(settings, locked) == ["search.E003"]
            assert ids(settings, locked / "index") == ["search.E004"]
        finally:
            locked.chmod(0o700)
        return
    # Under /tmp, not pytest's root-only tmp_path, so that "nobody" can reach it.
    base = Path(tempfile.mkdtemp(prefix="stemsite-checks-"))
    try:
        base.chmod(0o755)
        for name, mode in (("locked", 0o555), ("open", 0o777)):
            (base / name).mkdir()
            (base / name).chmod(mode)  # "locked": root's, writable by nobody else
        assert ids_as_nobody(settings, base / "open") == []  # so "nobody" can reach base
        assert ids_as_nobody(settings, base / "locked") == ["search.E003"]
        assert ids_as_nobody(settings, base / "locked" / "index") == ["search.E004"]
    finally:
        shutil.rmtree(base)


def ids_as_nobody(settings, path: Path) -> list[str]:
    """`ids()`, computed in a forked child that has given up root for "nobody"."""
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges for good, answer, leave
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            answer = json.dumps(ids(settings, path))
            os.write(write_end, answer.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        text = answer.read()
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(text)


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
