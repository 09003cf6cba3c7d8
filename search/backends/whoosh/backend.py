"""The Whoosh search backend: generations on disk, opening, swapping, rebuilding.

Layout on disk (`PATH`)::

    PATH/CURRENT          name of the live generation, replaced with os.replace()
    PATH/gen-<ns>-<pid>/  a complete Whoosh index; rebuild() builds a new one beside
                          the live one and swaps the pointer, so a killed rebuild
                          leaves the old index serving (the previous generation is
                          kept for readers still on it; older ones are deleted)
    PATH/gen-…/.building  present while a rebuild writes that generation: the pid and
                          host of its builder, so a generation left by a killed rebuild
                          is found and removed (`remove_abandoned`)
    PATH/.lock            flock held while creating or swapping generations

Index files are read with plain reads, never memory-mapped (`_storage`): a segment
file truncated under a mapping kills the process with SIGBUS on the next page it
touches, whereas a short read is an exception, which becomes `SearchUnavailable`.

A process keeps one searcher per backend, guarded by a lock (Whoosh readers share
file handles, so one search at a time per process), and renews it when another
process commits (`up_to_date()` is one directory listing), reopening only segments
that changed (`internals._fresh_searcher`); after fork the child opens its own.
What searches read from each segment is kept across searches in a bounded cache
(`view.TermCache`, `CACHE_BYTES` in the backend's settings), so every search also
checks the segment files for damage it might otherwise not touch. How documents
are written and merged is in `writing`, what is indexed in `schema`, how a page is
answered in `ranking`.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import shutil
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from whoosh import index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.writing import SegmentWriter

from search.backends.base import (
    DocumentSource,
    SearchBackend,
    SearchDocument,
    SearchPage,
    SearchQuery,
    SearchUnavailable,
    Suggestion,
    lock_deadline,
    owner_is_gone,
    owner_tag,
)
from search.backends.files import DirectoryIndex
from search.backends.whoosh import postings
from search.backends.whoosh.internals import _fresh_searcher, _Writer, segment_count
from search.backends.whoosh.ranking import (
    WhooshOperations,
    _phrase_prefix_at,
    _scheduled_titles,
    _similar,
    _take,
)
from search.backends.whoosh.schema import (
    VOCABULARY_PREFIX,
    _taxonomy_phrases,
    build_schema,
    document_fields,
    vocabulary_fields,
)
from search.backends.whoosh.view import DEFAULT_CACHE_BYTES, TermCache, _View
from search.backends.whoosh.writing import (
    LOCK_WAIT,
    MAX_SEGMENTS,
    REBUILD_PROCESSES,
    SMALL_BATCH,
    _Lookup,
    _merge_smallest,
    _ParallelWriter,
    _without_empty,
    fold_small_segments,
)
from search.backends.whoosh_analysis import (
    analyse,
    analyse_unstemmed,
)
from search.planner import empty_page, plan_page

logger = logging.getLogger("search")

POINTER = "CURRENT"
GENERATION_PREFIX = "gen-"
BUILDING = ".building"  # in a generation a rebuild is still writing: its owner_tag()
RELATED_CHARS = 4_000  # how much of an article its related articles are chosen by


class WhooshBackend(DirectoryIndex, SearchBackend):
    """Whoosh index under `params["PATH"]`; see the module docstring for the design.

    `search()` on an index that was never created answers an empty page (a fresh
    site has nothing to find); a damaged index raises `SearchUnavailable`.
    """

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        self.path = Path(params["PATH"])
        self._lock = threading.RLock()
        self._view_state: _View | None = None
        self._segments: dict = {}
        self._cache_bytes = int(params.get("CACHE_BYTES", DEFAULT_CACHE_BYTES))
        self._terms = TermCache(self._cache_bytes)
        self._pid = os.getpid()

    # -- generations and opening

    def _pointer(self) -> str | None:
        try:
            name = (self.path / POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SearchUnavailable(f"cannot read {self.path / POINTER}: {exc}") from exc
        return name or None

    @contextlib.contextmanager
    def _dir_lock(self) -> Iterator[None]:
        """Serialize creating and swapping generations across processes."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _new_generation(self) -> Path:
        directory = self.path / f"{GENERATION_PREFIX}{time.time_ns():020d}-{os.getpid()}"
        directory.mkdir(parents=True)
        _storage(directory).create_index(build_schema())
        return directory

    def _point_to(self, name: str) -> None:
        temporary = self.path / f".{POINTER}.{os.getpid()}.tmp"
        with open(temporary, "w") as handle:
            handle.write(name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path / POINTER)
        directory = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _ensure_index(self) -> str:
        """The live generation's name, creating an empty index first if there is none."""
        name = self._pointer()
        if name and (self.path / name).is_dir():
            return name
        with self._dir_lock():
            name = self._pointer()
            if name and (self.path / name).is_dir():
                return name
            directory = self._new_generation()
            self._point_to(directory.name)
            return directory.name

    def _open(self, name: str) -> index.Index:
        """Open one generation, retrying briefly before calling it damaged.

        Whoosh lists the directory, then opens the newest TOC; a commit in another
        process can delete that TOC in between (a FileNotFoundError), so failures
        are retried before the index is declared unavailable.
        """
        return _retrying(lambda: _open_dir(self.path / name), self.path / name)

    def _view(self) -> _View | None:
        """The current searcher, reopened or refreshed if the index changed."""
        if self._pid != os.getpid():
            # After fork: never share the parent's open files.
            self._view_state, self._segments, self._pid = None, {}, os.getpid()
            self._terms = TermCache(self._cache_bytes)
        name = self._pointer()
        if name is None or not (self.path / name).is_dir():
            self.close()
            return None

        def fresh_view() -> _View:
            state = self._view_state
            try:
                return self._refreshed(name, state)
            except BaseException:
                self.close()
                raise

        self._view_state = _retrying(fresh_view, self.path / name)
        leaves = self._view_state.searcher.reader().leaf_readers()
        live = {r.segment().segment_id() for r, _offset in leaves if r.segment() is not None}
        gone = set(self._segments) - live
        if gone:  # the cache only holds entries of segments a view has shown
            for segid in gone:
                del self._segments[segid]
            self._terms.forget(live)
        return self._view_state

    def _refreshed(self, name: str, state: _View | None) -> _View:
        if state is not None and state.generation == name:
            if state.searcher.up_to_date():
                return state
            searcher = _fresh_searcher(state.ix, state.searcher)
            return _View(name, state.ix, searcher, self._segments, self._terms)
        self.close()
        ix = _open_dir(self.path / name)
        self._segments = {}
        self._terms = TermCache(self._cache_bytes)
        return _View(name, ix, _fresh_searcher(ix, None), self._segments, self._terms)

    def close(self) -> None:
        """Close the cached searcher (tests and `reset_backends()` call this)."""
        with self._lock:
            state, self._view_state = self._view_state, None
            if state is not None:
                with contextlib.suppress(Exception):
                    state.searcher.close()

    # -- writing

    def _acquire_writer(self, ix: index.Index, **kwargs) -> SegmentWriter:
        deadline = time.monotonic() + LOCK_WAIT
        bound = lock_deadline()  # a request's save waits less (`waiting_at_most`)
        if bound is not None:
            deadline = min(deadline, bound)
        while True:
            try:
                return _Writer(ix, timeout=1.0, delay=0.005, **kwargs)
            except LockError:
                if time.monotonic() > deadline:
                    raise SearchUnavailable("search index is locked by another writer") from None

    def _live_writer(self) -> tuple[str, SegmentWriter]:
        """A writer on the live generation (and its name), once the lock is ours.

        After taking the lock the pointer is checked again: a rebuild swapped in while
        we waited means the write must go to the new generation instead.
        """
        while True:
            name = self._ensure_index()
            writer = self._acquire_writer(self._open(name))
            if self._pointer() == name:
                return name, writer
            writer.cancel()

    @contextlib.contextmanager
    def _writing(self, *, merge: bool) -> Iterator[tuple[SegmentWriter, _Lookup]]:
        """A writer on the live generation, committed on success, cancelled on error.

        With `merge` the commit merges small segments as Whoosh does by default;
        without it the new segment is committed without a merge (visible at once;
        segments the write emptied are dropped, see `writing.fold_small_segments`), and
        only then, if the index has more than `MAX_SEGMENTS` segments, a second commit
        merges the smallest ones.
        """
        name, writer = self._live_writer()
        try:
            yield writer, self._lookup(writer, name)
        except BaseException:
            writer.cancel()
            raise
        if merge:
            writer.commit(merge=True)
        else:
            writer.commit(mergetype=_without_empty)
            self._merge_if_needed(name)

    def _merge_if_needed(self, name: str) -> None:
        """Merge the smallest segments in a commit of its own when there are too many."""
        ix = self._open(name)
        if segment_count(ix) <= MAX_SEGMENTS:
            return
        writer = self._acquire_writer(ix)
        if self._pointer() != name:  # a rebuild swapped in meanwhile: nothing to merge
            writer.cancel()
            return
        writer.commit(mergetype=_merge_smallest)

    def _lookup(self, writer: SegmentWriter, name: str) -> _Lookup:
        """Find live documents by id in the segments `writer` sees.

        Whoosh's `update_document()` and `delete_by_term()` open a new reader over
        every segment, which copies each segment's whole term index into memory
        (~30 ms for 10,000 articles). Our cached searcher already has those segments
        open; once the write lock is ours nothing can commit, so when it shows exactly
        the writer's segments (same deletions), its document numbers are the writer's.
        """
        with self._lock:
            view = self._view()
            if view is not None and view.generation == name:
                leaves = [
                    (reader, offset)
                    for reader, offset in view.searcher.reader().leaf_readers()
                    if reader.segment() is not None
                ]
                shown = [(r.segment().segment_id(), r.segment().deleted_count()) for r, _ in leaves]
                wanted = [(s.segment_id(), s.deleted_count()) for s in writer.segments]
                if shown == wanted:
                    return _Lookup(writer, self._lock, leaves)
        return _Lookup(writer, self._lock)

    def index(
        self, documents: Iterable[SearchDocument], *, source: DocumentSource | None = None
    ) -> int:
        """Add or replace documents by id in one commit; waits for the write lock.

        A small batch (an editor's save) is committed without merging, so it is
        searchable at once; see `_writing`. With a `source`, it also folds the
        smallest small segments into its own by re-indexing their articles
        (`writing.fold_small_segments`), so the segment count stays bounded.
        """
        docs = list(documents)
        if not docs:
            return 0
        small = len(docs) <= SMALL_BATCH
        with self._writing(merge=not small) as (writer, lookup):
            for doc in docs:
                for docnum in lookup(str(doc.id)):
                    writer.delete_document(docnum)
                writer.add_document(**document_fields(doc, writer.schema))
            phrases = _taxonomy_phrases(docs)
            for key, phrase in phrases.items():
                if not lookup(VOCABULARY_PREFIX + key):
                    writer.add_document(**vocabulary_fields(phrase))
            if small and source is not None:
                fold_small_segments(writer, source, {doc.id for doc in docs})
        return len(docs)

    def remove(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        if not ids or not self.exists():
            return 0
        removed = 0
        with self._writing(merge=len(ids) > SMALL_BATCH) as (writer, lookup):
            for article_id in ids:
                for docnum in lookup(str(article_id)):
                    writer.delete_document(docnum)
                    removed += 1
        return removed

    def clear(self) -> None:
        """Swap in a new empty generation (cheap, and atomic like a rebuild)."""
        self.rebuild(())

    def rebuild(self, documents: Iterable[SearchDocument]) -> int:
        """Build a new generation beside the live one, then swap the pointer.

        With `REBUILD_PROCESSES` > 1, Whoosh's multiprocess writer analyses and
        writes the documents in that many writer processes, one segment each, while
        this process reads the database and makes the plain text (see
        `_ParallelWriter`). If `documents` raises (or a process dies) the half-built
        directory is discarded and the old index keeps serving. Before the swap the old
        generation's write lock is taken, so a concurrent `index()` either committed
        to the old generation already or retries on the new one; an update committed
        to the old generation after this rebuild read that article from the database
        is not in the new index, which `check_index` reports.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        directory = self._new_generation()
        count = 0
        try:
            (directory / BUILDING).write_text(owner_tag() + "\n")
            ix = _open_dir(directory)
            if REBUILD_PROCESSES > 1:
                # Each writer's posting buffer, what the rebuild's memory grows with;
                # a smaller one only means more sorted runs merged at its commit.
                writer = _ParallelWriter(ix, procs=REBUILD_PROCESSES, multisegment=True, limitmb=32)
            else:
                writer = _Writer(ix, limitmb=96)
            seen: set[int] = set()
            phrases: dict[str, str] = {}
            try:
                for doc in documents:
                    if doc.id in seen:
                        continue
                    seen.add(doc.id)
                    writer.add_document(**document_fields(doc, writer.schema))
                    for phrase in doc.taxonomy:
                        phrases.setdefault(phrase.casefold(), phrase)
                    count += 1
                for phrase in phrases.values():
                    writer.add_document(**vocabulary_fields(phrase))
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            # Whoosh silently leaves out the segment of a sub-writer that died.
            written = _open_dir(directory).doc_count_all()
            if written != count + len(phrases):
                raise SearchUnavailable(
                    f"rebuild wrote {written} of {count + len(phrases)} documents; "
                    "the old index keeps serving"
                )
            (directory / BUILDING).unlink()
            self._swap(directory.name)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return count

    def _swap(self, name: str) -> None:
        with self._dir_lock():
            old = self._pointer()
            old_writer = None
            if old and (self.path / old).is_dir():
                with contextlib.suppress(SearchUnavailable):
                    old_writer = self._acquire_writer(self._open(old))
            try:
                self._point_to(name)
            finally:
                if old_writer is not None:
                    old_writer.cancel()
            # Keep the previous generation a while: other processes may still be
            # reading it until their next search notices the new pointer.
            for entry in self.path.iterdir():
                if entry.name.startswith(GENERATION_PREFIX) and entry.name not in (name, old):
                    if _being_built(entry):
                        continue  # another rebuild, still running
                    shutil.rmtree(entry, ignore_errors=True)

    def remove_abandoned(self) -> list[str]:
        """Delete generations whose rebuild was killed before it finished (see `BUILDING`)."""
        if not self.path.is_dir():
            return []
        removed = []
        with self._dir_lock():
            live = self._pointer()
            for entry in sorted(self.path.iterdir()):
                if not entry.name.startswith(GENERATION_PREFIX) or entry.name == live:
                    continue
                try:
                    owner = (entry / BUILDING).read_text()
                except OSError:
                    continue  # finished (a previous generation) or not ours to judge
                if owner_is_gone(owner):
                    size = sum(f.stat().st_size for f in entry.iterdir() if f.is_file())
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(
                        f"the half-built index {entry.name} ({size / 1e6:.1f} MB) of a "
                        f"rebuild that died (process {owner.split()[0]})"
                    )
        return removed

    # -- reading

    def exists(self) -> bool:
        name = self._pointer()
        return bool(name) and (self.path / name).is_dir()

    def indexed(self) -> dict[int, datetime.datetime]:
        with self._lock:
            view = self._view()
            if view is None:
                return {}
            self._check_files(view)
            ids, updated = view.ids, view.updated
            return {
                ids[d]: datetime.datetime.fromisoformat(updated[d].decode("ascii"))
                for d in view.alive
            }

    def advice(self) -> list[str]:
        """Segments without a postings file this code reads (written before postings
        files existed, or of another version: `postings.UnknownVersion`) are read by
        block, more slowly: a rebuild gives every segment one. A line per kind."""
        leaves = self._segment_data()
        missing = [d for d in leaves if d.postings_file is None and d.postings_problem is None]
        lines = []
        if missing:
            lines.append(
                f"{len(missing)} of {len(leaves)} index segments were written before postings "
                "files existed, so searches read them more slowly: run `manage.py rebuild_index` "
                "(or `check_index --fix`) once."
            )
        versions: dict[str, list[str]] = {}
        for data in leaves:
            if isinstance(data.postings_problem, postings.UnknownVersion):
                versions.setdefault(str(data.postings_problem), []).append(data.segment_id)
        for problem, segments in versions.items():
            lines.append(
                f"{len(segments)} of {len(leaves)} index segments ({', '.join(segments)}) have "
                f"a postings file {problem}, so searches read them through Whoosh's own "
                "postings, more slowly: run `manage.py rebuild_index` (or `check_index --fix`) "
                "once to rewrite them."
            )
        return lines

    def damaged_files(self) -> list[str]:
        """Segments whose postings file fails its checks (`postings.Damaged`), a line
        each: searches read them by block, with the same results."""
        return [
            f"Index segment {data.segment_id}: postings file {data.postings_problem}; "
            "searches read the segment through Whoosh's own postings, more slowly. "
            "`manage.py check_index --fix` rewrites it."
            for data in self._segment_data()
            if isinstance(data.postings_problem, postings.Damaged)
        ]

    def _segment_data(self) -> list:
        """The live segments' `view._SegmentData`, oldest first (none without an index)."""
        with self._lock:
            view = self._view()
            return [leaf.data for leaf in view._leaves()] if view is not None else []

    def _log_unread_postings(self, view: _View) -> None:
        """Log, once per segment and process, a postings file searches cannot read:
        a worker's log shows it even where nobody runs `check_index`."""
        for leaf in view._leaves():
            data = leaf.data
            if data.postings_problem is not None and not data.problem_logged:
                data.problem_logged = True
                logger.warning(
                    "Index segment %s: postings file %s; searches read it through Whoosh's "
                    "own postings, more slowly. `manage.py check_index --fix` rewrites it.",
                    data.segment_id,
                    data.postings_problem,
                )

    def _check_files(self, view: _View) -> None:
        """`_check_segment_files` for the segments `view` shows."""
        leaves = view.searcher.reader().leaf_readers()
        segments = [r.segment() for r, _offset in leaves if r.segment() is not None]
        _check_segment_files(self.path / view.generation, segments)

    def _checked_view(self, attempts: int = 5) -> _View | None:
        """The current view, its segment files checked (`_check_files`).

        A segment file missing because another process committed a merge after this
        view was opened is not damage: the merge deleted the segments it replaced. The
        view's open files still read them, but the check opens each by name, so the
        view is refreshed and checked again. A file missing from the index's latest
        commit is damage, and raises."""
        for attempt in range(attempts):
            view = self._view()
            if view is None:
                return None
            try:
                self._check_files(view)
                return view
            except SearchUnavailable:
                if attempt == attempts - 1 or view.searcher.up_to_date():
                    raise
        raise AssertionError("unreachable")

    def search(self, query: SearchQuery) -> SearchPage:
        """Answer one results page: `search.planner` with this engine's operations."""
        with self._lock:
            # Postings may come from the cache without touching the files, so damage
            # is looked for on every search (a few small reads).
            view = self._checked_view()
            if view is None:
                return empty_page()
            try:
                page = plan_page(WhooshOperations(view), query)
                self._log_unread_postings(view)
                return page
            except SearchUnavailable:
                raise
            except Exception as exc:
                logger.exception("Search failed on %s for %r", self.path, query.text)
                raise SearchUnavailable("the search index could not be read") from exc
            finally:
                view._query_cache.clear()

    def suggest_items(
        self, prefix: str, limit: int = 10, *, visible_on: datetime.date | None = None
    ) -> list[Suggestion]:
        """Titles and taxonomy names/aliases with a word starting with `prefix`.

        Taxonomy names come first, then phrases that start with the prefix, then
        shorter ones. Phrases with the same analysed words ("Crohn's disease",
        "Crohn\u2019s disease", "crohns disease") appear once. At most a few hundred
        lexicon terms are read.
        """
        words = analyse_unstemmed((prefix or "")[:100])[:6]
        if not words or len("".join(words)) < 2 or limit <= 0:
            return []
        with self._lock:
            view = self._view()
            if view is None:
                return []
            try:
                terms = list(_take(view.searcher.reader().expand_prefix("complete", words[0]), 400))
                hidden_titles = _scheduled_titles(view, visible_on)
            except Exception as exc:
                raise SearchUnavailable("the search index could not be read") from exc
        candidates = {}
        for term in terms:
            _word, kind, rest = term.decode("utf-8").split("\x1f", 2)
            display, _, slug = rest.partition("\x1e")
            if kind == "1" and display.casefold() in hidden_titles:
                continue
            display_words = analyse_unstemmed(display)
            at = _phrase_prefix_at(display_words, words)
            if at is None:
                continue
            key = (kind, at != 0, len(display), display.casefold())
            same = analyse(display.casefold()) or (display.casefold(),)
            if same not in candidates or key < candidates[same][0]:
                candidates[same] = (key, Suggestion(display, slug or None))
        return [item for _key, item in sorted(candidates.values(), key=lambda c: c[0])[:limit]]

    def more_like_this(
        self, article_id: int, limit: int = 5, *, visible_on: datetime.date | None = None
    ) -> list[int]:
        """Documents sharing this one's key terms (title, summary and start of the body).

        The key terms are Whoosh's (Bo1 over the first `RELATED_CHARS` characters);
        the documents containing them are scored with BM25 from block-read postings,
        as a results page is, instead of a Whoosh OR query walking a matcher tree:
        an article page was mostly this call, and it holds the searcher lock.
        """
        with self._lock:
            view = self._view()
            if view is None or limit <= 0:
                return []
            try:
                searcher = view.searcher
                docnum = searcher.document_number(id=str(article_id))
                if docnum is None:
                    return []
                stored = searcher.stored_fields(docnum)
                text = " ".join(
                    (stored.get("title", ""), stored.get("summary", ""), stored.get("body", ""))
                )[:RELATED_CHARS]
                terms = view.key_terms(text, 12)
                hidden = view.scheduled(visible_on)  # scheduled articles
                top = _similar(view, terms, exclude=hidden | {docnum}, count=limit)
                ids = view.ids
                found = [ids[d] for d in top]
            except Exception as exc:
                logger.exception("More-like-this failed on %s", self.path)
                raise SearchUnavailable("the search index could not be read") from exc
            finally:
                view._query_cache.clear()
        return [i for i in dict.fromkeys(found) if i is not None and i != article_id][:limit]


def _retrying(operation, where: Path, attempts: int = 5):
    """Run an index-opening operation, retrying transient failures; then give up.

    Whatever still fails after a few short waits (a truncated or corrupt file) is
    raised as `SearchUnavailable`, never as a random exception, with the failure as its
    cause: not logged here, since each caller either logs it (a results page, a save)
    or diagnoses it in one line (`check_index`, whose output carries no traceback).
    """
    for attempt in range(attempts):
        try:
            return operation()
        except Exception as exc:
            if attempt == attempts - 1:
                raise SearchUnavailable(f"search index {where} is unavailable") from exc
            time.sleep(0.005 * 2**attempt)
    raise AssertionError("unreachable")


def _being_built(directory: Path) -> bool:
    """Whether a live rebuild is still writing this generation."""
    try:
        return not owner_is_gone((directory / BUILDING).read_text())
    except OSError:
        return False


def _storage(directory: Path) -> FileStorage:
    """Whoosh file storage that reads with plain reads instead of memory maps.

    A file truncated or deleted under a memory map raises SIGBUS in whichever
    process next touches the lost pages; every web worker dies at once. With plain
    reads the same damage is a short read, an ordinary exception.
    """
    return FileStorage(str(directory), supports_mmap=False)


def _open_dir(directory: Path) -> index.Index:
    return _storage(directory).open_index()


def _check_segment_files(directory: Path, segments) -> None:
    """Raise `SearchUnavailable` if a segment's file is gone or cut short.

    A compound segment file starts with the offset and length of its table of
    contents, which is written last, at the end: a file shorter than their sum has
    been truncated. This catches damage that a process holding the files open, with
    what it read cached, would not notice until a search touched the lost part.
    """
    for segment in segments:
        if not segment.is_compound():
            continue
        path = directory / segment.make_filename(segment.COMPOUND_EXT)
        try:
            with open(path, "rb") as handle:
                header = handle.read(12)
                size = os.fstat(handle.fileno()).st_size
        except OSError as exc:
            raise SearchUnavailable(f"segment file {path.name} cannot be read: {exc}") from exc
        needed = sum(struct.unpack("!qi", header)) if len(header) == 12 else 12
        if size < needed:
            raise SearchUnavailable(
                f"segment file {path.name} is truncated ({size} of at least {needed} bytes)"
            )
