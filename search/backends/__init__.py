"""Backend registry, configured like CACHES through `settings.SEARCH_BACKENDS`, and the
warm-up a web worker starts with (`warm_up`, called from `gunicorn.conf.py`)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.utils.module_loading import import_string

from search.backends.base import SearchBackend

_backends: dict[str, SearchBackend] = {}
_lock = threading.Lock()


def get_backend(alias: str = "default") -> SearchBackend:
    """The configured backend instance for `alias` (one per process, created on first use)."""
    backend = _backends.get(alias)
    if backend is None:
        with _lock:
            backend = _backends.get(alias)
            if backend is None:
                config = dict(settings.SEARCH_BACKENDS[alias])
                backend_class = import_string(config.pop("BACKEND"))
                backend = _backends[alias] = backend_class(alias, config)
    return backend


def reset_backends() -> None:
    """Close and forget backend instances, for tests and after settings change."""
    with _lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        close = getattr(backend, "close", None)
        if close:
            close()


def warm_up(alias: str = "default") -> threading.Thread:
    """Start `SearchBackend.warm_up` in a daemon thread of its own and return it: a web
    worker's first reader then finds what the backend keeps between searches already
    read. The thread's database connection is closed when it is done."""

    def run() -> None:
        from django.db import connections

        try:
            get_backend(alias).warm_up()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="search-warm-up", daemon=True)
    thread.start()
    return thread
