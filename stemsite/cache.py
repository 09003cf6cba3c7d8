"""Cache set-up: the rate limiter's locked file cache, and CACHES entries from a URL.

`cache_from_url` turns the CACHE_URL setting into a CACHES entry (issue 21). Its defaults
are sized for reader pages (`pagecache`): room for every article page of a library of
several thousand articles beside its lists and searches (`MAX_ENTRIES`; the pages are
stored compressed), kept for a day (`TIMEOUT`: entries are checked against the content
generation on every request, and the day is part of their key, so keeping them longer
never serves an old page, it only spares rebuilding unchanged ones). A `file://` cache
is this module's locked file cache, which lists its directory on one write in
`CULL_EVERY` rather than on every write.

A file-based cache whose `add` and `incr` are atomic across processes.

The API rate limit counts requests in a cache that every gunicorn worker shares.
Django's FileBasedCache shares its directory but implements `add` and `incr` as a
read followed by a write, so two workers counting at the same instant lose a hit,
and a client spreading requests over the workers could exceed its limit. Here both
hold an exclusive lock on one file in the cache directory for the read and the write.

FileBasedCache also lists its whole directory on every write to see whether to cull,
and then deletes entries at random, live counters included. Here the listing happens
on one write in CULL_EVERY, and removes expired entries first; only if the directory is
still over MAX_ENTRIES does Django's random culling run.
(Memcached and Redis increment atomically by themselves: use them through CACHES if
several machines must share one limit.)
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import parse_qs, urlsplit

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.exceptions import ImproperlyConfigured
from django.core.files import locks

LOCK_NAME = ".increment.lock"
CULL_EVERY = 32
#: Entries kept by the local memory, file and database caches unless `max_entries` says.
MAX_ENTRIES = 10_000
#: Seconds an entry is kept unless `timeout` says: a day.
TIMEOUT = 24 * 60 * 60


class LockedFileBasedCache(FileBasedCache):
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._createdir()
        with open(os.path.join(self._dir, LOCK_NAME), "ab") as handle:
            locks.lock(handle, locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(handle)

    def _cull(self) -> None:
        if random.randrange(CULL_EVERY):
            return
        for name in self._list_cache_files():
            try:
                with open(name, "rb") as handle:
                    self._is_expired(handle)  # deletes the file when expired
            except FileNotFoundError:
                pass
        super()._cull()

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        with self._locked():
            return super().add(key, value, timeout, version)

    def incr(self, key, delta: int = 1, version=None) -> int:
        """Like BaseCache.incr (ValueError for a missing key), keeping the key's expiry."""
        with self._locked():
            fname = self._key_to_file(key, version)
            try:
                with open(fname, "rb") as handle:
                    expiry = pickle.load(handle)
                    value = pickle.loads(zlib.decompress(handle.read()))
            except FileNotFoundError:
                raise ValueError(f"Key '{key}' not found") from None
            if expiry is not None and expiry < time.time():
                raise ValueError(f"Key '{key}' not found")
            value += delta
            fd, tmp_path = tempfile.mkstemp(dir=self._dir)
            try:
                with open(fd, "wb") as handle:
                    handle.write(pickle.dumps(expiry, self.pickle_protocol))
                    handle.write(zlib.compress(pickle.dumps(value, self.pickle_protocol)))
                os.replace(tmp_path, fname)
            except BaseException:
                with suppress(FileNotFoundError):
                    os.remove(tmp_path)
                raise
            return value


def cache_from_url(url: str) -> dict:
    """A CACHES entry from a URL (issue 21): `locmem://` (the default, when empty),
    `redis://host:6379/0` or `rediss://…`, `memcached://host:11211[,host2:11211]`,
    `file:///path`, `db://table` or `dummy://`. Query parameters `max_entries` (local
    memory, file and database; `MAX_ENTRIES` by default) and `timeout` (seconds, every
    scheme; `TIMEOUT` by default) override the defaults."""
    parts = urlsplit(url or "locmem://")
    backends = "django.core.cache.backends."
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    options: dict = {"MAX_ENTRIES": int(params.get("max_entries", MAX_ENTRIES))}
    if parts.scheme == "locmem":
        config = {"BACKEND": backends + "locmem.LocMemCache", "LOCATION": parts.netloc}
    elif parts.scheme in ("redis", "rediss"):
        options = {}
        config = {"BACKEND": backends + "redis.RedisCache", "LOCATION": url.split("?")[0]}
    elif parts.scheme == "memcached":
        options = {}
        config = {
            "BACKEND": backends + "memcached.PyMemcacheCache",
            "LOCATION": parts.netloc.split(","),
        }
    elif parts.scheme == "file":
        config = {"BACKEND": "stemsite.cache.LockedFileBasedCache", "LOCATION": parts.path}
    elif parts.scheme == "db":
        config = {"BACKEND": backends + "db.DatabaseCache", "LOCATION": parts.netloc}
    elif parts.scheme == "dummy":
        config = {"BACKEND": backends + "dummy.DummyCache"}
    else:
        raise ImproperlyConfigured(
            f"CACHE_URL: unknown scheme {parts.scheme!r}; use locmem, redis, rediss, "
            "memcached, file, db or dummy."
        )
    if options:
        config["OPTIONS"] = options
    config["TIMEOUT"] = int(params.get("timeout", TIMEOUT))
    return config
