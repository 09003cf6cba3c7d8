"""The search app's system checks name a bad index directory instead of crashing."""

from __future__ import annotations

import os

import pytest

from search.checks import check_index_dir


def ids(settings, path) -> list[str]:
    settings.SEARCH_INDEX_DIR = path
    return [message.id for message in check_index_dir()]


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
