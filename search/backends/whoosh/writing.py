"""Writing to a Whoosh index: lock waits, the parallel rebuild writer, compaction.

Writes wait for Whoosh's write lock (up to `LOCK_WAIT` seconds) instead of failing.
A small write (up to `SMALL_BATCH` documents, an editor's save) commits its new
segment without Whoosh's merge, so it is searchable as soon as that commit returns.
Saves would pile up one small segment each; instead, once a save finds `FOLD_AT`
small segments (fewer than `SMALL_DOCS` live documents), it re-indexes their live
documents from the database into its own new segment, the smallest first and at
most `FOLD_DOCS` of them, deletes their old copies, and the commit drops the
segments left empty (`fold_small_segments`, `_without_empty`). Re-analysing an
article costs less than Whoosh's merge of its segment, which opens a matcher for
every term of every merged segment. Whoosh's merge (`_merge_smallest`, all but the
`KEPT_BY_MERGE` largest into one) only runs, in a second commit, past a hard bound of
`MAX_SEGMENTS`: for writes that cannot re-index (no document source) or segments
too large to fold. Larger writes merge as Whoosh does by default. A rebuild writes
one segment per writer process (`REBUILD_PROCESSES`, `_ParallelWriter`); those are
new interpreters, not forks (`_START`), and die with the process that started them
(`_die_with_parent`). `_Lookup` finds the documents a write replaces through the
backend's cached searcher rather than a new reader.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time

from whoosh import index, multiproc
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from search.backends.base import (
    DocumentSource,
    SearchUnavailable,
)
from search.backends.whoosh.internals import _Writer
from search.backends.whoosh.schema import VOCABULARY_PREFIX, document_fields

logger = logging.getLogger("search")

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
LOCK_WAIT = 120.0  # seconds a writer waits for the index lock before giving up
SMALL_BATCH = 50  # writes of up to this many documents commit before any merge
SMALL_DOCS = 128  # a segment with fewer live documents than this may be folded by a save
FOLD_AT = 16  # a save that finds this many small segments folds the smallest
FOLD_DOCS = 100  # at most this many documents re-indexed by one save's fold
MAX_SEGMENTS = 18  # more segments than this, and a separate commit merges the smallest
KEPT_BY_MERGE = 2  # the largest segments a save's merge leaves alone
# Processes analysing and writing a rebuild's documents (one segment each).
REBUILD_PROCESSES = min(2, os.cpu_count() or 1)
# How they are started: a fresh interpreter ("spawn") rather than a fork of the
# rebuilding process, so that a writer holds Whoosh and its own buffers only, not a
# copy of Django, the ORM and the documents read so far. A forked child dirties most
# of the pages it inherits (reference counts), so fork sharing saves little.
_START = multiprocessing.get_context("spawn")


class _SubWriter(multiproc.SubWriterTask):
    """A process of `_ParallelWriter`: Whoosh's sub-writer, writing with `_Writer`,
    started as a new interpreter (`_START`) that imports only this module's needs."""

    @staticmethod
    def _Popen(process_obj):
        # Whoosh's SubWriterTask is a Process of the default (fork) context; this is
        # how a Process picks its start method.
        return _START.Process._Popen(process_obj)

    def run(self) -> None:
        # run() executes in the child, so rebinding the name Whoosh's run() looks up
        # changes nothing in the parent. The child never sets up Django nor opens a
        # database connection.
        _die_with_parent()
        multiproc.SegmentWriter = _Writer
        super().run()


def _die_with_parent() -> None:
    """Make this writer process exit when the process that started it dies.

    A killed rebuild (SIGKILL, the OOM killer) cannot stop its writers, which would
    otherwise wait for jobs forever holding their memory. Linux does it for us
    (PR_SET_PDEATHSIG); a thread watching the parent's pid covers other systems and
    a parent that died before the request took effect.
    """
    started_by = multiprocessing.parent_process()
    parent = started_by.pid if started_by is not None else os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before prctl() took effect
        os._exit(1)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


class _Jobs:
    """`_ParallelWriter`'s job queue: a put() never waits forever on dead processes."""

    def __init__(self, jobs, tasks: list) -> None:
        self.jobs = jobs
        self.tasks = tasks

    def get(self):
        return self.jobs.get()

    def put(self, item) -> None:
        while True:
            try:
                self.jobs.put(item, timeout=1.0)
                return
            except queue.Full:
                if not any(task.is_alive() for task in self.tasks):
                    raise SearchUnavailable("the rebuild's writer processes died") from None


class _ParallelWriter(multiproc.MpWriter):
    """Whoosh's multiprocess writer for rebuilds: this process only pickles documents
    (in batches, through files) to `procs` writer processes, each of which analyses
    them and writes its own segment (`multisegment`: no final merge), so no process
    ever holds more than one writer's buffer (`limitmb`) of postings.

    Parallel writers beat a Markdown-to-text pool overlapping a single writer (the
    writer was then the bottleneck), and both together cost more memory than either.
    """

    def __init__(self, ix: index.Index, **kwargs) -> None:
        super().__init__(ix, **kwargs)
        # Queues of the writers' start method: their locks must be ones a spawned
        # process can inherit.
        self.jobqueue = _Jobs(_START.Queue(self.procs * 4), self.tasks)
        self.resultqueue = _START.Queue()

    def _new_task(self) -> multiproc.SubWriterTask:
        task = _SubWriter(
            self.storage,
            self.indexname,
            self.jobqueue.jobs,  # the queue itself: `_Jobs` holds the tasks
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        task.start()
        self.tasks.append(task)
        return task

    def cancel(self) -> None:
        # Whoosh's cancel() only flags its own copy of each task: the children would
        # wait for jobs forever (and the interpreter for them at exit).
        for task in self.tasks:
            task.terminate()
            task.join()
        self.tasks = []
        super().cancel()


def _merge_smallest(writer: SegmentWriter, segments: list) -> list:
    """Merge policy: fold the smallest segments into one, keeping the largest few.

    Size-tiered like Whoosh's MERGE_SMALL (big segments are rarely rewritten), but
    only called once there are more than `MAX_SEGMENTS`, and it then brings the
    count down to `KEPT_BY_MERGE + 1`, so a merge comes once every fifteen or so
    saves: rare enough to stay out of the save's p95.
    """
    keep = KEPT_BY_MERGE
    if len(segments) <= MAX_SEGMENTS:
        return segments
    ordered = sorted(segments, key=lambda segment: segment.doc_count_all())
    merging, kept = ordered[: len(ordered) - keep], ordered[len(ordered) - keep :]
    for segment in merging:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    return [segment for segment in segments if segment in kept]


def fold_small_segments(writer: SegmentWriter, source: DocumentSource, written: set[int]) -> int:
    """Re-index the live documents of the smallest small segments into `writer`'s new
    segment and delete their old copies; return how many documents were rewritten.

    Only when the writer sees `FOLD_AT` or more segments with fewer than `SMALL_DOCS`
    live documents, and only segments holding articles alone (a taxonomy phrase's
    pseudo-document cannot be rebuilt from the database), smallest first, up to
    `FOLD_DOCS` documents and at least two segments (folding one would not lower the
    count). `source` reads the articles as the database has them now, under the sync
    lock the caller holds, so a folded article is as current as a saved one; an article
    no longer published is only deleted. The commit must drop the emptied segments
    (`_without_empty`). If the database cannot be read, nothing is folded: the save
    itself must not fail for it.
    """
    small = []
    base = 0
    for segment in writer.segments:
        live = segment.doc_count()
        if 0 < live < SMALL_DOCS:
            small.append((live, base, segment))
        base += segment.doc_count_all()
    if len(small) < FOLD_AT:
        return 0
    chosen: list[tuple[int, list[tuple[int, str]]]] = []
    total = 0
    for live, base, segment in sorted(small, key=lambda item: item[0]):
        if total + live > FOLD_DOCS:
            break
        documents = _live_ids(writer, segment)
        if any(key.startswith(VOCABULARY_PREFIX) for _docnum, key in documents):
            continue
        chosen.append((base, documents))
        total += live
    if len(chosen) < 2:
        return 0
    ids = {int(key) for _base, documents in chosen for _docnum, key in documents} - written
    try:
        fresh = list(source(sorted(ids)))
    except Exception:
        logger.warning("Could not read articles to fold small index segments", exc_info=True)
        return 0
    for base, documents in chosen:
        for docnum, _key in documents:
            writer.delete_document(base + docnum)
    for doc in fresh:
        writer.add_document(**document_fields(doc, writer.schema))
    return len(fresh)


def _live_ids(writer: SegmentWriter, segment) -> list[tuple[int, str]]:
    """(document number within the segment, stored id) of its live documents, as the
    writer sees them (its own deletions included)."""
    reader = SegmentReader(writer.storage, writer.schema, segment)
    try:
        ids = reader.column_reader("id")
        return [
            (docnum, ids[docnum])
            for docnum in range(segment.doc_count_all())
            if not segment.is_deleted(docnum)
        ]
    finally:
        reader.close()


def _without_empty(writer: SegmentWriter, segments: list) -> list:
    """Merge policy of a save: no merge, but segments left with no live document (all
    folded, or deleted) leave the index, and their files go with the commit."""
    return [segment for segment in segments if segment.doc_count() > 0]


class _Lookup:
    """Document numbers of live documents by id, for a writer (see `WhooshBackend._lookup`).

    Reads the backend's cached searcher's segment readers when they match the
    writer's segments (`leaves`), else the writer's own searcher.
    """

    def __init__(self, writer: SegmentWriter, lock, leaves=None) -> None:
        self.writer = writer
        self.lock = lock
        self.leaves = leaves

    def __call__(self, key: str) -> list[int]:
        with self.lock:
            if self.leaves is not None and not any(r.is_closed for r, _ in self.leaves):
                found: list[int] = []
                for reader, offset in self.leaves:
                    if ("id", key) in reader:
                        found.extend(offset + d for d in reader.postings("id", key).all_ids())
                return found
        return list(self.writer.searcher().document_numbers(id=key))
