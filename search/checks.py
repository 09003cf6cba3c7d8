"""System checks for search: problems an operator should hear about at start-up.

Reported through Django's check framework (never raised at import), so `manage.py
check` names the problem and the site still starts far enough to say what is wrong.
Each configured backend checks its own settings (`SearchBackend.check()`): the
Whoosh backend its directory, the PostgreSQL backend its database.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

ENGINES = ("whoosh", "postgres")


def check_search_backends(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`SEARCH_BACKEND` names a known engine, and every configured backend is usable."""
    messages: list[checks.CheckMessage] = []
    engine = getattr(settings, "SEARCH_BACKEND", None)
    if engine is not None and engine not in ENGINES:
        messages.append(
            checks.Error(
                f"SEARCH_BACKEND is {engine!r}; the search engine must be one of "
                + ", ".join(ENGINES)
                + ".",
                hint="Set the SEARCH_BACKEND environment variable to whoosh or postgres.",
                id="search.E011",
            )
        )
    for alias, config in settings.SEARCH_BACKENDS.items():
        config = dict(config)
        try:
            backend_class = import_string(config.pop("BACKEND"))
        except (ImportError, KeyError) as exc:
            messages.append(
                checks.Error(
                    f"Search backend {alias!r} cannot be loaded: {exc}",
                    id="search.E012",
                )
            )
            continue
        messages.extend(backend_class(alias, config).check())
    return messages


def register() -> None:
    checks.register(check_search_backends, "search")
