"""Fixtures of the page cache tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the block's on_commit callbacks as a real commit would: content made in a
    test's transaction must be committed this way before a later change can move the
    generation again (one bump per transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
