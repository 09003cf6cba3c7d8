"""Merging an index's small segments in a process of its own, so that no save waits.

Every editor's save commits a segment of its own (`writing`). Merging small segments
costs far more than a save: Whoosh reads every term of every merged segment, so
folding a dozen one-article segments together is many saves' worth of work, and a
save that did it inline was the slow tail of save-to-searchable. So after a save
leaves more than `MERGE_AT` segments, the backend starts this module as a separate
process (`start_merge`: a new interpreter, not a fork of the web worker, and not a
thread, which would share the worker's interpreter lock with its requests):

1. it takes `MERGING_LOCK` (one background merge per generation; a busy lock means
   one is under way, and it exits);
2. without the index's write lock, it writes one segment from the smallest segments
   (`choose_segments`) into a directory of its own (`ASIDE_PREFIX`),
   because Whoosh deletes any unlisted segment file in the index directory when it
   commits;
3. under the write lock, held only for this step, it checks that the generation is
   still live and that the segments it read are all still listed, moves its segment
   in, deletes from it the documents that saves deleted meanwhile from the segments
   it read (each save replaces an article by deleting its old document), and commits
   a table of contents listing the merged segment instead of those it replaced.

Saves keep committing during step 2. A crash at any point leaves the index as it
was: before step 3's commit nothing lists the new segment (a moved-in file that no
table of contents lists is deleted by the next commit), and an abandoned aside
directory is removed by the next merge, which finds it while holding the lock its
owner no longer holds. If background merges cannot run, a save merges inline past
`MAX_SEGMENTS` (`writing`), and past twice that even while one runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.reading import SegmentReader

from search.backends.whoosh.internals import _Writer
from search.backends.whoosh.writing import KEPT_BY_MERGE, LOCK_WAIT, MERGE_AT

MERGING_LOCK = ".merging"  # flock held by a generation's background merge
ASIDE_PREFIX = ".merge-"  # the directory a merge writes its segment in, then moves it from
_ROOT = Path(__file__).resolve().parents[3]  # the project, for the child's imports

_started: subprocess.Popen | None = None  # this process's latest background merge


def running(generation: Path) -> bool:
    """Whether a background merge of this generation is under way (in any process)."""
    try:
        with open(generation / MERGING_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def start_merge(generation: Path) -> None:
    """Start a background merge of this generation's small segments, unless one is
    under way already."""
    global _started
    if (_started is not None and _started.poll() is None) or running(generation):
        return
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    _started = subprocess.Popen(
        [sys.executable, "-m", __name__, str(generation)],
        cwd=_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # a worker's restart does not interrupt it
    )


def wait_for_merge(timeout: float | None = None) -> None:
    """Wait for this process's background merge, if one is running (tests, commands)."""
    if _started is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            _started.wait(timeout)


def merge_small_segments(generation: Path, *, is_live=lambda: True) -> int:
    """Steps 1-3 of the module docstring, repeated while the index has more than
    `MERGE_AT` segments (saves may have added more meanwhile). Returns how many merges
    were committed: none when there was nothing to merge, another merge holds the
    lock, or the index changed under it (a rebuild swapped generations, or a save's
    own merge replaced the segments it was reading).

    `is_live()` is asked under the write lock whether `generation` still serves.
    """
    storage = FileStorage(str(generation), supports_mmap=False)
    with open(generation / MERGING_LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        for abandoned in generation.glob(f"{ASIDE_PREFIX}*"):  # its merge died
            shutil.rmtree(abandoned, ignore_errors=True)
        ix = storage.open_index()
        merges = 0
        while _merge_once(ix, generation, is_live):
            merges += 1
        return merges


def _merge_once(ix, generation: Path, is_live) -> bool:
    toc = ix._read_toc()
    chosen = choose_segments(toc.segments) if len(toc.segments) > MERGE_AT else []
    if len(chosen) < 2:
        return False
    aside = generation / f"{ASIDE_PREFIX}{os.getpid()}"
    aside.mkdir()
    try:
        merged, numbering = _write_aside(ix, toc.schema, chosen, aside)
        return _commit(ix, generation, aside, chosen, merged, numbering, is_live)
    except OSError:
        listed = {segment.segment_id() for segment in ix._read_toc().segments}
        if all(segment.segment_id() in listed for segment in chosen):
            raise
        return False  # a save's own merge replaced them while they were read
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def choose_segments(segments: list) -> list:
    """The segments to merge: the smallest first, leaving the `KEPT_BY_MERGE` largest
    alone, and stopping at a segment larger than all those chosen before it together.

    So a segment of merged saves is rewritten only once as many new documents have
    come as it holds (each document is rewritten a logarithmic number of times, not
    at every merge), while single saves are always folded together.
    """
    ordered = sorted(segments, key=lambda s: s.doc_count_all())[:-KEPT_BY_MERGE]
    chosen: list = []
    total = 0
    for segment in ordered:
        if len(chosen) >= 2 and segment.doc_count_all() > total:
            break
        chosen.append(segment)
        total += segment.doc_count_all()
    return chosen


def _write_aside(ix, schema, chosen: list, aside: Path) -> tuple:
    """One segment of the live documents of `chosen`, written under `aside`.

    Returns the new segment and, per chosen segment id, its document numbers in
    the new one (for the documents alive when read).
    """
    storage = FileStorage(str(aside), supports_mmap=False)
    scratch = storage.create_index(schema)
    writer = _Writer(scratch, _lk=False)
    numbering: dict[str, dict[int, int]] = {}
    try:
        for segment in chosen:
            reader = SegmentReader(ix.storage, schema, segment)
            try:
                deleted = set(segment.deleted_docs())
                start = writer.docnum
                alive = [d for d in range(segment.doc_count_all()) if d not in deleted]
                numbering[segment.segment_id()] = {d: start + n for n, d in enumerate(alive)}
                writer.add_reader(reader)
            finally:
                reader.close()
        merged = writer._finalize_segment()
    finally:
        writer._finish()
    return merged, numbering


def _commit(ix, generation: Path, aside: Path, chosen: list, merged, numbering, is_live) -> bool:
    try:
        writer = _Writer(ix, timeout=LOCK_WAIT, delay=0.05)
    except LockError:
        return False
    try:
        current = {s.segment_id(): s for s in writer.segments}
        if not is_live() or any(s.segment_id() not in current for s in chosen):
            writer.cancel()
            return False
        for segment in chosen:
            now_deleted = set(current[segment.segment_id()].deleted_docs())
            for docnum in now_deleted - set(segment.deleted_docs()):
                merged.delete_document(numbering[segment.segment_id()][docnum])
        for path in aside.iterdir():
            if path.name.startswith(merged.segment_id() + "."):
                os.replace(path, generation / path.name)
        replaced = {s.segment_id() for s in chosen}
        kept = [merged] if merged.doc_count_all() > merged.deleted_count() else []
        writer.commit(
            mergetype=lambda _w, segments: [
                *(s for s in segments if s.segment_id() not in replaced),
                *kept,
            ]
        )
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    return True


def main(argv: list[str]) -> int:
    generation = Path(argv[0])
    pointer = generation.parent / "CURRENT"

    def is_live() -> bool:
        try:
            return pointer.read_text().strip() == generation.name
        except OSError:
            return False

    try:
        merge_small_segments(generation, is_live=is_live)
    except Exception as exc:
        if generation.is_dir() and is_live():  # else a rebuild or a test removed it
            print(f"search: background merge of {generation} failed: {exc!r}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
