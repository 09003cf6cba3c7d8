"""The Whoosh search backend.

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
Rebuild writer processes die with the process that started them (`_die_with_parent`).

What is indexed: one positional `text` field whose postings carry BM25F section
weights (title 4, summary 2, taxonomy names/aliases and tags 2, body 1; see
`FoldedText`), facet keywords, and columns for dates, ids and the sort title.

How a results page is answered (`_Search`): the reader's query is parsed by our own
small language (`search.backends.query`), never Whoosh's QueryParser. Postings are
read block by block into document *sets*; set algebra gives the exact total, the
facet counts (each facet value's set is cached per segment), unmatched words and
the candidates of phrases, whose positions are then checked only for documents no
cheaper synonym already matched. BM25F is computed from the same postings over the
exact set and a heap picks the page, so no Python matcher tree walks every posting.
Highlights scan a bounded window of the stored text with a regex built from the
query's terms. Measured at 10,000 ~850-word articles (2-core machine, loaded):
p95 ~230 ms against ~800 ms for naive Whoosh (MultifieldParser + groupedby +
hit.highlights) on the bench query set.

Writes wait for Whoosh's write lock (retrying up to `LOCK_WAIT` seconds) instead of
failing, and replace documents by their unique `id`, found through the process's
cached searcher rather than a new reader (`_lookup`). How merging is handled: a
small write (up to `SMALL_BATCH` documents, an editor's save) commits its new
segment without merging, so it is searchable as soon as that commit returns; then,
only if the index has more than `MAX_SEGMENTS` segments, a second commit under the
same lock-wait logic folds all but the `KEPT_BY_MERGE` largest into one
(`_merge_smallest`, size-tiered, so the big segments are rarely rewritten). Larger
writes (`loaddata`, `update_index` chunks) merge as Whoosh does by default
(MERGE_SMALL), and a rebuild writes one segment per writer process
(`REBUILD_PROCESSES`, see `_ParallelWriter`). So saves never pile up into
hundreds of tiny segments (at most `MAX_SEGMENTS` + 1), and a merge (~100 ms at
10,000 articles) comes once every fifteen or so saves instead of every fourth, and
never delays other processes seeing the save: only the saving request waits for it.
Measured at 10,000 articles, searching from the saving process (the bench): save to
searchable p95 ~75 ms with merges this rare, 130-180 ms when every fourth save merged,
280-300 ms when MERGE_SMALL ran inside the save's commit.

A process keeps one searcher per backend, guarded by a lock (Whoosh readers share
file handles, so one search at a time per process), and renews it when another
process commits (`up_to_date()` is one directory listing), reopening only segments
that changed (`_fresh_searcher`; a segment that only gained deletions keeps its
open files, `_with_deletions`); after fork the child opens its own. Measured: a
save is searchable from another backend instance 10 ms (p50) / 23 ms (p95) after
its commit returns, at 10,000 articles.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import dataclasses
import datetime
import fcntl
import heapq
import itertools
import logging
import math
import multiprocessing
import os
import pickle
import queue
import shutil
import signal
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import columns, fields, index, multiproc
from whoosh.automata.lev import levenshtein_automaton
from whoosh.codec.base import Automata
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.reading import EmptyReader, MultiReader, SegmentReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from search.backends.base import (
    FACETS,
    ORDERINGS,
    FacetCount,
    Hit,
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
from search.backends.query import (
    FEW_RESULTS,
    CompiledQuery,
    ParsedQuery,
    Unit,
    acceptable_correction,
    compile_query,
    correctable,
    correction_distance,
    parse_query,
    relaxation_steps,
    suggestion_helps,
)
from search.backends.text import SNIPPET_CHARS
from search.backends.text import highlight as text_highlight
from search.backends.whoosh_analysis import (
    CompletionTokenizer,
    FoldedText,
    FoldingTokenizer,
    analyse,
    analyse_unstemmed,
    fold,
    normalize_word,
)

logger = logging.getLogger("search")

POINTER = "CURRENT"
GENERATION_PREFIX = "gen-"
BUILDING = ".building"  # in a generation a rebuild is still writing: its owner_tag()
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
RELATED_CHARS = 4_000  # how much of an article its related articles are chosen by
LOCK_WAIT = 120.0  # seconds a writer waits for the index lock before giving up
SMALL_BATCH = 50  # writes of up to this many documents commit before any merge
MAX_SEGMENTS = 18  # more segments than this, and a separate commit merges the smallest
KEPT_BY_MERGE = 2  # the largest segments a save's merge leaves alone
# Processes analysing and writing a rebuild's documents (one segment each).
REBUILD_PROCESSES = min(2, os.cpu_count() or 1)
# BM25F section weights: title above summary and taxonomy, those above body.
SECTION_WEIGHTS = {"title": 4.0, "summary": 2.0, "taxonomy": 2.0, "body": 1.0}
VOCABULARY_PREFIX = "vocab:"  # ids of the pseudo-documents carrying taxonomy words
MAX_PER_PAGE = 100
FACET_FIELDS = {"disease": "disease", "therapy": "therapy", "tag": "tag", "year": "year"}


def build_schema() -> fields.Schema:
    """The index schema: only what search, facets, sorting and highlights need.

    All searchable text is one positional field, `text`, whose sections (title,
    summary, taxonomy names and aliases with tag names, body) are weighted inside
    the postings (see `FoldedText`): one posting list per term makes document sets,
    phrase checks and scoring 4x cheaper than one field per section, and indexing
    writes a third fewer postings. Title, summary and body are stored (not indexed
    again) for highlights and more-like-this; ids, dates and the sort title are
    columns, readable without unpickling stored documents. `spell` holds the
    unstemmed words of titles and taxonomy names ("Did you mean" vocabulary) and
    `complete` the autocomplete phrases. Taxonomy names repeat across thousands of
    articles, so their `spell` and `complete` terms are indexed once, on small
    pseudo-documents (id `vocab:<name>`) that searches never return.
    """
    return fields.Schema(
        id=fields.ID(unique=True, stored=True, sortable=True),
        slug=fields.STORED(),
        title=fields.STORED(),
        summary=fields.STORED(),
        body=fields.STORED(),
        text=FoldedText(analyzer=FoldingTokenizer()),
        spell=FoldedText(analyzer=FoldingTokenizer(stem=False), phrase=False),
        complete=fields.TEXT(analyzer=CompletionTokenizer(), phrase=False),
        disease=fields.KEYWORD(),
        therapy=fields.KEYWORD(),
        tag=fields.KEYWORD(),
        year=fields.ID(),
        published=fields.COLUMN(columns.NumericColumn("i")),
        title_sort=fields.COLUMN(columns.VarBytesColumn()),
        updated_at=fields.COLUMN(columns.VarBytesColumn()),
    )


def document_fields(doc: SearchDocument) -> dict:
    """The Whoosh field values for one article."""
    weights = SECTION_WEIGHTS
    text = (
        (doc.title, weights["title"]),
        (doc.summary, weights["summary"]),
        ("\n".join(doc.taxonomy + doc.tag_names), weights["taxonomy"]),
        (doc.body, weights["body"]),
    )
    return {
        "id": str(doc.id),
        "slug": doc.slug,
        "title": doc.title,
        "summary": doc.summary,
        "body": doc.body,
        "text": text,
        "spell": doc.title,
        "complete": f"1\x1f{doc.title}\x1e{doc.slug}",
        "disease": " ".join(doc.diseases),
        "therapy": " ".join(doc.therapies),
        "tag": " ".join(doc.tags),
        "year": str(doc.published_on.year),
        "published": doc.published_on.toordinal(),
        "title_sort": fold(doc.title).encode("utf-8"),
        "updated_at": doc.updated_at.isoformat().encode("ascii"),
    }


def vocabulary_fields(phrase: str) -> dict:
    """A pseudo-document carrying one taxonomy name's spelling and completion terms."""
    return {
        "id": VOCABULARY_PREFIX + phrase.casefold(),
        "spell": phrase,
        "complete": f"0\x1f{phrase}",
    }


def _taxonomy_phrases(docs: Iterable[SearchDocument]) -> dict[str, str]:
    phrases: dict[str, str] = {}
    for doc in docs:
        for phrase in doc.taxonomy:
            phrases.setdefault(phrase.casefold(), phrase)
    return phrases


# --- Writing ----------------------------------------------------------------------


class _Lengths:
    """Field lengths of a segment being written, read once per field.

    Whoosh looks up the field length of the document of every posting when it
    writes a new segment (to record per-block min/max lengths): ~500 column reads
    per ~800-word article. Reading each field's lengths column once into a list
    takes a third off commit time.
    """

    def __init__(self, perdoc) -> None:
        self.perdoc = perdoc
        self.cache: dict[str, list] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0):
        lengths = self.cache.get(fieldname)
        if lengths is None:
            lengths = self.cache[fieldname] = self._load(fieldname)
        return lengths[docnum] if docnum < len(lengths) else default

    def _load(self, fieldname: str) -> list:
        name = f"_{fieldname}_len"  # whoosh.codec.whoosh3._lenfield
        if not self.perdoc.has_column(name):
            return []
        reader = self.perdoc.column_reader(name, LENGTHS_COLUMN)
        # Same values as W3PerDocReader.doc_field_length, which answers None for 0.
        return [byte_to_length(b) if b else None for b in reader]


class _Writer(SegmentWriter):
    """Whoosh's SegmentWriter, with field lengths cached while flushing a segment."""

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        perdoc = self.per_document_reader() if self.codec.length_stats else None
        lengths = _Lengths(perdoc) if perdoc else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if perdoc:
            perdoc.close()


class _SubWriter(multiproc.SubWriterTask):
    """A process of `_ParallelWriter`: Whoosh's sub-writer, writing with `_Writer`."""

    def run(self) -> None:
        # run() executes in the forked child, so rebinding the name Whoosh's run()
        # looks up changes nothing in the parent. The child never touches the ORM or
        # the database connections it inherited, and leaves through os._exit().
        _die_with_parent()
        multiproc.SegmentWriter = _Writer
        super().run()


def _die_with_parent() -> None:
    """Make this forked writer process exit when the process that started it dies.

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
    (in batches, through files) to `procs` forked processes, each of which analyses
    them and writes its own segment (`multisegment`: no final merge).

    Measured at 10,000 articles on 2 cores: ~1.9x the docs/s of one writer, peak
    RSS of the three processes ~320 MB. A Markdown-to-text pool overlapping a single
    writer reached only ~1.55x (the writer was then the bottleneck), and both
    together passed 400 MB.
    """

    def __init__(self, ix: index.Index, **kwargs) -> None:
        super().__init__(ix, **kwargs)
        self.jobqueue = _Jobs(self.jobqueue, self.tasks)

    def _new_task(self) -> multiproc.SubWriterTask:
        task = _SubWriter(
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        self.tasks.append(task)
        task.start()
        return task

    def cancel(self) -> None:
        # Whoosh's cancel() only flags its own copy of each task: the children would
        # wait for jobs forever (and the interpreter for them at exit).
        for task in self.tasks:
            task.terminate()
            task.join()
        self.tasks = []
        super().cancel()


# --- Per-segment caches -------------------------------------------------------------


def _field_lengths(reader, fieldname: str, size: int) -> list[int]:
    """Every document's length in `fieldname` (what BM25 normalises by)."""
    perdoc = getattr(reader, "_perdoc", None)
    name = f"_{fieldname}_len"  # whoosh.codec.whoosh3._lenfield
    if perdoc is not None and perdoc.has_column(name):
        column = perdoc.column_reader(name, LENGTHS_COLUMN)
        return [byte_to_length(b) if b else 0 for b in column]
    return [reader.doc_field_length(d, fieldname, 0) or 0 for d in range(size)]


def _leaf_postings(reader, fieldname: str, text: str) -> tuple[list, list, list]:
    """A term's postings in one segment as (docnums, weights, encoded values).

    Reads whole posting blocks (one unpickle each gives ids, weights and values)
    instead of stepping a matcher posting by posting: about 10x faster. Deleted
    documents are included; callers intersect with the live set.
    """
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return [], [], []
    matcher = getattr(matcher, "child", matcher)  # unwrap the deletions filter
    ids: list[int] = []
    weights: list[float] = []
    values: list = []
    if type(matcher) is not W3LeafMatcher:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            values.append(matcher.value())
            matcher.next()
        return ids, weights, values
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        if matcher._weights is None:
            matcher._read_weights()
        if matcher._values is None:
            matcher._read_values()
        ids.extend(matcher._ids)
        weights.extend(matcher._weights)
        values.extend(matcher._values)
        matcher._next_block()
    return ids, weights, values


class _SegmentData:
    """Column values and facet document sets of one (immutable) segment."""

    def __init__(self, reader) -> None:
        self.size = reader.doc_count_all()
        self.published = list(reader.column_reader("published"))
        self.title_sort = list(reader.column_reader("title_sort"))
        self.ids = [int(v) if v.isdigit() else None for v in reader.column_reader("id")]
        # Vocabulary pseudo-documents (and any id that is not an article's) never match.
        self.hidden = frozenset(d for d, v in enumerate(self.ids) if v is None)
        self.text_lengths = _field_lengths(reader, "text", self.size)
        self.updated = list(reader.column_reader("updated_at"))
        self.facets: dict[str, dict[str, list[int]]] = {}
        for facet, fieldname in FACET_FIELDS.items():
            values = {}
            for term in reader.lexicon(fieldname):
                value = term.decode("utf-8")
                values[value] = _leaf_postings(reader, fieldname, value)[0]
            self.facets[facet] = values


@dataclass
class _View:
    """One searcher and what is derived from it, rebuilt when the index changes."""

    generation: str
    ix: index.Index
    searcher: object
    segments: dict  # segment id -> _SegmentData, shared across views
    _cache: dict = field(default_factory=dict)
    _query_cache: dict = field(default_factory=dict)  # cleared after every search

    def _leaves(self) -> list[tuple[object, int, _SegmentData]]:
        if "leaves" not in self._cache:
            leaves = []
            for reader, offset in self.searcher.reader().leaf_readers():
                if reader.segment() is None:  # an empty index has an EmptyReader
                    continue
                segid = reader.segment().segment_id()
                if segid not in self.segments:
                    self.segments[segid] = _SegmentData(reader)
                leaves.append((reader, offset, self.segments[segid]))
            self._cache["leaves"] = leaves
        return self._cache["leaves"]

    def _concat(self, attribute: str) -> list:
        if attribute not in self._cache:
            values: list = []
            for _reader, _offset, data in self._leaves():
                values.extend(getattr(data, attribute))
            self._cache[attribute] = values
        return self._cache[attribute]

    @property
    def alive(self) -> frozenset[int]:
        if "alive" not in self._cache:
            docs: set[int] = set()
            for reader, offset, data in self._leaves():
                deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
                hidden = deleted | data.hidden
                if hidden or offset:
                    docs.update(offset + d for d in range(data.size) if d not in hidden)
                else:
                    docs.update(range(data.size))
            self._cache["alive"] = frozenset(docs)
        return self._cache["alive"]

    @property
    def text_lengths(self) -> list[int]:
        return self._concat("text_lengths")

    @property
    def published(self) -> list[int]:
        return self._concat("published")

    @property
    def title_sort(self) -> list[bytes]:
        return self._concat("title_sort")

    @property
    def ids(self) -> list[int]:
        return self._concat("ids")

    @property
    def updated(self) -> list[bytes]:
        return self._concat("updated")

    def scheduled(self, visible_on: datetime.date | None) -> frozenset[int]:
        """Documents published after `visible_on` (scheduled articles), cached per view.

        Readers must not see them; scheduled articles are few, so subtracting this
        set is cheaper than intersecting with the visible ones.
        """
        if visible_on is None:
            return frozenset()
        key = ("scheduled", visible_on.toordinal())
        if key not in self._cache:
            day, published = key[1], self.published
            self._cache[key] = frozenset(d for d in self.alive if published[d] > day)
        return self._cache[key]

    def facet_docs(self, facet: str) -> dict[str, set[int]]:
        key = ("facet", facet)
        if key not in self._cache:
            merged: dict[str, set[int]] = {}
            for _reader, offset, data in self._leaves():
                for value, ids in data.facets[facet].items():
                    target = merged.setdefault(value, set())
                    target.update(ids if not offset else (offset + d for d in ids))
            self._cache[key] = merged
        return self._cache[key]

    def postings(self, token: str) -> tuple[list[int], list[float], list]:
        """The token's postings in the `text` field as global (docnums, weights, values).

        Cached for the current search only: a synonym group repeats the same words
        ("stem", "cell", "transplant") across many alternatives.
        """
        key = ("postings", token)
        if key not in self._query_cache:
            ids: list[int] = []
            weights: list[float] = []
            values: list = []
            for reader, offset, _data in self._leaves():
                leaf_ids, leaf_weights, leaf_values = _leaf_postings(reader, "text", token)
                ids.extend(leaf_ids if not offset else [offset + d for d in leaf_ids])
                weights.extend(leaf_weights)
                values.extend(leaf_values)
            self._query_cache[key] = (ids, weights, values)
        return self._query_cache[key]

    def term_docs(self, token: str) -> set[int]:
        """Documents containing `token` (deleted ones included: callers intersect)."""
        key = ("docs", token)
        if key not in self._query_cache:
            self._query_cache[key] = set(self.postings(token)[0])
        return self._query_cache[key]

    def positions(self, token: str, docnum: int) -> frozenset[int]:
        key = ("positions", token)
        if key not in self._query_cache:
            ids, _weights, values = self.postings(token)
            self._query_cache[key] = (dict(zip(ids, values, strict=True)), {})
        encoded, decoded = self._query_cache[key]
        if docnum not in decoded:
            decoded[docnum] = frozenset(_decode_positions(encoded[docnum]))
        return decoded[docnum]

    def phrase_docs(self, tokens: tuple[str, ...], known: set[int]) -> set[int]:
        """Documents containing the phrase, not counting those already in `known`.

        Candidates are the intersection of the words' document sets; only those not
        already matched (by a cheaper synonym) have their positions checked.
        """
        words = tuple(dict.fromkeys(tokens))
        candidates = set.intersection(*(self.term_docs(t) for t in words)) - known
        found: set[int] = set()
        for docnum in candidates:
            starts = self.positions(tokens[0], docnum)
            for shift, token in enumerate(tokens[1:], 1):
                starts = starts & {p - shift for p in self.positions(token, docnum)}
                if not starts:
                    break
            if starts:
                found.add(docnum)
        return found

    def unit_docs(self, unit: Unit) -> set[int]:
        """Documents matching any alternative: single words first, then phrases.

        Cached for the current search: a question's units are counted, reported and
        scored from the same sets.
        """
        key = ("unit", unit)
        if key not in self._query_cache:
            self._query_cache[key] = self._unit_docs(unit)
        return self._query_cache[key]

    def _unit_docs(self, unit: Unit) -> set[int]:
        docs: set[int] = set()
        for alternative in unit.loose:
            docs |= set.intersection(*(self.term_docs(t) for t in alternative))
        for alternative in unit.alternatives:
            if len(alternative) == 1:
                docs |= self.term_docs(alternative[0])
        for alternative in unit.alternatives:
            if len(alternative) > 1:
                docs |= self.phrase_docs(alternative, docs)
        return docs


def _decode_positions(value: bytes) -> itertools.accumulate:
    """Positions from Whoosh's Positions encoding (a count, then pickled deltas)."""
    payload = value[4:]
    if not payload.endswith(b"."):
        payload += b"."
    return itertools.accumulate(pickle.loads(payload))


# --- Highlighting -------------------------------------------------------------------


def highlight(
    summary: str,
    body: str,
    terms: frozenset[str],
    size: int = SNIPPET_CHARS,
    phrases: tuple[tuple[str, ...], ...] = (),
    groups: dict[str, int] | None = None,
) -> str:
    """`search.backends.text.highlight` with this engine's analyser."""
    return text_highlight(summary, body, terms, normalize_word, size, phrases, groups)


# --- The backend --------------------------------------------------------------------


class WhooshBackend(SearchBackend):
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
        for segid in set(self._segments) - live:
            del self._segments[segid]
        return self._view_state

    def _refreshed(self, name: str, state: _View | None) -> _View:
        if state is not None and state.generation == name:
            if state.searcher.up_to_date():
                return state
            searcher = _fresh_searcher(state.ix, state.searcher)
            return _View(name, state.ix, searcher, self._segments)
        self.close()
        ix = _open_dir(self.path / name)
        self._segments = {}
        return _View(name, ix, _fresh_searcher(ix, None), self._segments)

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
        without it the new segment is committed alone (visible at once), and only
        then, if the index has more than `MAX_SEGMENTS` segments, a second commit
        merges the smallest ones.
        """
        name, writer = self._live_writer()
        try:
            yield writer, self._lookup(writer, name)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(merge=merge)
        if not merge:
            self._merge_if_needed(name)

    def _merge_if_needed(self, name: str) -> None:
        """Merge the smallest segments in a commit of its own when there are too many."""
        ix = self._open(name)
        if len(ix._segments()) <= MAX_SEGMENTS:
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

    def index(self, documents: Iterable[SearchDocument]) -> int:
        """Add or replace documents by id in one commit; waits for the write lock.

        A small batch (an editor's save) is committed without merging, so it is
        searchable at once; see `_writing`.
        """
        docs = list(documents)
        if not docs:
            return 0
        with self._writing(merge=len(docs) > SMALL_BATCH) as (writer, lookup):
            for doc in docs:
                for docnum in lookup(str(doc.id)):
                    writer.delete_document(docnum)
                writer.add_document(**document_fields(doc))
            phrases = _taxonomy_phrases(docs)
            for key, phrase in phrases.items():
                if not lookup(VOCABULARY_PREFIX + key):
                    writer.add_document(**vocabulary_fields(phrase))
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
        writes the documents in that many forked processes, one segment each, while
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
                writer = _ParallelWriter(ix, procs=REBUILD_PROCESSES, multisegment=True, limitmb=48)
            else:
                writer = _Writer(ix, limitmb=96)
            seen: set[int] = set()
            phrases: dict[str, str] = {}
            try:
                for doc in documents:
                    if doc.id in seen:
                        continue
                    seen.add(doc.id)
                    writer.add_document(**document_fields(doc))
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
            leaves = view.searcher.reader().leaf_readers()
            segments = [r.segment() for r, _offset in leaves if r.segment() is not None]
            _check_segment_files(self.path / view.generation, segments)
            ids, updated = view.ids, view.updated
            return {
                ids[d]: datetime.datetime.fromisoformat(updated[d].decode("ascii"))
                for d in view.alive
            }

    def search(self, query: SearchQuery) -> SearchPage:
        """Answer one results page; see the module docstring for how."""
        parsed = parse_query(query.text or "")
        compiled = compile_query(parsed, analyse, query.synonyms or ())
        with self._lock:
            view = self._view()
            if view is None:
                return SearchPage(hits=[], total=0, page=1, num_pages=1, facets=_no_facets())
            try:
                return _Search(view, query, parsed, compiled).page()
            except SearchUnavailable:
                raise
            except Exception as exc:
                logger.exception("Search failed on %s for %r", self.path, query.text)
                raise SearchUnavailable("the search index could not be read") from exc

    def suggest(
        self, prefix: str, limit: int = 10, *, visible_on: datetime.date | None = None
    ) -> list[str]:
        return [item.text for item in self.suggest_items(prefix, limit, visible_on=visible_on)]

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
                terms = searcher.key_terms_from_text("text", text, numterms=12)
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


def _similar(
    view: _View, terms: list[tuple[str, float]], exclude: frozenset[int], count: int
) -> list[int]:
    """The `count` live documents, none in `exclude`, with the highest key-term-weighted BM25 scores."""
    total_docs = view.searcher.doc_count_all() or 1
    average = (view.searcher.field_length("text") / total_docs) or 1.0
    lengths, alive = view.text_lengths, view.alive
    b, k1 = 0.75, 1.2
    scores: dict[int, float] = {}
    for token, weight in terms:
        ids, tfs, _values = view.postings(token)
        idf = math.log(total_docs / (len(ids) + 1)) + 1
        for docnum, tf in zip(ids, tfs, strict=True):
            if docnum in exclude or docnum not in alive:
                continue
            norm = k1 * (1 - b + b * lengths[docnum] / average)
            scores[docnum] = scores.get(docnum, 0.0) + weight * idf * tf * (k1 + 1) / (tf + norm)
    best = heapq.nsmallest(count, scores.items(), key=lambda item: (-item[1], item[0]))
    return [docnum for docnum, _score in best]


def _fresh_searcher(ix: index.Index, old: Searcher | None) -> Searcher:
    """A searcher on the index's latest commit, reusing unchanged segments' readers.

    Not `searcher.refresh()`: Whoosh 2.7 reuses a segment's reader whenever the
    segment id is unchanged, so deletions committed since stay invisible, and it
    cannot refresh from an empty reader. Here a segment whose deletions changed
    gets a reader that sees them (`_with_deletions`), so after an editor's save only
    the new small segment (and any merged one) is opened.
    """
    toc = ix._read_toc()
    previous: dict[str, SegmentReader] = {}
    if old is not None:
        for reader, _offset in old.reader().leaf_readers():
            if isinstance(reader, SegmentReader) and reader.segment() is not None:
                previous[reader.segment().segment_id()] = reader
    readers = []
    for segment in toc.segments:
        reader = previous.pop(segment.segment_id(), None)
        if reader is None:
            reader = SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
        elif reader.segment().deleted_count() != segment.deleted_count():
            reader = _with_deletions(reader, segment)
        readers.append(reader)
    for reader in previous.values():
        with contextlib.suppress(Exception):
            reader.close()
    if not readers:
        return Searcher(EmptyReader(toc.schema), fromindex=ix)
    # Always a MultiReader, so the generation (what up_to_date() compares) is new.
    return Searcher(MultiReader(readers, generation=toc.generation), fromindex=ix)


def _with_deletions(reader: SegmentReader, segment) -> SegmentReader:
    """A reader of the same segment that sees the deletions recorded in `segment`.

    Opening a SegmentReader copies the segment's whole term index out of its
    memory map (~30 ms for a 10,000-article segment), and every editor's save
    deletes the old version of an article from the big segment. Whoosh keeps a
    segment's deletions only in its per-document reader, so the new reader shares
    the old one's open files and gets a per-document reader of its own; the old
    reader must not be closed afterwards (its files live on in the new one).
    """
    fresh = copy.copy(reader)
    fresh.__dict__.pop("deleted_docs_set", None)  # a cached_property of the deletions
    fresh._segment = segment
    fresh._perdoc = reader.codec().per_document_reader(reader.storage(), segment)
    reader._perdoc.close()
    return fresh


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


def _retrying(operation, where: Path, attempts: int = 5):
    """Run an index-opening operation, retrying transient failures; then give up.

    Whatever still fails after a few short waits (a truncated or corrupt file) is
    logged and raised as `SearchUnavailable`, never as a random exception.
    """
    for attempt in range(attempts):
        try:
            return operation()
        except Exception as exc:
            if attempt == attempts - 1:
                logger.exception("Search index %s cannot be opened", where)
                raise SearchUnavailable(f"search index {where} is unavailable") from exc
            time.sleep(0.005 * 2**attempt)
    raise AssertionError("unreachable")


def _scheduled_titles(view: _View, visible_on: datetime.date | None) -> frozenset[str]:
    """Case-folded titles of scheduled documents, which autocomplete must not offer."""
    scheduled = view.scheduled(visible_on)
    if not scheduled:
        return frozenset()
    stored = view.searcher.stored_fields
    return frozenset(stored(d).get("title", "").casefold() for d in scheduled)


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


def _take(iterator, count: int) -> Iterator:
    for n, item in enumerate(iterator):
        if n >= count:
            return
        yield item


def _phrase_prefix_at(words: tuple[str, ...], prefix: tuple[str, ...]) -> int | None:
    """Where `prefix` (whole words, the last one a prefix) starts within `words`."""
    last = len(prefix) - 1
    for start in range(len(words) - last):
        if words[start + last].startswith(prefix[last]) and all(
            words[start + i] == prefix[i] for i in range(last)
        ):
            return start
    return None


def _no_facets() -> dict[str, list[FacetCount]]:
    return {facet: [] for facet in FACETS}


def _scoring_units(units: tuple[Unit, ...]) -> list[list[tuple[str, ...]]]:
    """What the scorer sees of each unit: the reader's own words and one-word synonyms.

    Multi-word synonym alternatives are left out (each would add a conjunction of
    common words to score across thousands of documents); the document set is
    already exact, so this only decides the order among matches. A multi-word
    alternative is scored as its words, since the set already guarantees the phrase.
    """
    scoring = []
    for unit in units:
        own, *others = unit.loose + unit.alternatives
        scoring.append([own, *(alt for alt in others if len(alt) == 1)])
    return scoring


class _Search:
    """One results page: sets first, then scoring of just the page, then decoration."""

    def __init__(
        self, view: _View, request: SearchQuery, parsed: ParsedQuery, compiled: CompiledQuery
    ) -> None:
        self.view = view
        self.request = request
        self.parsed = parsed
        self.compiled = compiled
        self.per_page = min(max(int(request.per_page or 20), 1), MAX_PER_PAGE)
        self.ordering = request.ordering if request.ordering in ORDERINGS else "relevance"

    def page(self) -> SearchPage:
        try:
            return self._page()
        finally:
            self.view._query_cache.clear()

    def _page(self) -> SearchPage:
        view, compiled = self.view, self.compiled
        unmatched: list[str] = []
        for unit in compiled.required:
            if view.alive.isdisjoint(view.unit_docs(unit)):
                unmatched.extend(unit.source)
        unmatched = list(dict.fromkeys(unmatched))
        docs, coverage, not_found = self._matching()
        if not docs and compiled.required:
            corrected = self._corrected_search()
            if corrected is not None:
                return corrected
        total = len(docs)
        num_pages = max(1, math.ceil(total / self.per_page))
        page_number = min(max(int(self.request.page or 1), 1), num_pages)
        offset = (page_number - 1) * self.per_page
        ranked = self._rank(docs, offset, coverage)
        words, phrases = compiled.highlight_terms()
        groups = compiled.highlight_groups()
        hits = []
        for docnum, score in ranked:
            stored = view.searcher.stored_fields(docnum)
            summary, body = stored.get("summary", ""), stored.get("body", "")
            hits.append(
                Hit(
                    id=int(stored["id"]),
                    slug=stored.get("slug", ""),
                    score=round(float(score), 4),
                    highlight=highlight(summary, body, words, phrases=phrases, groups=groups),
                )
            )
        countable = len(compiled.countable_units())
        return SearchPage(
            hits=hits,
            total=total,
            page=page_number,
            num_pages=num_pages,
            facets=self._facets(docs),
            suggestion=self._suggestion(unmatched),
            unmatched_terms=unmatched,
            match="most" if coverage and min(coverage.values()) < countable else "all",
            not_found=not_found,
            expanded=compiled.expanded(),
            shortened=self.parsed.shortened,
        )

    def _matching(self) -> tuple[set[int] | frozenset[int], dict[int, int], list[str]]:
        """The documents to list, how many meaningful units each matches, and the
        meaningful words no candidate contains.

        Quoted units are required and exclusions apply in every mode; the meaningful
        units are required all together when that finds `FEW_RESULTS` or more, and
        relaxed one by one otherwise (`relaxation_steps`). `coverage` is empty when
        every unit was required.
        """
        view, compiled = self.view, self.compiled
        candidates: set[int] | frozenset[int] = view.alive
        for unit in compiled.must_units():
            candidates = candidates & view.unit_docs(unit)
        for unit in compiled.excluded:
            candidates = candidates - view.unit_docs(unit)
        candidates = self._filtered(candidates)
        units = compiled.countable_units()
        if not units:
            return candidates, {}, []
        sets = sorted((view.unit_docs(u) for u in units), key=len)
        strict = candidates.intersection(*sets) if sets[0] else set()
        not_found = [
            word
            for unit in units
            if not unit.stop and candidates.isdisjoint(view.unit_docs(unit))
            for word in unit.source
        ]
        not_found = list(dict.fromkeys(not_found))
        steps = relaxation_steps(len(units), has_must=bool(compiled.must_units()))
        if len(strict) >= FEW_RESULTS or len(steps) == 1 or not self.request.relax:
            return strict, {}, not_found
        coverage: dict[int, int] = dict.fromkeys(candidates, 0) if steps[-1] == 0 else {}
        for unit_docs in sets:
            for docnum in unit_docs & candidates:
                coverage[docnum] = coverage.get(docnum, 0) + 1
        for least in steps:
            docs = {d for d, n in coverage.items() if n >= least}
            if len(docs) >= FEW_RESULTS or least == steps[-1]:
                return docs, {d: coverage[d] for d in docs}, not_found
        return strict, {}, not_found

    def _strict_total(self, compiled: CompiledQuery) -> int:
        """How many articles match every meaningful word of `compiled` (with filters)."""
        view = self.view
        docs: set[int] | frozenset[int] = view.alive
        for unit in compiled.must_units() + compiled.countable_units():
            docs = docs & view.unit_docs(unit)
        for unit in compiled.excluded:
            docs = docs - view.unit_docs(unit)
        return len(self._filtered(docs))

    def _corrected_search(self) -> SearchPage | None:
        """The page for the corrected query, when the reader's own query found nothing."""
        replace = self._corrections()
        if not replace:
            return None
        parsed = parse_query(self.parsed.render(replace))
        compiled = compile_query(parsed, analyse, self.request.synonyms or ())
        if not self._strict_total(compiled):
            return None
        page = _Search(self.view, self.request, parsed, compiled)._page()
        return dataclasses.replace(
            page, corrected=parsed.render(), suggestion=None, shortened=self.parsed.shortened
        )

    def _filtered(self, docs):
        request = self.request
        hidden = self.view.scheduled(request.visible_on)
        if hidden:
            docs = docs - hidden
        wanted = [("disease", s) for s in request.diseases]
        wanted += [("therapy", s) for s in request.therapies]
        wanted += [("tag", s) for s in request.tags]
        if request.year is not None:
            wanted.append(("year", str(request.year)))
        for facet, value in wanted:
            docs = self.view.facet_docs(facet).get(str(value), set()).intersection(docs)
        return docs

    def _rank(self, docs, offset: int, coverage: dict[int, int]) -> list[tuple[int, float]]:
        """The page's (docnum, score) pairs; only the top `offset + per_page` are scored.

        When not every word was required (`coverage`), articles matching more of the
        meaningful words come first in every ordering's relevance.
        """
        if not docs:
            return []
        wanted = offset + self.per_page
        published, titles = self.view.published, self.view.title_sort
        if self.ordering == "relevance" and self.compiled.required:
            return self._rank_by_relevance(docs, offset, wanted, coverage)
        if self.ordering == "title":
            top = heapq.nsmallest(wanted, docs, key=lambda d: (titles[d], -published[d], d))
        elif self.ordering == "published_on":
            top = heapq.nsmallest(wanted, docs, key=lambda d: (published[d], titles[d], d))
        else:  # "-published_on", and relevance without words: newest first
            top = heapq.nsmallest(wanted, docs, key=lambda d: (-published[d], titles[d], d))
        return [(d, 0.0) for d in top[offset:wanted]]

    def _rank_by_relevance(
        self, docs, offset: int, wanted: int, coverage: dict[int, int]
    ) -> list[tuple[int, float]]:
        """BM25F over the exact document set, computed from the postings already read.

        Whoosh's collector walks a tree of matchers, one Python call per posting per
        query term; scoring here is one loop per term over (docnum, weight) pairs,
        with document lengths from a per-segment cache, then a heap for the page.
        The weights already carry the section boosts (see `FoldedText`), so this is
        BM25F with Whoosh's parameters (B=0.75, K1=1.2) and idf.

        Multi-word synonym alternatives are not scored (they would add conjunctions
        of common words for no change in which documents match): documents matched
        only through one score 0 and follow the scored ones, newest first. Stopwords
        are not scored. With `coverage` (not every word required), the number of
        meaningful units matched comes before the score: coordination first.
        """
        view = self.view
        searcher = view.searcher
        lengths = view.text_lengths
        total_docs = searcher.doc_count_all()
        average = (searcher.field_length("text") / total_docs) if total_docs else 1.0
        average = average or 1.0
        b, k1 = 0.75, 1.2
        norms: dict[int, float] = {}
        scores: dict[int, float] = dict.fromkeys(docs, 0.0)
        matched = set(docs)
        scored_units = [u for u in self.compiled.required if not u.stop]
        scored_units = scored_units or list(self.compiled.required)
        for alternatives in _scoring_units(tuple(scored_units)):
            unit_docs: set[int] = set()
            for tokens in alternatives:
                unit_docs |= set.intersection(*(view.term_docs(t) for t in tokens))
                for token in dict.fromkeys(tokens):
                    ids, weights, _values = view.postings(token)
                    idf = math.log(total_docs / (len(ids) + 1)) + 1
                    for docnum, tf in zip(ids, weights, strict=True):
                        if docnum in scores:
                            norm = norms.get(docnum)
                            if norm is None:
                                norm = norms[docnum] = k1 * (1 - b + b * lengths[docnum] / average)
                            scores[docnum] += idf * tf * (k1 + 1) / (tf + norm)
            matched &= unit_docs
        published, titles = view.published, view.title_sort
        if coverage:
            matched = set(docs)
        top = heapq.nsmallest(
            wanted,
            docs,
            key=lambda d: (
                -coverage.get(d, 0),
                d not in matched,
                -scores[d],
                -published[d],
                titles[d],
                d,
            ),
        )
        return [(d, scores[d] if d in matched else 0.0) for d in top[offset:wanted]]

    def _facets(self, docs) -> dict[str, list[FacetCount]]:
        facets = {}
        for facet in FACETS:
            counts = []
            for value, value_docs in self.view.facet_docs(facet).items():
                count = len(value_docs.intersection(docs))
                if count:
                    counts.append(FacetCount(value, count))
            counts.sort(key=lambda c: (-c.count, c.value))
            facets[facet] = counts
        return facets

    def _suggestion(self, unmatched: list[str]) -> str | None:
        """A corrected query that finds more articles (matching all its words), or None.

        Only words the library does not know are corrected (`correctable`), so a word
        any article, title or taxonomy name uses is never changed; see `_corrections`.
        """
        if not unmatched:
            return None
        replace = self._corrections()
        if not replace:
            return None
        suggestion = self.parsed.render(replace)
        if suggestion.casefold() == self.parsed.render().casefold():
            return None
        compiled = compile_query(parse_query(suggestion), analyse, self.request.synonyms or ())
        if not suggestion_helps(self._strict_total(self.compiled), self._strict_total(compiled)):
            return None
        return suggestion

    def _corrections(self) -> dict[str, str]:
        """Reader's word (casefolded) → the likeliest spelling from the library's words."""
        reader = self.view.searcher.reader()

        def known(word: str) -> bool:
            folded = normalize_word(word, stem=False)
            stemmed = normalize_word(word.casefold())
            return not folded or bool(
                reader.doc_frequency("text", stemmed) or reader.doc_frequency("spell", folded)
            )

        replace: dict[str, str] = {}
        plain = [
            word
            for group in self.parsed.required
            for clause in group
            if not clause.quoted
            for word in clause.words
        ]
        for word in dict.fromkeys(plain):
            if not correctable(word, known):
                continue
            folded = normalize_word(word, stem=False)
            best = self._correct(folded, correction_distance(folded))
            if best is not None and acceptable_correction(folded, best[0]):
                replace[word.casefold()] = best[0]
        return replace

    def _correct(self, word: str, max_distance: int) -> tuple[str, int] | None:
        """The most frequent `spell` term within edit distance 1, else up to `max_distance`."""
        reader = self.view.searcher.reader()
        fieldname = reader.schema["spell"].spelling_fieldname("spell")
        for distance in range(1, max_distance + 1):
            # One automaton for every segment: building it costs more than walking a
            # segment's terms with it, and an index has up to MAX_SEGMENTS segments.
            dfa = levenshtein_automaton(word, distance, prefix=1).to_dfa()
            candidates: set[str] = set()
            for leaf, _offset in reader.leaf_readers():
                with contextlib.suppress(TermNotFound, KeyError):
                    candidates.update(Automata.find_matches(dfa, leaf.cursor(fieldname)))
            candidates.discard(word)
            candidates = {c for c in candidates if acceptable_correction(word, c)}
            if candidates:
                scored = [(reader.doc_frequency("spell", c), c) for c in candidates]
                frequency, best = max(scored, key=lambda fc: (fc[0], [-ord(ch) for ch in fc[1]]))
                return best, frequency
        return None
