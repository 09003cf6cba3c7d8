"""System checks for search: problems an operator should hear about at start-up.

Reported through Django's check framework (never raised at import), so `manage.py
check` names the problem and the site still starts far enough to say what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core import checks


def check_index_dir(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The index directory must be writable, or creatable under a writable parent."""
    raw = getattr(settings, "SEARCH_INDEX_DIR", None)
    if not raw:
        return [
            checks.Error(
                "SEARCH_INDEX_DIR is not set.",
                hint="Set the SEARCH_INDEX_DIR environment variable to a writable directory.",
                id="search.E001",
            )
        ]
    path = Path(raw)
    if path.exists():
        if not path.is_dir():
            return [
                checks.Error(
                    f"SEARCH_INDEX_DIR {path} exists but is not a directory.",
                    hint="Point SEARCH_INDEX_DIR at a directory.",
                    id="search.E002",
                )
            ]
        if not os.access(path, os.W_OK | os.X_OK):
            return [
                checks.Error(
                    f"SEARCH_INDEX_DIR {path} is not writable by this process.",
                    hint="Fix its permissions or point SEARCH_INDEX_DIR elsewhere.",
                    id="search.E003",
                )
            ]
        return []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not (parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)):
        return [
            checks.Error(
                f"SEARCH_INDEX_DIR {path} does not exist and cannot be created "
                f"({parent} is not a writable directory).",
                hint="Create the directory or point SEARCH_INDEX_DIR elsewhere.",
                id="search.E004",
            )
        ]
    return []


def register() -> None:
    checks.register(check_index_dir, "search")
