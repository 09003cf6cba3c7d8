"""Backend registry, configured like CACHES through `settings.SEARCH_BACKENDS`."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from search.backends.base import SearchBackend


@cache
def get_backend(alias: str = "default") -> SearchBackend:
    """The configured backend instance for `alias` (one per process)."""
    config = dict(settings.SEARCH_BACKENDS[alias])
    backend_class = import_string(config.pop("BACKEND"))
    return backend_class(alias, config)


def reset_backends() -> None:
    """Forget backend instances, for tests and after settings change."""
    for backend in list(_instances()):
        close = getattr(backend, "close", None)
        if close:
            close()
    get_backend.cache_clear()


def _instances() -> list[SearchBackend]:
    info = get_backend.cache_info()
    if not info.currsize:
        return []
    return [get_backend(alias) for alias in settings.SEARCH_BACKENDS]
