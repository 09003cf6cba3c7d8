"""Sync bookkeeping kept as files in an index directory, for every backend whose
index is a directory on this machine (Whoosh): the `DirectoryIndex` mixin.

`search.index` serialises "read the database, write the index" and journals the
articles synced during a rebuild through the backend (`SearchBackend.sync_lock`,
`start_journal`, ...). A directory index does both here: an exclusive `fcntl.flock`
on `PATH/.sync.lock`, and a marker plus an append-only journal file. A backend whose
index lives elsewhere (PostgreSQL) overrides them with its own locks and tables.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.core import checks

logger = logging.getLogger("search")

LOCK_FILE = ".sync.lock"
REBUILD_MARKER = ".rebuild-in-progress"
REBUILD_JOURNAL = ".rebuild-journal"


class IndexLockTimeout(OSError):
    """Another process held the sync lock for longer than the timeout."""


@contextlib.contextmanager
def file_lock(directory: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive flock on `directory/LOCK_FILE`, waiting up to `timeout` seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(directory / LOCK_FILE, "a+b") as handle:
        delay = 0.002
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexLockTimeout(
                        f"Timed out waiting for the search index lock in {directory}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_journal(directory: Path) -> None:
    from search.backends.base import owner_tag

    directory.mkdir(parents=True, exist_ok=True)
    (directory / REBUILD_JOURNAL).write_text("")
    now = datetime.datetime.now(datetime.UTC).isoformat()
    (directory / REBUILD_MARKER).write_text(f"{owner_tag()} {now}\n")


def journal(directory: Path, ids: Iterable[int]) -> None:
    """Append synced ids while a rebuild runs; called under the lock, so appends from
    several processes never interleave. A dead rebuild's journal is removed instead."""
    from search.backends.base import owner_is_gone

    try:
        owner = (directory / REBUILD_MARKER).read_text()
    except FileNotFoundError:
        return
    if owner_is_gone(owner):  # the rebuild was killed: nobody will read the journal
        logger.warning("Removed the journal of a rebuild that died (process %s)", owner.split()[0])
        end_journal(directory)
        return
    with open(directory / REBUILD_JOURNAL, "a") as handle:
        handle.write("".join(f"{pk}\n" for pk in ids))


def read_journal(directory: Path) -> set[int]:
    try:
        text = (directory / REBUILD_JOURNAL).read_text()
    except FileNotFoundError:
        return set()
    return {int(line) for line in text.split() if line.isdigit()}


def end_journal(directory: Path) -> None:
    for name in (REBUILD_MARKER, REBUILD_JOURNAL):
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()


def clear_abandoned_rebuild(directory: Path) -> str | None:
    """Remove the marker and journal of a rebuild whose process died on this machine;
    return what was removed, or None."""
    from search.backends.base import owner_is_gone

    try:
        owner = (directory / REBUILD_MARKER).read_text()
    except FileNotFoundError:
        return None
    if not owner_is_gone(owner):
        return None
    end_journal(directory)
    return f"the marker and journal of a rebuild that died (process {owner.split()[0]})"


def check_directory(raw) -> list[checks.CheckMessage]:
    """The index directory must be writable, or creatable under a writable parent."""
    if not raw:
        return [
            checks.Error(
                "The search index directory (SEARCH_INDEX_DIR) is not set.",
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


class DirectoryIndex:
    """The `SearchBackend` bookkeeping of an index kept in the directory
    `params["PATH"]` on this machine: the sync lock, the rebuild journal and the
    settings check, as files there (see the module docstring)."""

    params: dict
    alias: str

    @property
    def identity(self) -> str:
        """A directory index is one per machine, so the host is part of its identity."""
        return f"{socket.gethostname()}:{self.params.get('PATH', self.alias)}"

    def _directory(self) -> Path:
        return Path(self.params["PATH"])

    def sync_lock(self, ids: Iterable[int] | None = None, timeout: float = 60.0):
        """One lock for the whole directory, whatever `ids` says."""
        return file_lock(self._directory(), timeout)

    def check(self) -> list:
        return check_directory(self.params.get("PATH"))

    def start_journal(self) -> None:
        start_journal(self._directory())

    def journal(self, ids: Iterable[int]) -> None:
        journal(self._directory(), ids)

    def read_journal(self) -> set[int]:
        return read_journal(self._directory())

    def end_journal(self) -> None:
        end_journal(self._directory())

    def clear_abandoned_rebuild(self) -> str | None:
        return clear_abandoned_rebuild(self._directory())
