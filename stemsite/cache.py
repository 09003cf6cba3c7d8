"""A file-based cache whose `add` and `incr` are atomic across processes.

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

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks

LOCK_NAME = ".increment.lock"
CULL_EVERY = 32


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
