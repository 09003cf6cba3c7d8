"""The search backend interface: the only thing views and commands know about search.

A backend indexes `SearchDocument`s, answers a `SearchQuery` with one `SearchPage`
(the hits of one page with highlights, the total, facet counts and a spelling
suggestion) and can list what it holds. Only modules in `search/backends/` import an
engine library; swapping engines is one change to `SEARCH_BACKENDS` in settings.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

ORDERINGS = ("relevance", "-published_on", "published_on", "title")


#: The current documents of these article ids, read from the database: published ones
#: only, other ids yield nothing (`search.documents.documents_for`).
DocumentSource = Callable[[Iterable[int]], Iterable["SearchDocument"]]


@dataclass(frozen=True)
class Facet:
    """A facet of the results page: `name` is its key in `SearchPage.facets` (and the
    results page's parameter), `field` the `SearchQuery` filter of that name (and the
    `SearchDocument` attribute and index column holding its values)."""

    name: str
    field: str


FACET_FIELDS = (
    Facet("disease", "diseases"),
    Facet("therapy", "therapies"),
    Facet("tag", "tags"),
    Facet("year", "year"),
)
FACETS = tuple(facet.name for facet in FACET_FIELDS)


def request_filters(query: SearchQuery) -> list[tuple[Facet, tuple[str, ...]]]:
    """Each facet `query` filters on, with the values an article must carry (all of
    them), as the index stores them (slugs; the year as text)."""
    filters = []
    for facet in FACET_FIELDS:
        value = getattr(query, facet.field)
        values = (value,) if isinstance(value, int) else tuple(value or ())
        if values:
            filters.append((facet, tuple(str(v) for v in values)))
    return filters


class SearchUnavailable(Exception):
    """The index is missing or damaged; readers get a clear message, operators a log line."""


# When a write running now must stop waiting for the engine's locks (time.monotonic()).
_lock_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "search_lock_deadline", default=None
)


@contextlib.contextmanager
def waiting_at_most(seconds: float) -> Iterator[None]:
    """Bound how long backend writes in this block wait for locks (a request's save)."""
    token = _lock_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _lock_deadline.reset(token)


def lock_deadline() -> float | None:
    """The `time.monotonic()` by which a write must give up waiting, if bounded."""
    return _lock_deadline.get()


def owner_tag() -> str:
    """Who this process is, for files that outlive it (see `owner_is_gone`)."""
    return f"{os.getpid()} {socket.gethostname()}"


def owner_is_gone(tag: str) -> bool:
    """Whether the process named by an `owner_tag()` has died (on this machine).

    A tag from another machine, or one that cannot be read, never counts as gone:
    removing a live process's work is worse than leaving a dead one's.
    """
    try:
        pid_text, host, *_rest = tag.split()
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's process
    try:  # a zombie (dead, not yet reaped by its parent) answers signal 0 too
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


@dataclass(frozen=True)
class SearchDocument:
    """One published article as the index sees it; built by `search.documents`."""

    id: int
    slug: str
    title: str
    summary: str
    body: str  # plain text, Markdown already stripped
    taxonomy: tuple[str, ...]  # names and aliases of the article's diseases and therapies
    tag_names: tuple[str, ...]
    diseases: tuple[str, ...]  # slugs
    therapies: tuple[str, ...]
    tags: tuple[str, ...]
    published_on: datetime.date
    updated_at: datetime.datetime
    # Where the body's h2 and h3 sections start: (heading, anchor on the article page,
    # character offset of the heading's line in `body`), in order (issue 19).
    sections: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class Topic:
    """A disease or therapy as a reader's question may name it (issue 19)."""

    kind: str  # "disease" or "therapy" (a facet name)
    slug: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intent:
    """What a reader wants to know, from the editor-managed list (issue 19).

    A question containing one of `phrases` ("safe", "side effects", "right for me")
    has this intent; an article carrying one of `tags` (slugs), or with a section whose
    heading contains one of `headings`, answers it. `label` is how the page names it
    ("safety and side effects").
    """

    slug: str
    label: str
    phrases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    headings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pin:
    """An editor's pick: `article_id` leads the results of every query whose analysed
    form (stemmed, folded, synonyms applied) is that of `query` (issue 19)."""

    query: str
    article_id: int


@dataclass(frozen=True)
class Vocabulary:
    """What the library knows about readers' questions, read from the database by the
    caller (`search.vocabulary.current_vocabulary`) as synonyms are: the named topics,
    the intents and the editors' picks. Backends stay pure: tests pass their own."""

    topics: tuple[Topic, ...] = ()
    intents: tuple[Intent, ...] = ()
    pins: tuple[Pin, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """What a reader asked for.

    `text` is the raw query in the reader's own words (it may be empty: then every
    document matches, newest first unless `ordering` says otherwise). Filters are
    conjunctive: an article must carry every listed disease, therapy and tag.
    `synonyms` are groups of equivalent phrases (a disease's name and its aliases);
    a query word or phrase that matches one member also matches the others.
    `visible_on` hides scheduled articles: only documents published on or before
    that date match (None: no date filter). The caller passes today's date, so
    backends stay pure and a scheduled article appears on its date without a re-index.
    Stopwords are never required; when requiring every meaningful word finds fewer
    than `query.FEW_RESULTS` articles, articles matching most of them follow (unless
    `relax` is False), those matching more words first.
    """

    text: str = ""
    diseases: tuple[str, ...] = ()
    therapies: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    year: int | None = None
    ordering: str = "relevance"
    page: int = 1
    per_page: int = 20
    synonyms: tuple[tuple[str, ...], ...] = ()
    visible_on: datetime.date | None = None
    # False: always require every meaningful word as typed (never "match most", and a
    # quoted phrase no article has is not loosened into its words)
    relax: bool = True
    # False: the words exactly as typed, no spelling correction served or suggested
    # (the "Search instead for" link back from corrected results).
    correct_spelling: bool = True
    vocabulary: Vocabulary | None = None  # topics, intents, picks (None: keyword search only)


@dataclass(frozen=True)
class AnswerSection:
    """The section of an article that best answers the question (issue 19)."""

    heading: str  # plain text, as the article page shows it
    anchor: str  # the heading's id on the article page ("section-is-it-safe")
    sentence: str  # safe HTML: the section's best sentence, matched terms in <mark>


@dataclass(frozen=True)
class Hit:
    id: int
    slug: str
    score: float
    highlight: str  # safe HTML: matched terms in <mark>, everything else escaped
    section: AnswerSection | None = None  # the best-answering section, if one stands out
    pinned: bool = False  # an editor's pick for this query


@dataclass(frozen=True)
class Understood:
    """How a question was read (issue 19): topics and intents named in it."""

    topics: tuple[Topic, ...] = ()
    intents: tuple[Intent, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    text: str
    slug: str | None = None  # set when the completion is an article's title


@dataclass(frozen=True)
class FacetCount:
    value: str  # a slug, or the year as a string
    count: int


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    total: int
    page: int  # the page actually served (clamped to the last page)
    num_pages: int
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)  # keys from FACETS
    suggestion: str | None = None  # a corrected query that finds more articles, or None
    unmatched_terms: list[str] = field(default_factory=list)  # query words found nowhere
    # How the reader's words were used (defaults: a plain keyword search, all required).
    match: str = "all"  # "all": every result has every meaningful word; "most": some lack one
    not_found: list[str] = field(default_factory=list)  # meaningful words no result contains
    expanded: dict[str, list[str]] = field(default_factory=dict)  # "ms" → ["Multiple sclerosis"]
    shortened: bool = False  # a long question was cut, keeping its meaningful words first
    # The results are for this corrected query: the reader's own found little.
    corrected: str | None = None
    # Quoted phrases no article matched exactly, searched as their words instead.
    loosened: list[str] = field(default_factory=list)
    understood: Understood = field(default_factory=Understood)
    # "found": the first result answers the question; "none": no article is about the
    # question's main topic, the hits are only the closest; "" : not a question (browse).
    answer: str = ""


class SearchBackend:
    """Base class: each method states the contract every engine must keep.

    An engine keeps its own bookkeeping: an index in a local directory takes it from
    `files.DirectoryIndex` (Whoosh), one in the database from its tables (PostgreSQL).
    How a results page is built is `search.planner`'s, with the engine's operations.
    """

    #: True when the index is tables in the site's database, so its writes are
    #: transactional (a test can damage it by renaming a table). Syncing is the same
    #: for every engine: once per transaction, after the commit (`search.index`).
    transactional = False

    def __init__(self, alias: str, params: dict) -> None:
        self.alias = alias
        self.params = params

    @property
    def identity(self) -> str:
        """Which index this is, for the queue of failed updates."""
        raise NotImplementedError

    def sync_lock(self, ids: Iterable[int] | None = None, timeout: float = 60.0):
        """A context manager serialising "read the database, write the index" with every
        other process writing this index. Raises `files.IndexLockTimeout` after
        `timeout` seconds. `ids` names the articles concerned (a backend may lock
        only those); None means the whole index."""
        raise NotImplementedError

    def check(self) -> list:
        """System-check messages about this backend's own settings (see search.checks)."""
        return []

    def start_journal(self) -> None:
        """From now on, `journal()` records the ids synced (a rebuild is running)."""
        raise NotImplementedError

    def journal(self, ids: Iterable[int]) -> None:
        """Record synced ids if a rebuild is running; called under `sync_lock`."""
        raise NotImplementedError

    def read_journal(self) -> set[int]:
        raise NotImplementedError

    def end_journal(self) -> None:
        raise NotImplementedError

    def clear_abandoned_rebuild(self) -> str | None:
        """Forget the journal of a rebuild whose process died; say what was removed."""
        raise NotImplementedError

    def index(
        self, documents: Iterable[SearchDocument], *, source: DocumentSource | None = None
    ) -> int:
        """Add or replace these documents (matched by id) in one batch; return how many.

        Must be safe with several processes writing at once: wait for the index lock
        rather than fail, and never lose an update. `source`, when given, builds the
        current documents of other articles from the database (called under the sync
        lock): an engine may use it to rewrite documents it already holds, as the
        Whoosh backend does to keep its segments few; others ignore it.
        """
        raise NotImplementedError

    def remove(self, ids: Iterable[int]) -> int:
        """Remove documents by article id; unknown ids are ignored. Return how many went."""
        raise NotImplementedError

    def clear(self) -> None:
        """Remove every document, leaving an empty, usable index."""
        raise NotImplementedError

    def rebuild(self, documents: Iterable[SearchDocument]) -> int:
        """Replace the whole index with these documents, atomically.

        The new index is built aside and swapped in, so a killed rebuild leaves the
        old index serving. Returns the number of documents indexed.
        """
        raise NotImplementedError

    def search(self, query: SearchQuery) -> SearchPage:
        """Answer one results page. Never raises on any query text; raises
        `SearchUnavailable` when the index cannot be opened."""
        raise NotImplementedError

    def indexed(self) -> dict[int, datetime.datetime]:
        """Every indexed article id with the `updated_at` it was indexed at."""
        raise NotImplementedError

    def suggest(
        self, prefix: str, limit: int = 10, *, visible_on: datetime.date | None = None
    ) -> list[str]:
        """The texts of `suggest_items`."""
        return [item.text for item in self.suggest_items(prefix, limit, visible_on=visible_on)]

    def suggest_items(
        self, prefix: str, limit: int = 10, *, visible_on: datetime.date | None = None
    ) -> list[Suggestion]:
        """Completions for a search box from titles and taxonomy names and aliases,
        saying which are article titles (by slug).

        Completions that differ only in case, apostrophes or accents appear once. With
        `visible_on`, titles of articles published after that date are left out.
        """
        raise NotImplementedError

    def more_like_this(
        self, article_id: int, limit: int = 5, *, visible_on: datetime.date | None = None
    ) -> list[int]:
        """Ids of documents similar to this one, best first, never the document itself.

        With `visible_on`, documents published after that date are left out.
        """
        raise NotImplementedError

    def exists(self) -> bool:
        """Whether an index has been created at all."""
        raise NotImplementedError

    def warm_up(self) -> None:
        """Read now what the first search would otherwise read before answering (a
        web worker calls this as it starts, `search.backends.warm_up`). Nothing by
        default; a failure is logged, never raised."""

    def advice(self) -> list[str]:
        """What a rebuild would make better in a working index, a line each
        (`check_index` prints them, never as errors; `check_index --fix` rebuilds)."""
        return []

    def damaged_files(self) -> list[str]:
        """Files of a readable index that fail their checks, a line each naming the
        file and the problem. Searches answer without them, with the same results;
        `check_index` counts them as a difference and `--fix` rebuilds to rewrite them."""
        return []

    def remove_abandoned(self) -> list[str]:
        """Delete what rebuilds killed mid-way left behind; return a line per thing removed.

        Only leftovers whose owning process is gone are touched, never a rebuild
        still running. Engines that build nothing aside have nothing to remove.
        """
        return []
