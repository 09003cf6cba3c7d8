"""The PostgreSQL full-text search backend: the index is a table in the site's database.

Every web machine reads and writes the same rows, so a save made through one machine
is found through every other at once. The index is written as Whoosh's is (see
`search.index`): once per transaction, after it commits, in chunks, each chunk in a
short transaction of its own under one advisory lock per article of that chunk. A
rolled-back save leaves no trace in the index; a committed one is searchable when the
request that saved it returns.

Tables (created by migration `search/0003_postgres_search`, PostgreSQL only):
`search_entry` (one row per published article: a weighted `tsvector` with a GIN
index, facet slug arrays, dates, the text highlights are cut from), `search_phrase`
(taxonomy names and aliases, once each, for autocomplete and spelling),
`search_word` (the spelling vocabulary), `search_index_state` and `search_journal`
(whether the index was written to, and the rebuild journal).

Text analysis: words are read as the Whoosh backend reads them (`search.backends.text`):
apostrophes inside words are dropped in Python ("Crohn\u2019s" → "Crohns") and the same
short stop-word list is removed in Python before `to_tsvector`, so phrases skip stop
words as Whoosh's do and abbreviations such as "AS" survive. The `stemsite_english`
configuration then folds accents (`unaccent`) and stems (English Snowball). Query
words and synonym phrases are analysed by the same configuration in one round trip
(cached per process), then compiled by the shared query language
(`search.backends.query`) into a `tsquery` written as quoted lexemes with `<->` for
phrases, `|` for alternatives and `!` for exclusions. The tsquery text is always a
bound parameter, never part of the SQL.

Ranking is `ts_rank` with section weights in the Whoosh ratio (title 1.0, summary
and taxonomy 0.5, body 0.25).

How a results page is built (strict count first, relaxation by steps only when it
finds too few, clamps, snippets, corrections) is `search.planner`'s;
`PostgresOperations` supplies its operations. A match set is a SQL condition,
evaluated by the server: the strict count is one `count(*)` against the GIN index,
which also returns the set's ids; the relaxation histogram and "at least k of these
words" join one GIN lookup per word (`_coverage`), never testing each row's vector
once per word, and return each level's ids. What a page needs of every entry per
row (facet values, date, title, and each `head` lexeme's share of a rank; `head` is
the small stored vector of title, summary and taxonomy, migration `search/0004`) is
kept in the process (`_KeptEntries`, fresh by the transaction horizon), so the
process counts the set's facets and chooses the best `RANK_POOL` of its ids by
`head` rank exactly as `ts_rank` would, and one statement (`_POOL_PAGE`) ranks only
those by the full vector with a plain `ORDER BY … LIMIT` and returns the page's
texts. A set whose ids were not fetched (too many) is ranked by the server in one
statement (`_PAGE`) over the set materialised once.
Unknown words and their spelling candidates are one statement each, for every word
at once. Highlights reuse the engine-neutral highlighter, with candidate words
analysed by PostgreSQL in one batch per page.

The search statements are raw SQL: the index is this backend's own table (no
model), the compiled `tsquery` (phrases, synonyms, exclusions) is bound as text,
a count returns its ids and the rows written since the kept entries were read in
one statement, and a page's ranking and texts share one statement, which Django's
`SearchVector`/`SearchRank` expressions cannot say.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import datetime
import functools
import itertools
import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from django.core import checks
from django.db import DatabaseError, OperationalError, connections, transaction

from search.backends.base import (
    FACETS,
    DocumentSource,
    SearchBackend,
    SearchDocument,
    SearchQuery,
    SearchUnavailable,
    Suggestion,
    owner_is_gone,
    owner_tag,
    request_filters,
)
from search.backends.files import IndexLockTimeout
from search.backends.query import CompiledQuery, ParsedQuery, Unit, compile_query
from search.backends.text import (
    APOSTROPHES,
    SCAN_CHARS,
    STOP_WORDS,
    WORD_RE,
    candidates,
    fold,
)
from search.planner import (
    FREQUENCY_CAP,
    Candidate,
    Coverage,
    Details,
    Ordering,
    Row,
    Text,
    plan_page,
)

if TYPE_CHECKING:
    from search.backends.base import SearchPage

logger = logging.getLogger("search")

CONFIG = "stemsite_english"
# ts_rank's weights, in PostgreSQL's order {D, C, B, A}: body, taxonomy, summary, title.
RANK_WEIGHTS = "{0.25, 0.5, 0.5, 1.0}"
MAX_PER_PAGE = 100
WRITE_CHUNK = 500
LEXEME_CACHE = 50_000
MORE_LIKE_TERMS = 12
RANK_POOL = 400  # rows ranked by their full vector (after the small `head` vector)
ID_LIST_MAX = 20_000  # most ids of a set fetched to be reused within one request
FRESH_MAX = 1_000  # rows a request may read itself before the kept entries are read afresh
LOCK_NAMESPACE = 0x5EA  # advisory-lock key space for per-article sync locks
GLOBAL_LOCK = 0x5EA0_0000_0001  # the whole-index sync lock (compare, rebuild)
MAX_WORD_LENGTH = 64
LOCK_NOT_AVAILABLE = "55P03"  # the SQLSTATE of a wait cut short by `lock_timeout`

_INNER_APOSTROPHE = re.compile(f"(?<=\\w)[{APOSTROPHES}](?=\\w)")
_STOP_RE = re.compile(
    r"(?<!\w)(?:" + "|".join(sorted(STOP_WORDS, key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")

_LEXIZE = f"""
SELECT s.i, array_agg(v.lexeme ORDER BY p)
FROM unnest(%s::text[]) WITH ORDINALITY AS s(t, i)
CROSS JOIN LATERAL unnest(to_tsvector('{CONFIG}', s.t)) AS v
CROSS JOIN LATERAL unnest(v.positions) AS p
GROUP BY s.i
"""

_VECTOR = f"""
    setweight(to_tsvector('{CONFIG}', d.title), 'A')
    || setweight(to_tsvector('{CONFIG}', d.summary), 'B')
    || setweight(to_tsvector('{CONFIG}', d.taxonomy), 'C')
    || setweight(to_tsvector('{CONFIG}', d.body), 'D')
"""

_UPSERT = f"""
INSERT INTO search_entry (article_id, slug, title, title_sort, summary, body, vector,
    spelling, complete, diseases, therapies, tags, published_on, year, updated_at)
SELECT d.id, d.slug, d.title_raw, d.title_sort, d.summary_raw, d.body_raw, {_VECTOR},
    string_to_array(d.spelling, ' '), d.complete, string_to_array(d.diseases, ' '),
    string_to_array(d.therapies, ' '), string_to_array(d.tags, ' '), d.published_on,
    extract(year FROM d.published_on)::int, d.updated_at
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
    %s::text[], %s::text[], %s::date[], %s::timestamptz[])
    AS d(id, slug, title_raw, title_sort, summary_raw, body_raw, title, summary, taxonomy,
         body, spelling, complete, diseases, therapies, tags, published_on, updated_at)
ON CONFLICT (article_id) DO UPDATE SET
    slug = EXCLUDED.slug, title = EXCLUDED.title, title_sort = EXCLUDED.title_sort,
    summary = EXCLUDED.summary, body = EXCLUDED.body, vector = EXCLUDED.vector,
    spelling = EXCLUDED.spelling, complete = EXCLUDED.complete,
    diseases = EXCLUDED.diseases, therapies = EXCLUDED.therapies, tags = EXCLUDED.tags,
    published_on = EXCLUDED.published_on, year = EXCLUDED.year,
    updated_at = EXCLUDED.updated_at
"""


# One chunk of index writes in one statement: the taxonomy phrases (autocomplete and
# spelling) and spelling words new to the index, then the entries (`_UPSERT`).
_WRITE = (
    """
WITH {mark}phrase AS (
    INSERT INTO search_phrase (key, display, spelling, complete)
    SELECT k, d, string_to_array(s, ' '), c
    FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS p(k, d, s, c)
    ON CONFLICT (key) DO NOTHING
),
word AS (
    INSERT INTO search_word (word) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING
)
"""
    + _UPSERT
)
# The note that the index was written to (`PostgresBackend._mark_created`), as a CTE.
_MARK = "state AS (INSERT INTO search_index_state (id) VALUES (1) ON CONFLICT DO NOTHING), "


def prepare(text: str) -> str:
    """Text as `to_tsvector` should see it: inner apostrophes and stop words removed."""
    text = _CONTROL.sub(" ", text or "")
    return _STOP_RE.sub("", _INNER_APOSTROPHE.sub("", text))


def unstemmed(text: str) -> list[str]:
    """Folded, unstemmed words without stop words: spelling and autocomplete terms."""
    words = []
    for match in WORD_RE.finditer(text or ""):
        word = fold(match.group())
        if word and word != "\n" and word not in STOP_WORDS and len(word) <= MAX_WORD_LENGTH:
            words.append(word)
    return words


def quote(lexeme: str) -> str:
    """A lexeme as a tsquery operand: quoted, so no character can act as an operator."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _alternative(tokens: tuple[str, ...], loose: bool = False) -> str:
    if len(tokens) == 1:
        return quote(tokens[0])
    joiner = " & " if loose else " <-> "
    return "(" + joiner.join(quote(t) for t in tokens) + ")"


def unit_tsquery(unit: Unit, ranked: bool = False, words: bool = False) -> str:
    """One unit: any alternative (a term, or a phrase with `<->`) or a loose spelling;
    with `words`, each phrase as its words anywhere (`&`), which the GIN index answers
    without reading a row: every article the unit matches, and perhaps more.

    For matching (not `ranked`), a phrase that contains a shorter alternative (a word,
    or a phrase, in order) or every word of a loose one is left out: any article it
    matches, that alternative matches too, so the set is the same, and PostgreSQL need
    not recheck the phrase's word positions in every article that has its words (a
    phrase is the one part of a query the GIN index cannot answer alone). A ranked
    query keeps every alternative, as the ranking counts each one's words.
    """
    loose = [set(alt) for alt in unit.loose]
    parts = [
        _alternative(alt, loose=words)
        for alt in unit.alternatives
        if ranked
        or len(alt) == 1
        or not (
            any(_contains(alt, other) for other in unit.alternatives)
            or any(spelling <= set(alt) for spelling in loose)
        )
    ]
    parts += [_alternative(alt, loose=True) for alt in unit.loose]
    return "(" + " | ".join(parts) + ")"


def _certain_tsquery(units: Iterable[Unit]) -> str | None:
    """`units` without their phrases (their words and loose spellings only), which the
    GIN index answers without reading a row: every article it matches matches the
    units. None when a unit is nothing but phrases."""
    joined = []
    for unit in units:
        parts = [quote(alt[0]) for alt in unit.alternatives if len(alt) == 1]
        parts += [_alternative(alt, loose=True) for alt in unit.loose]
        if not parts:
            return None
        joined.append("(" + " | ".join(parts) + ")")
    return " & ".join(joined)


def _contains(phrase: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """Whether the shorter `part` occurs in `phrase`, its words in a row."""
    n = len(part)
    return n < len(phrase) and any(phrase[i : i + n] == part for i in range(len(phrase) - n + 1))


def to_tsquery_text(
    units: Iterable[Unit], joiner: str = " & ", ranked: bool = False, words: bool = False
) -> str:
    return joiner.join(unit_tsquery(u, ranked, words) for u in units)


def _matching(key: str, units: Iterable[Unit]) -> tuple[str, dict]:
    """The condition that an entry `e` matches every one of `units`, with its bound
    parameters (the query as `key`).

    A phrase is what the GIN index cannot answer alone (it holds no word positions),
    so PostgreSQL rechecks a phrased query against each candidate row's whole vector,
    which is stored out of line. Such a query is looked up in the index by its words
    (`unit_tsquery(words=True)`: no row read), and each candidate is settled by the
    cheapest test that can: found by the query without its phrases
    (`_certain_tsquery`, the index's answer, hashed once), or by its small inline
    `head` (which keeps `vector`'s title, summary and taxonomy positions as they are,
    `ts_filter` in migration `search/0004`; the query holds no negation, so a match
    in `head` is a match in `vector`); only the others' vectors are read. `OR`
    evaluates its arms in order and stops at the first true one.
    """
    units = tuple(units)
    query = to_tsquery_text(units)
    if not _phrased(query):
        return f"e.vector @@ %({key})s::tsquery", {key: query}
    params = {key: query, f"{key}_words": to_tsquery_text(units, words=True)}
    arms = [f"e.head @@ %({key})s::tsquery", f"e.vector @@ %({key})s::tsquery"]
    certain = _certain_tsquery(units)
    if certain is not None:
        params[f"{key}_certain"] = certain
        arms.insert(
            0,
            f"e.article_id IN (SELECT c.article_id FROM search_entry c "
            f"WHERE c.vector @@ %({key}_certain)s::tsquery)",
        )
    return f"e.vector @@ %({key}_words)s::tsquery AND ({' OR '.join(arms)})", params


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresBackend(SearchBackend):
    """The index as tables in the database `params.get("DATABASE", "default")`."""

    #: The index is tables in the site's database (see `SearchBackend.transactional`).
    transactional = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        self.using = params.get("DATABASE", "default")
        self._lexemes: dict[str, tuple[str, ...]] = {}
        self._kept: _KeptEntries | None = None
        self._kept_lock = threading.Lock()

    @property
    def identity(self) -> str:
        # One index for every machine: a failure queued by one is any machine's to retry.
        return f"postgres:{self.using}"

    def check(self) -> list:
        """The database must be PostgreSQL (a table and `tsvector`s hold the index)."""
        vendor = connections[self.using].vendor if self.using in connections else None
        if vendor == "postgresql":
            return []
        return [
            checks.Error(
                f"The PostgreSQL search backend needs a PostgreSQL database; "
                f"database {self.using!r} is {vendor or 'not configured'}.",
                hint="Set DATABASE_URL to a PostgreSQL database, or SEARCH_BACKEND=whoosh.",
                id="search.E010",
            )
        ]

    # -- plumbing

    @contextlib.contextmanager
    def _cursor(self, transactional: bool = False) -> Iterator:
        connection = connections[self.using]
        # Inside a transaction, a savepoint keeps a failed index query from aborting
        # the caller's transaction (the page can still say "search unavailable").
        needed = transactional or connection.in_atomic_block
        savepoint = transaction.atomic(using=self.using) if needed else None
        try:
            with savepoint or contextlib.nullcontext(), connection.cursor() as cursor:
                yield cursor
        except DatabaseError as exc:
            raise SearchUnavailable(f"the search tables could not be used: {exc}") from exc

    def _mark_created(self, cursor) -> None:
        cursor.execute("INSERT INTO search_index_state (id) VALUES (1) ON CONFLICT DO NOTHING")

    # -- analysis

    def _lexize(self, texts: Iterable[str], cursor=None) -> None:
        """Analyse every text not yet cached in one query (on `cursor` if given)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._lexemes]
        if not missing:
            return
        if len(self._lexemes) > LEXEME_CACHE:
            self._lexemes.clear()
        with contextlib.nullcontext(cursor) if cursor else self._cursor() as cursor:
            cursor.execute(_LEXIZE, [[prepare(t) for t in missing]])
            found = {int(i): tuple(lexemes) for i, lexemes in cursor.fetchall()}
        for position, text in enumerate(missing, start=1):
            self._lexemes[text] = found.get(position, ())

    def analyse(self, text: str) -> tuple[str, ...]:
        """Lexemes of `text` in order, as the index holds them (cached per process)."""
        if text not in self._lexemes:
            self._lexize([text])
        return self._lexemes[text]

    def _compile(self, parsed: ParsedQuery, synonyms, cursor=None) -> CompiledQuery:
        words = [w for group in parsed.required for clause in group for w in clause.words]
        words += [w for clause in parsed.excluded for w in clause.words]
        # The synonym index analyses each phrase as written and casefolded: both here,
        # in the same one statement, not one statement per phrase on first use.
        phrases = [phrase for group in synonyms for phrase in group]
        self._lexize(words + phrases + [phrase.casefold() for phrase in phrases], cursor)
        return compile_query(parsed, self.analyse, synonyms)

    # -- writing

    def _rows(self, docs: list[SearchDocument]) -> list[list]:
        columns: list[list] = [[] for _ in range(17)]
        for doc in docs:
            taxonomy = "\n".join(doc.taxonomy + doc.tag_names)
            body = _CONTROL.sub(" ", doc.body)
            values = (
                doc.id,
                doc.slug,
                doc.title,
                fold(doc.title),
                doc.summary,
                body[:SCAN_CHARS],
                prepare(doc.title),
                prepare(doc.summary),
                prepare(taxonomy),
                prepare(body),
                " ".join(dict.fromkeys(unstemmed(doc.title))),
                " ".join(unstemmed(doc.title)),
                " ".join(doc.diseases),
                " ".join(doc.therapies),
                " ".join(doc.tags),
                doc.published_on,
                doc.updated_at,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        return columns

    def _write(self, cursor, docs: list[SearchDocument], mark: bool = False) -> None:
        """Each chunk of `docs` in two statements: `_WRITE` (the entries, the new
        taxonomy phrases and spelling words, and with `mark` the note that the index
        was written to) and `_SECTIONS_UPSERT` (where their sections start)."""
        for start in range(0, len(docs), WRITE_CHUNK):
            chunk = docs[start : start + WRITE_CHUNK]
            phrases: dict[str, str] = {}
            for doc in chunk:
                for phrase in doc.taxonomy:
                    phrases.setdefault(phrase.casefold(), phrase)
            words = {w for doc in chunk for w in unstemmed(doc.title)}
            keys = list(phrases)
            displays = [phrases[k] for k in keys]
            words.update(w for d in displays for w in unstemmed(d))
            cursor.execute(
                _WRITE.format(mark=_MARK if mark and start == 0 else ""),
                [
                    keys,
                    displays,
                    [" ".join(dict.fromkeys(unstemmed(d))) for d in displays],
                    [" ".join(unstemmed(d)) for d in displays],
                    sorted(words),
                    *self._rows(chunk),
                ],
            )
            # After the entries it references (a second statement per chunk).
            cursor.execute(_SECTIONS_UPSERT, _section_rows(chunk))

    def index(
        self, documents: Iterable[SearchDocument], *, source: DocumentSource | None = None
    ) -> int:
        """Upsert by article id, inside the caller's transaction if there is one (one
        table, nothing to compact: `source` is not needed)."""
        docs = list({doc.id: doc for doc in documents}.values())
        if not docs:
            return 0
        with self._cursor(transactional=True) as cursor:
            self._write(cursor, docs, mark=True)
        return len(docs)

    def remove(self, ids: Iterable[int]) -> int:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return 0
        with self._cursor() as cursor:
            cursor.execute("DELETE FROM search_entry WHERE article_id = ANY(%s::bigint[])", [ids])
            return cursor.rowcount

    def clear(self) -> None:
        with transaction.atomic(using=self.using), self._cursor() as cursor:
            cursor.execute("DELETE FROM search_entry")
            cursor.execute("DELETE FROM search_phrase")
            cursor.execute("DELETE FROM search_word")
            self._mark_created(cursor)

    def rebuild(self, documents: Iterable[SearchDocument]) -> int:
        """Replace every row in one transaction: readers see the old index until it
        commits, and a failed or killed rebuild rolls back to it. Syncs made meanwhile
        wait for the commit (their rows are locked) up to their lock wait, then write
        their own version, or are queued when the wait runs out."""
        count = 0
        seen: set[int] = set()
        with transaction.atomic(using=self.using), self._cursor() as cursor:
            cursor.execute("DELETE FROM search_entry")
            cursor.execute("DELETE FROM search_phrase")
            cursor.execute("DELETE FROM search_word")
            self._mark_created(cursor)
            batch: list[SearchDocument] = []
            for doc in documents:
                if doc.id in seen:
                    continue
                seen.add(doc.id)
                batch.append(doc)
                count += 1
                if len(batch) >= WRITE_CHUNK:
                    self._write(cursor, batch)
                    batch = []
            self._write(cursor, batch)
        self._tidy_after_rebuild()
        return count

    def _tidy_after_rebuild(self) -> None:
        """After a rebuild every entry is new: the word index holds them in its pending
        list (GIN's fast update) and the table's statistics describe the old rows. While
        entries are pending, the planner finds the word index costly and may find a
        search's words by another index, reading every article's vector. So the pending
        list is merged and the statistics read again at once, instead of whenever
        autovacuum reaches the table: `VACUUM (ANALYZE)` outside a transaction (it also
        frees the deleted rows). Inside one (`VACUUM` cannot run there), only the pending
        lists are merged (`gin_clean_pending_list`): `ANALYZE` writes the table's size
        (`reltuples`, read as the library's size) in place, where a rollback would not
        undo it. A failure here leaves a correct index, only planned as before: it is
        logged, not raised."""
        connection = connections[self.using]
        inside = connection.in_atomic_block  # a savepoint keeps a failure from the caller's
        try:
            with (
                transaction.atomic(using=self.using) if inside else contextlib.nullcontext(),
                connection.cursor() as cursor,
            ):
                if inside:
                    cursor.execute(_CLEAN_PENDING)
                else:
                    cursor.execute("VACUUM (ANALYZE) search_entry")
        except DatabaseError:
            logger.warning("The search table was not tidied after the rebuild", exc_info=True)

    # -- reading

    def exists(self) -> bool:
        try:
            with self._cursor() as cursor:
                cursor.execute("SELECT EXISTS (SELECT 1 FROM search_index_state)")
                return bool(cursor.fetchone()[0])
        except SearchUnavailable:
            return False

    def warm_up(self) -> None:
        """Read the kept entries (`_KeptEntries`) before a reader's search needs them:
        otherwise the process's first results page waits for them."""
        try:
            with self._cursor() as cursor:
                PostgresOperations(self, cursor)._kept_entries()
        except SearchUnavailable:
            logger.warning("Could not read the search entries ahead", exc_info=True)

    def indexed(self) -> dict[int, datetime.datetime]:
        with self._cursor() as cursor:
            cursor.execute("SELECT article_id, updated_at FROM search_entry")
            return dict(cursor.fetchall())

    def search(self, query: SearchQuery) -> SearchPage:
        """Answer one results page: `search.planner` with this engine's operations,
        every statement on one cursor, in one transaction (a savepoint inside the
        caller's) whose plans never scan the table for a text match.

        The GIN index answers `vector @@ query` for a word most articles use without
        reading any row's vector, but PostgreSQL's cost model charges nothing for
        reading (detoasting) each row's vector and so prefers a sequential scan that
        decompresses every one of them, several times per question. `enable_seqscan`
        off (`_SETTINGS`, local to the transaction) stops that; a table scan is still
        chosen where no index applies (browsing by date). `work_mem` is raised for the
        same transaction so a page's materialised match set stays in memory.
        """
        try:
            with self._cursor(transactional=True) as cursor:
                cursor.execute(_SETTINGS)
                return plan_page(PostgresOperations(self, cursor), query)
        except SearchUnavailable:
            logger.exception("Search failed on PostgreSQL for %r", query.text)
            raise

    def suggest_items(
        self, prefix: str, limit: int = 10, *, visible_on: datetime.date | None = None
    ) -> list[Suggestion]:
        """Taxonomy names and aliases first, then titles (with their slugs); phrases
        starting with the prefix before those containing it, then shorter ones. Spellings
        that differ only in case, apostrophes or accents appear once. With `visible_on`,
        titles of articles published after that date are left out."""
        words = unstemmed((prefix or "")[:100])[:6]
        if not words or len("".join(words)) < 2 or limit <= 0:
            return []
        pattern = _like_escape(" ".join(words))
        sql = """
            SELECT display, slug FROM (
                SELECT DISTINCT ON (lower(display)) display, slug, kind, at_start FROM (
                    SELECT display, NULL::text AS slug, 0 AS kind,
                        complete LIKE %(start)s AS at_start
                    FROM search_phrase WHERE ' ' || complete LIKE %(inside)s
                    UNION ALL
                    SELECT title, slug, 1, complete LIKE %(start)s
                    FROM search_entry WHERE ' ' || complete LIKE %(inside)s
                        AND (%(visible_on)s::date IS NULL OR published_on <= %(visible_on)s)
                ) found
                ORDER BY lower(display), kind, NOT at_start, length(display)
            ) best
            ORDER BY kind, NOT at_start, length(display), lower(display)
            LIMIT %(limit)s
        """
        params = {
            "start": pattern + "%",
            "inside": "% " + pattern + "%",
            "limit": limit * 3,  # room for the spellings folded together below
            "visible_on": visible_on,
        }
        with self._cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        seen: set[tuple[str, ...]] = set()
        items: list[Suggestion] = []
        for display, slug in rows:
            key = tuple(unstemmed(display)) or (display.casefold(),)
            if key in seen:
                continue
            seen.add(key)
            items.append(Suggestion(display, slug))
            if len(items) == limit:
                break
        return items

    def more_like_this(
        self, article_id: int, limit: int = 5, *, visible_on: datetime.date | None = None
    ) -> list[int]:
        """Documents sharing this one's most telling terms (weighted frequency times
        idf); with `visible_on`, none published after that date. One statement
        (`_RELATED`): document frequencies are capped, and the library's size is the
        table's statistics estimate, so nothing counts the whole table."""
        if limit <= 0:
            return []
        params = {"id": article_id, "limit": limit, "visible_on": visible_on}
        with self._cursor() as cursor:
            cursor.execute(_RELATED, {**params, "terms": MORE_LIKE_TERMS})
            return [row[0] for row in cursor.fetchall()]

    # -- sync: locks and the rebuild journal live in the database too

    @contextlib.contextmanager
    def sync_lock(self, ids: Iterable[int] | None = None, timeout: float = 60.0) -> Iterator[None]:
        """Serialise "read the database, write the index" across every machine.

        With `ids` (at most one sync chunk of them), one transaction-scoped advisory
        lock per article, in a transaction of its own that the caller's reads and
        writes join, so the locks go when that chunk's index write commits: a sync
        holds at most one chunk's locks, however many articles it syncs. Waiting is
        bounded by `timeout` (PostgreSQL's `lock_timeout`, for the rest of that
        transaction too), then `IndexLockTimeout`. Without `ids`, one whole-index
        session lock, polled until `timeout`.
        """
        if ids is not None:
            keys = sorted({int(i) % 2_147_483_647 for i in ids})
            connection = connections[self.using]
            with transaction.atomic(using=self.using):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true)",
                        [f"{max(1, math.ceil(timeout * 1000))}ms"],
                    )
                    try:
                        cursor.execute(
                            "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%s::int[]) AS k",
                            [LOCK_NAMESPACE, keys],
                        )
                    except OperationalError as exc:
                        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                            raise
                        raise IndexLockTimeout(
                            f"Timed out after {timeout:g} s waiting for the search index "
                            f"locks of {len(keys)} article(s)"
                        ) from exc
                yield
            return
        deadline = time.monotonic() + timeout
        with self._cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [GLOBAL_LOCK])
                if cursor.fetchone()[0]:
                    break
                if time.monotonic() >= deadline:
                    raise IndexLockTimeout("Timed out waiting for the search index lock")
                time.sleep(0.02)
        try:
            yield
        finally:
            with self._cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [GLOBAL_LOCK])

    def start_journal(self) -> None:
        owner = f"{owner_tag()} {datetime.datetime.now(datetime.UTC).isoformat()}"
        with transaction.atomic(using=self.using), self._cursor() as cursor:
            self._mark_created(cursor)
            cursor.execute("DELETE FROM search_journal")
            cursor.execute("UPDATE search_index_state SET rebuild_owner = %s", [owner])

    def journal(self, ids: Iterable[int]) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_journal (article_id) SELECT unnest(%s::bigint[]) "
                "WHERE EXISTS (SELECT 1 FROM search_index_state WHERE rebuild_owner IS NOT NULL)",
                [sorted(set(ids))],
            )

    def read_journal(self) -> set[int]:
        with self._cursor() as cursor:
            cursor.execute("SELECT DISTINCT article_id FROM search_journal")
            return {row[0] for row in cursor.fetchall()}

    def end_journal(self) -> None:
        with transaction.atomic(using=self.using), self._cursor() as cursor:
            cursor.execute("DELETE FROM search_journal")
            cursor.execute("UPDATE search_index_state SET rebuild_owner = NULL")

    def clear_abandoned_rebuild(self) -> str | None:
        """A rebuild is one transaction here: a dead one rolled back by itself. Only the
        journal flag of a rebuild process that died on this machine is cleared."""
        with self._cursor() as cursor:
            cursor.execute("SELECT rebuild_owner FROM search_index_state")
            row = cursor.fetchone()
        if not row or not row[0] or not owner_is_gone(row[0]):
            return None
        self.end_journal()
        return f"the journal of a rebuild that died (process {row[0].split()[0]})"


@dataclasses.dataclass(frozen=True)
class _Set:
    """A match set: a condition on `search_entry e` and its bound parameters, evaluated
    inside the statement that uses it.

    `rechecked`: evaluating it reads each candidate row's whole vector (a phrase, whose
    word positions the GIN index does not hold, or an exclusion, which no index
    answers), so the set is worth evaluating only once per request: its ids are then
    fetched with its count and reused (`source`). `covered`: the units whose coverage
    count the source carries as `k.c` (a relaxed match, see `coverage_counts`).
    """

    where: str
    params: dict
    rechecked: bool = False
    source: str = "search_entry e"
    covered: tuple[Unit, ...] = ()
    # A strict match (`PostgresOperations.strict`): the set it narrowed and the units
    # every article of it matches.
    base: _Set | None = None
    required: tuple[Unit, ...] = ()

    def narrowed(self, condition: str, rechecked: bool = False, **params) -> _Set:
        return dataclasses.replace(
            self,
            where=f"{self.where} AND {condition}",
            params={**self.params, **params},
            rechecked=self.rechecked or rechecked,
            base=None,
            required=(),
        )

    @functools.cached_property
    def key(self) -> tuple[str, str]:
        return self.where, repr(sorted(self.params.items()))


def _listed(ids: list[int], coverage: list[int] | None = None, units=()) -> _Set:
    """A set of known ids (with their coverage of `units`), read by primary key.

    Without coverage, a condition on the table (`= ANY` of the ids), which PostgreSQL
    answers with one primary-key lookup per id: joined to the unnested ids instead,
    it hashed the whole table to find a phrase's few thousand rows."""
    if coverage is None:
        return _Set("e.article_id = ANY(%(ids)s::bigint[])", {"ids": ids})
    return _Set("TRUE", {"ids": ids, "cs": coverage}, source=_COVERED_SOURCE, covered=units)


def _rank_lexemes(units: tuple[Unit, ...]) -> tuple[list[str], bool] | None:
    """The lexemes of the ranked query of `units` (`to_tsquery_text(units, " | ",
    ranked=True)`), sorted and each once as `ts_rank` reads them, and whether it
    scores them by their distances (`calc_rank_and`: the query is one phrase or
    one AND of two or more lexemes) rather than summing each one's share (an OR,
    or one lexeme); None for no lexeme."""
    parts = [alt for unit in units for alt in (*unit.alternatives, *unit.loose)]
    lexemes = sorted({lexeme for alt in parts for lexeme in alt})
    if not lexemes:
        return None
    return lexemes, len(units) == 1 and len(parts) == 1 and len(lexemes) > 1


def _phrased(tsquery: str) -> bool:
    """Whether matching `tsquery` rechecks each row's vector (phrases need positions)."""
    return "<->" in tsquery


# How `_HEAD_TERMS` writes an entry's `head` lexemes: each lexeme, then its positions'
# weights in position order; neither separator can occur in a lexeme (`prepare` drops
# control characters before analysis).
TERM_SEPARATOR, WEIGHT_SEPARATOR = "\x1e", "\x1f"
# `ts_rank`'s weights as it reads them (`RANK_WEIGHTS`, single precision), by weight letter.
_WEIGHTS = {"A": np.float32(1.0), "B": np.float32(0.5), "C": np.float32(0.5), "D": np.float32(0.25)}
# The constant `ts_rank` divides each lexeme's share by (the sum of 1/i², PostgreSQL's `tsrank.c`).
_ZETA2 = 1.64493406685
# What `ts_rank` gives a phrase or an AND of words in a vector holding no two of them.
_NO_PAIR = np.float32(1e-20)


@functools.lru_cache(maxsize=4096)
def _lexeme_share(weights: str) -> float:
    """What one lexeme with positions of these weights (in position order) adds to
    `ts_rank` of a query joined by OR (`calc_rank_or` in PostgreSQL's `tsrank.c`),
    computed step by step in the same single-precision arithmetic, so that the sum
    `head_ranks` makes of it is bit for bit the server's."""
    total, best, best_at = np.float32(0.0), np.float32(-1.0), 0
    for j, letter in enumerate(weights):
        weight = _WEIGHTS[letter]
        total = np.float32(total + np.float32(weight / np.float32((j + 1) * (j + 1))))
        if weight > best:
            best, best_at = weight, j
    share = np.float32(
        np.float32(best + total) - np.float32(best / np.float32((best_at + 1) * (best_at + 1)))
    )
    return float(share) / _ZETA2


def _head_shares(text: str | None) -> dict[str, float]:
    """An entry's `head` as `_HEAD_TERMS` wrote it: each lexeme's share of a rank."""
    shares = {}
    for term in (text or "").split(TERM_SEPARATOR):
        lexeme, _sep, weights = term.partition(WEIGHT_SEPARATOR)
        if weights:
            shares[lexeme] = _lexeme_share(weights)
    return shares


def _add_rank(total: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """`calc_rank_or`'s running sum: a single-precision total plus a double-precision
    share, rounded back to single precision."""
    return (total.astype(np.float64) + shares).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class _Fresh:
    """An entry written since the kept entries' horizon, as a count read it."""

    facets: tuple[str, ...]
    published: int  # the publication date's ordinal
    title_sort: str
    shares: dict[str, float]


class _KeptEntries:
    """What a page needs of every entry, per row, read in one statement and kept by
    the backend between searches, so that the server returns a page's match set as
    ids and the Django process counts its facets and orders it (`PostgresOperations.
    page`), instead of the server unnesting every match's facet values and ranking
    every match by its `head` vector.

    Facets: each distinct value has a code (`names`); each entry's codes are one
    slice of `codes` (`starts`, `ends`). Order: each entry's publication date
    (`published`, ordinals), its place among the titles (`title_ranks`, even numbers,
    by code point as `COLLATE "C"` orders) and each `head` lexeme's share of a rank
    (`_lexeme_share`), kept by lexeme (`lexemes` → a slice of `posting_rows` and
    `posting_shares`). Entries are found by article id through `positions`.

    `horizon`: the oldest transaction still running when it was read
    (`pg_snapshot_xmin`). A row version this map lacks or holds stale was written
    by that transaction or a later one, so a count reads exactly those rows
    (`age(e.xmin) <= age(horizon)`, `_Fresh`) and uses them instead of the map's.
    When a count reads more than `FRESH_MAX` of them, the next page reads the map
    afresh (`stale`). `database`: which database (settings) it was read from.
    """

    def __init__(
        self,
        database: tuple,
        horizon: str,
        ids: list[int],
        values: list[str],
        published: list[datetime.date],
        titles: list[str],
        heads: list[str | None],
    ) -> None:
        self.database = database
        self.horizon = horizon
        self.stale = False
        codes: dict[str, int] = {}
        entry_codes = [[codes.setdefault(v, len(codes)) for v in text.split()] for text in values]
        self.names = list(codes)
        self.codes = np.fromiter(itertools.chain.from_iterable(entry_codes), dtype=np.int32)
        self.ends = np.cumsum([len(c) for c in entry_codes], dtype=np.int64)
        self.starts = self.ends - np.array([len(c) for c in entry_codes], dtype=np.int64)
        self.positions = np.full(max(ids, default=0) + 1, -1, dtype=np.int64)
        self.positions[np.array(ids, dtype=np.int64)] = np.arange(len(ids))
        self.size = len(ids)
        self.published = np.array([day.toordinal() for day in published], dtype=np.int64)
        self.titles = sorted(set(titles))
        place = {title: 2 * n for n, title in enumerate(self.titles)}
        self.title_ranks = np.array([place[title] for title in titles], dtype=np.int64)
        self.lexemes: dict[str, int] = {}
        rows, lexemes, shares = [], [], []
        for row, head in enumerate(heads):
            for lexeme, share in _head_shares(head).items():
                rows.append(row)
                lexemes.append(self.lexemes.setdefault(lexeme, len(self.lexemes)))
                shares.append(share)
        by_lexeme = np.argsort(np.array(lexemes, dtype=np.int64), kind="stable")
        self.posting_rows = np.array(rows, dtype=np.int64)[by_lexeme]
        self.posting_shares = np.array(shares, dtype=np.float64)[by_lexeme]
        self.head_sizes = np.bincount(self.posting_rows, minlength=self.size)
        self.posting_starts = np.searchsorted(
            np.array(lexemes, dtype=np.int64)[by_lexeme], np.arange(len(self.lexemes) + 1)
        )

    def count(self, ids: list[int], fresh: dict[int, tuple[str, ...]]) -> dict[str, dict[str, int]]:
        """Each facet value's count among `ids`: `fresh` rows' own values, the
        others' from the map. Raises KeyError for an id in neither."""
        wanted = np.array([i for i in ids if i not in fresh] if fresh else ids, dtype=np.int64)
        rows = self.rows(wanted)
        starts, lengths = self.starts[rows], self.ends[rows] - self.starts[rows]
        # Every code of every wanted row: each row's start, then one step per code.
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        taken = self.codes[offsets + np.arange(offsets.size)]
        counts = Counter(itertools.chain.from_iterable(fresh.get(i, ()) for i in ids if i in fresh))
        binned = np.bincount(taken, minlength=len(self.names))
        for code in np.flatnonzero(binned):
            counts[self.names[code]] += int(binned[code])
        facets: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
        for key, n in counts.items():
            facet, _, value = key.partition(":")
            if facet in facets:
                facets[facet][value] = n
        return facets

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The map's rows of `ids`; KeyError for an id it does not hold."""
        if ids.size and (ids.max() >= self.positions.size or ids.min() < 0):
            raise KeyError("an id the kept entries do not hold")
        rows = self.positions[ids]
        if (rows < 0).any():
            raise KeyError("an id the kept entries do not hold")
        return rows

    def head_ranks(self, lexemes: list[str]) -> np.ndarray:
        """Every entry's `ts_rank(RANK_WEIGHTS, head, q)` for `q` the OR of `lexemes`
        (sorted, each once, as PostgreSQL sums them), bit for bit the server's."""
        total = np.zeros(self.size, dtype=np.float32)
        for lexeme in lexemes:
            code = self.lexemes.get(lexeme)
            if code is not None:
                found = slice(self.posting_starts[code], self.posting_starts[code + 1])
                rows = self.posting_rows[found]
                total[rows] = _add_rank(total[rows], self.posting_shares[found])
        return total / np.float32(len(lexemes))

    def ordered(
        self,
        ids: list[int],
        fresh: dict[int, _Fresh],
        by: str,
        coverage: list[int] | None = None,
        lexemes: list[str] | None = None,
        distances: bool = False,
    ) -> tuple[list[int], list[int]]:
        """`ids` in the order of `_ORDER_BY[by]`, or with `lexemes` by relevance as the
        page statement's first stage orders them (coverage, `head` rank, newest), and
        the ids this process cannot rank (the second list, else empty).

        With `distances` (a phrase or an AND of words, which `ts_rank` scores by how
        close its words stand: `calc_rank_and` in `tsrank.c`), an article whose `head`
        holds two or more of `lexemes` is left to the server; every other one ranks as
        `ts_rank` ranks it without a pair of words: 1e-20, or 0 for an empty `head`."""
        ids_array = np.array(ids, dtype=np.int64)
        kept = np.array([i not in fresh for i in ids] if fresh else [True] * len(ids), dtype=bool)
        rows = self.rows(ids_array[kept])
        published = np.empty(len(ids), dtype=np.int64)
        titles = np.empty(len(ids), dtype=np.int64)
        published[kept], titles[kept] = self.published[rows], self.title_ranks[rows]
        others = np.flatnonzero(~kept)
        for n in others:
            entry = fresh[ids[n]]
            published[n], titles[n] = entry.published, self._title_rank(entry.title_sort)
        if lexemes is None:
            keys = {
                "-published_on": (ids_array, titles, -published),
                "title": (ids_array, -published, titles),
                "published_on": (ids_array, titles, published),
            }[by]
            return ids_array[np.lexsort(keys)].tolist(), []
        ranks = np.empty(len(ids), dtype=np.float32)
        left = np.zeros(len(ids), dtype=bool)
        if distances:
            found = np.zeros(self.size, dtype=np.int64)
            for code in [self.lexemes[lexeme] for lexeme in lexemes if lexeme in self.lexemes]:
                found[
                    self.posting_rows[self.posting_starts[code] : self.posting_starts[code + 1]]
                ] += 1
            left[kept] = found[rows] >= 2
            ranks[kept] = np.where(self.head_sizes[rows] > 0, _NO_PAIR, 0.0)
            for n in others:
                shares = fresh[ids[n]].shares
                left[n] = sum(lexeme in shares for lexeme in lexemes) >= 2
                ranks[n] = _NO_PAIR if shares else 0.0
        else:
            ranks[kept] = self.head_ranks(lexemes)[rows]
            for n in others:
                shares = fresh[ids[n]].shares
                total = np.zeros(1, dtype=np.float32)
                for lexeme in lexemes:
                    if lexeme in shares:
                        total = _add_rank(total, np.array([shares[lexeme]]))
                ranks[n] = (total / np.float32(len(lexemes)))[0]
        covered = np.array(coverage if coverage is not None else [0] * len(ids), dtype=np.int64)
        order = np.lexsort((ids_array, titles, -published, -ranks, -covered))
        order = order[~left[order]]
        return ids_array[order].tolist(), ids_array[left].tolist()

    def _title_rank(self, title: str) -> int:
        """A title's place among the kept titles (odd between two of them)."""
        n = bisect.bisect_left(self.titles, title)
        return 2 * n if n < len(self.titles) and self.titles[n] == title else 2 * n - 1


class PostgresOperations:
    """The planner's operations on the `search_entry` table, over one cursor.

    Raw SQL, because the statements are what Django's expressions cannot say: the
    index is the backend's own table (no model), the tsquery is compiled text
    (phrases with `<->`, synonyms) bound as one parameter, a count or histogram
    returns its ids with the rows written since the kept entries were read, and a
    page's pool ranking and texts share one statement.
    """

    def __init__(self, backend: PostgresBackend, cursor) -> None:
        self.backend = backend
        self.cursor = cursor
        self._texts: dict[int, Text] = {}
        # Sets already evaluated in this request, by `_Set.key`: their ids (with
        # `count`) and each level's ids (with `coverage_counts`).
        self._ids: dict[tuple, list[int]] = {}
        self._levels: dict[tuple, dict[int, list[int]]] = {}
        self._details: dict[int, Details] = {}
        # A counted set's rows written since the kept entries' horizon, by `_Set.key`,
        # and the kept entries that count used.
        self._fresh: dict[tuple, dict[int, _Fresh]] = {}
        self._level_fresh: dict[tuple, dict[int, _Fresh]] = {}
        self._entries: _KeptEntries | None = None

    def _all(self, sql: str, params) -> list[tuple]:
        self.cursor.execute(sql, params)
        return self.cursor.fetchall()

    def compile(self, parsed: ParsedQuery, synonyms: tuple) -> CompiledQuery:
        return self.backend._compile(parsed, synonyms, self.cursor)

    def candidates(self, compiled: CompiledQuery, request: SearchQuery) -> _Set:
        clauses = ["TRUE"]
        params: dict = {}
        if compiled.must_units():
            condition, found = _matching("must", compiled.must_units())
            params.update(found)
            clauses.append(condition)
        if compiled.excluded:
            params["x"] = to_tsquery_text(compiled.excluded, " | ")
            if _phrased(params["x"]):
                clauses.append("NOT (e.vector @@ %(x)s::tsquery)")
            else:  # the index's own answer, hashed: no row's vector is read to exclude it
                clauses.append(
                    "e.article_id NOT IN "
                    "(SELECT x.article_id FROM search_entry x WHERE x.vector @@ %(x)s::tsquery)"
                )
        rechecked = bool(compiled.excluded) or _phrased(params.get("must", ""))
        for facet, values in request_filters(request):
            if facet.field == "year":
                params["year"] = int(values[0])
                clauses.append("e.year = %(year)s")
            else:
                params[facet.field] = list(values)
                clauses.append(f"e.{facet.field} @> %({facet.field})s::text[]")
        if request.visible_on is not None:  # scheduled articles stay hidden until their date
            params["visible_on"] = request.visible_on
            # With words, tested on the rows the words find, never a way to find them
            # (`+ 0` leaves the date index out): it excludes only scheduled articles,
            # and while the word index has entries pending the planner would rather
            # walk the date index and test every article's vector. Browsing (no
            # words) reads the date index in date order.
            published = "e.published_on + 0" if compiled.required else "e.published_on"
            clauses.append(f"{published} <= %(visible_on)s")
        return _Set(" AND ".join(clauses), params, rechecked=rechecked)

    def strict(self, within: _Set, units: tuple[Unit, ...]) -> _Set:
        if not units:
            return within
        condition, params = _matching("all", units)
        narrowed = within.narrowed(condition, _phrased(params["all"]), **params)
        if within.source != _Set.source or within.base is not None:
            return narrowed
        return dataclasses.replace(narrowed, base=within, required=units)

    def at_least(self, within: _Set, units: tuple[Unit, ...], least: int) -> _Set:
        if least <= 0:
            return within
        levels = self._levels.get((within.key, units))
        if levels is not None and all(ids is not None for ids in levels.values()):
            chosen = [(c, ids) for c, ids in levels.items() if c >= least]
            listed = _listed(
                [i for _c, ids in chosen for i in ids],
                [c for c, ids in chosen for _i in ids],
                units,
            )
            if (within.key, units) in self._level_fresh:
                self._fresh[listed.key] = self._level_fresh[(within.key, units)]
            return listed
        cover, params = _coverage(units, "unit")
        return within.narrowed(
            f"e.article_id IN (SELECT cv.article_id FROM ({cover}) cv WHERE cv.c >= %(least)s)",
            least=least,
            **params,
        )

    def count(self, documents: _Set) -> int:
        """A count. For a set of the table, also its ids and its rows written since
        the kept entries' horizon (`_Fresh`), kept for the page: a rechecked set's
        rows' vectors are then read once per request, not twice, and the page
        orders the set and counts its facets from the kept entries (`_kept_page`)."""
        if documents.source != _Set.source:
            return self._all(
                f"SELECT count(*) FROM {documents.source} WHERE {documents.where}",
                documents.params,
            )[0][0]
        known = self._entries = self._kept_entries()
        ((total, ids, fresh),) = self._all(
            _COUNT.format(most=ID_LIST_MAX, source=documents.source, where=documents.where),
            {**documents.params, "horizon": known.horizon},
        )
        if ids is not None:
            self._ids[documents.key] = ids
            self._fresh[documents.key] = self._read_fresh(known, fresh)
        return total

    @staticmethod
    def _read_fresh(known: _KeptEntries, rows: list | None) -> dict[int, _Fresh]:
        """The rows of `_FRESH`, by article id; more than `FRESH_MAX` of them make
        the kept entries stale (read afresh by the next request)."""
        if len(rows or ()) > FRESH_MAX:
            known.stale = True
        return {
            article_id: _Fresh(
                tuple((values or "").split()),
                datetime.date.fromisoformat(published).toordinal(),
                title_sort,
                _head_shares(head),
            )
            for article_id, values, published, title_sort, head in rows or ()
        }

    def coverage_counts(
        self, within: _Set, units: tuple[Unit, ...], *, zero: bool
    ) -> dict[int, int]:
        """The histogram, and each level's ids (not those matching no unit) with the
        rows written since the kept entries' horizon (`_Fresh`), kept for `at_least`
        and the page's ordering, so the units' matches are looked up once per
        request; a level of more than `ID_LIST_MAX` articles is left to SQL.

        The candidates' condition is tested inside each unit's index lookup, on the
        row that lookup reads anyway, instead of joining every matching id back to
        the table; not when testing it reads each row's vector (`_Set.rechecked`).
        A strict match of some of `units` whose own candidates are not rechecked (a
        question's topic words with phrase synonyms, `Planner.topical`) is tested
        the same way: a row is in it when its lookups found every required unit, so
        no row's vector is read again to test the strict condition."""
        lookup = within
        if (
            within.rechecked
            and within.base is not None
            and not within.base.rechecked
            and all(unit in units for unit in within.required)
        ):
            lookup = within.base
        if not lookup.rechecked and lookup.source == _Set.source:
            known = self._entries = self._kept_entries()
            required = within.required if lookup is not within else ()
            cover, params = _coverage(units, "unit", lookup.where, fresh=True, required=required)
            rows = self._all(
                _HISTOGRAM.format(cover=cover, where=lookup.where, most=ID_LIST_MAX),
                {
                    **lookup.params,
                    **params,
                    # No row matches none of the units: it matches the required ones.
                    "zero": zero and not required,
                    "horizon": known.horizon,
                },
            )
            self._levels[(within.key, units)] = {c: ids for c, _n, ids, _f in rows if c > 0}
            fresh = next((found for c, _n, _ids, found in rows if c < 0), None)
            self._level_fresh[(within.key, units)] = self._read_fresh(known, fresh)
            return {c: n for c, n, _ids, _f in rows if c >= 0 and (c or n)}
        known = self._entries = self._kept_entries()
        cover, params = _coverage(units, "unit")
        join = "LEFT JOIN" if zero else "JOIN"
        rows = self._all(
            f"SELECT coalesce(cv.c, 0) AS c, count(*), CASE WHEN count(*) <= {ID_LIST_MAX} "
            f"THEN array_agg(e.article_id) FILTER (WHERE cv.c IS NOT NULL) END, "
            f"{_FRESH} FILTER (WHERE age(e.xmin) <= age(%(horizon)s::xid)) "
            f"FROM {within.source} {join} ({cover}) cv ON cv.article_id = e.article_id "
            f"WHERE {within.where} GROUP BY 1",
            {**within.params, **params, "horizon": known.horizon},
        )
        self._levels[(within.key, units)] = {c: ids for c, _n, ids, _f in rows if c}
        fresh = [row for c, _n, _ids, found in rows if c for row in found or ()]
        self._level_fresh[(within.key, units)] = self._read_fresh(known, fresh)
        return {c: n for c, n, _ids, _f in rows}

    def units_found(self, units: tuple[Unit, ...], within: _Set | None) -> list[bool]:
        """Each unit's rows come from the GIN index (a subquery the planner keeps
        apart, `OFFSET 0`), and `within` is tested on those. Planned as one query,
        a date condition in `within` let the planner walk the newest-first index
        and test each row's vector until one matched: for a word no article holds,
        it read every article's vector."""
        within = within or _Set("TRUE", {})
        rows = self._all(
            "SELECT t.i, EXISTS (SELECT 1 FROM (SELECT * FROM search_entry x "
            f"WHERE x.vector @@ t.q OFFSET 0) e WHERE {within.where}) "
            "FROM unnest(%(found)s::tsquery[]) WITH ORDINALITY AS t(q, i) ORDER BY t.i",
            {**within.params, "found": [unit_tsquery(u) for u in units]},
        )
        return [bool(found) for _i, found in rows]

    def page(
        self, documents: _Set, ordering: Ordering, offset: int, limit: int
    ) -> tuple[list[Row], dict[str, dict[str, int]]]:
        """The page's rows and the set's facets in one statement over one
        materialised evaluation of the set (`_PAGE`): read by primary key when
        its ids were fetched with its count. A counted set whose order the kept
        entries can give is ordered in this process instead (`_kept_page`)."""
        ids, fresh = self._ids.get(documents.key), self._fresh.get(documents.key)
        ranked = _rank_lexemes(ordering.scored) if ordering.by == "relevance" else None
        coverage = None
        if documents.covered and ordering.coverage == documents.covered:
            ids, coverage = documents.params["ids"], documents.params["cs"]
        if (
            ids is not None
            and fresh is not None
            and (documents.source == _Set.source or coverage is not None)
            and (not ordering.coverage or coverage is not None)
            and (ordering.by != "relevance" or ranked is not None)
        ):
            try:
                return self._kept_page(ids, fresh, ordering, ranked, offset, limit, coverage)
            except KeyError:  # not expected: a row older than the horizon the map lacks
                self._entries.stale = True
        if documents.source == _Set.source and documents.rechecked and ids is not None:
            documents = _listed(ids)
        params = {**documents.params, "offset": offset, "wanted": offset + limit}
        coverage, join = "0", ""
        if ordering.coverage and ordering.coverage == documents.covered:
            coverage = "k.c"
        elif ordering.coverage:
            cover, cover_params = _coverage(ordering.coverage, "cover")
            params.update(cover_params)
            coverage = "coalesce(cv.c, 0)"
            join = f"LEFT JOIN ({cover}) cv ON cv.article_id = e.article_id"
        if ordering.by == "relevance":
            params["q"] = to_tsquery_text(ordering.scored, " | ", ranked=True)
            params["pool"] = max(RANK_POOL, offset + limit)
            top = _RANKED
            order = f"m.c DESC, m.score DESC, {_NEWEST}"
            head_rank = f"ts_rank('{RANK_WEIGHTS}', e.head, %(q)s::tsquery)"
        else:
            order = _ORDER_BY[ordering.by]
            top = _LISTED.format(order=order)
            head_rank = "0.0"
        known = self._kept_entries()
        params["horizon"] = known.horizon
        rows: list[Row] = []
        ids: list[int] = []
        fresh: dict[int, tuple[str, ...]] = {}
        for kind, value, _n, article_id, score_value, slug, summary, body in self._all(
            _PAGE.format(
                source=documents.source,
                where=documents.where,
                coverage=coverage,
                head_rank=head_rank,
                join=join,
                top=top,
                order=order.replace("m.", "t."),
            ),
            params,
        ):
            if kind == "hit":
                rows.append(Row(article_id, score_value))
                self._texts[article_id] = Text(article_id, slug, summary, body)
            elif kind == "fresh":
                fresh[article_id] = tuple(value.split())
            elif value:
                ids = [int(i) for i in value[1:-1].split(",")]
        if len(fresh) > FRESH_MAX:
            known.stale = True
        try:
            facets = known.count(ids, fresh)
        except KeyError:  # not expected: a row older than the map's horizon it lacks
            facets = self._kept_entries(reload=True).count(ids, fresh)
        return rows, facets

    def _kept_page(
        self,
        ids: list[int],
        fresh: dict[int, _Fresh],
        ordering: Ordering,
        ranked: tuple[list[str], bool] | None,
        offset: int,
        limit: int,
        coverage: list[int] | None = None,
    ) -> tuple[list[Row], dict[str, dict[str, int]]]:
        """A page of a set whose ids and fresh rows its count (or its histogram) read,
        ordered by the kept entries, then one statement for the page's rows. By
        relevance, the first `RANK_POOL` by coverage, `head` rank and date, exactly as
        `_PAGE` chooses them (with those the server must rank by their words'
        distances, `_KeptEntries.ordered`), are ranked by the full vector
        (`_POOL_PAGE`)."""
        known = self._entries
        facets = known.count(ids, {i: entry.facets for i, entry in fresh.items()})
        if ranked is not None:
            lexemes, distances = ranked
            size = max(RANK_POOL, offset + limit)
            pool, left = known.ordered(
                ids, fresh, "relevance", coverage, lexemes=lexemes, distances=distances
            )
            pool = pool[:size] + left
            covered = dict(zip(ids, coverage, strict=True)) if coverage is not None else {}
            found = self._all(
                _POOL_PAGE,
                {
                    "pool": pool,
                    "cs": [covered.get(article_id, 0) for article_id in pool],
                    "size": size,
                    "q": to_tsquery_text(ordering.scored, " | ", ranked=True),
                    "offset": offset,
                    "wanted": offset + limit,
                },
            )
        else:
            listed = known.ordered(ids, fresh, ordering.by)[0][offset : offset + limit]
            place = {article_id: n for n, article_id in enumerate(listed)}
            found = sorted(self._all(_LISTED_PAGE, [listed]), key=lambda row: place[row[0]])
        rows = []
        for article_id, score, slug, summary, body in found:
            rows.append(Row(article_id, score))
            self._texts[article_id] = Text(article_id, slug, summary, body)
        return rows, facets

    def _kept_entries(self, reload: bool = False) -> _KeptEntries:
        """The backend's kept entries (`_KeptEntries`), read first when there are none,
        they are stale, or they were read from another database."""
        backend = self.backend
        settings = connections[backend.using].settings_dict
        database = (settings.get("HOST"), settings.get("PORT"), settings.get("NAME"))
        known = backend._kept
        if known is not None and known.database == database and not known.stale and not reload:
            return known
        before = known
        with backend._kept_lock:
            known = backend._kept  # read afresh meanwhile by another thread (a warm-up)?
            fresh = known is not None and known.database == database and not known.stale
            if fresh and known is not before:
                return known
            ((horizon, *columns),) = self._all(_KEPT_ENTRIES, [])
            known = _KeptEntries(database, horizon, *(column or [] for column in columns))
            backend._kept = known
        return known

    def texts(self, rows: list[Row]) -> list[Text]:
        return [self._texts[row.ref] for row in rows]

    def normaliser(self, texts: list[Text], wanted: frozenset[str]) -> Callable[[str], str]:
        """Every word of the texts that could mark a `wanted` term, analysed in one batch."""
        if wanted:
            words: set[str] = set()
            for text in texts:
                words |= candidates(text.summary, text.body, wanted)
            self.backend._lexize(words, self.cursor)
        analyse = self.backend.analyse

        def normalise(word: str) -> str:
            lexemes = analyse(word)
            return lexemes[0] if len(lexemes) == 1 else ""

        return normalise

    def unknown_words(self, words: list[str]) -> dict[str, str]:
        self.backend._lexize([w.casefold() for w in words], self.cursor)
        asked = {}
        for word in words:
            folded = "".join(unstemmed(word))
            lexemes = self.backend.analyse(word.casefold())
            if folded and lexemes:
                asked[word] = (folded, " & ".join(quote(t) for t in lexemes))
        if not asked:
            return {}
        rows = self._all(
            "SELECT t.i FROM unnest(%s::tsquery[], %s::text[]) WITH ORDINALITY AS t(q, w, i) "
            "WHERE NOT EXISTS (SELECT 1 FROM search_entry WHERE vector @@ t.q) "
            "AND NOT EXISTS (SELECT 1 FROM search_word WHERE word = t.w)",
            [[q for _f, q in asked.values()], [f for f, _q in asked.values()]],
        )
        words_asked = list(asked)
        return {words_asked[i - 1]: asked[words_asked[i - 1]][0] for (i,) in rows}

    def spelling_candidates(self, words: dict[str, int]) -> dict[str, list[Candidate]]:
        """Library words within each word's distance, starting with its letter, with
        how many titles and taxonomy names use each (the Whoosh `spell` frequency).
        One statement: a branch per word, each with its own prefix constant, so each
        reads only its letter's words through the prefix index."""
        params: dict = {}
        branches = []
        for n, (word, most) in enumerate(words.items()):
            params.update({f"w{n}": word, f"m{n}": most, f"f{n}": _like_escape(word[:1]) + "%"})
            branches.append(_CANDIDATES.format(n=n))
        found: dict[str, list[Candidate]] = {word: [] for word in words}
        for word, candidate, distance, frequency in self._all(
            _FREQUENCIES.format(candidates=" UNION ALL ".join(branches)), params
        ):
            found[word].append(Candidate(candidate, distance, frequency))
        return found

    # -- the answer stage (issue 19)

    def details(self, rows: list[Row]) -> list[Details]:
        """Title, filed topics and tags, and sections of each row: one statement for
        the rows `coverage` did not already read them for."""
        missing = [row.ref for row in rows if row.ref not in self._details]
        if missing:
            for article_id, *detail in self._all(_DETAILS, [missing]):
                self._details[article_id] = _details(*detail)
        return [self._details.get(row.ref, Details("", {}, ())) for row in rows]

    def coverage(self, rows: list[Row], units: tuple[Unit, ...]) -> Coverage:
        """Which units each row matches and each unit's document frequency (capped):
        one statement, only for a relaxed question (`_COVERAGE`), which also reads
        the rows' details (kept for `details`, which the answer stage asks next)."""
        matched: dict[int, frozenset[int]] = {}
        frequencies = [0] * len(units)
        documents = 0
        for kind, key, value, found, *detail in self._all(
            _COVERAGE.format(cap=FREQUENCY_CAP, details=_DETAILS_COLUMNS),
            {"qs": [unit_tsquery(u) for u in units], "ids": [row.ref for row in rows]},
        ):
            if kind == "unit":
                frequencies[key - 1] = value
            elif kind == "row":
                matched[key] = frozenset(i - 1 for i in found)
                self._details[key] = _details(*detail)
            else:
                documents = value
        return Coverage(
            [matched.get(row.ref, frozenset()) for row in rows], tuple(frequencies), documents
        )

    def find(self, ids: list[int], within: _Set) -> list[Row]:
        """The articles of `ids` that `within` holds (texts kept for `texts`): one statement."""
        rows = []
        for article_id, slug, summary, body in self._all(
            f"SELECT e.article_id, e.slug, e.summary, e.body FROM {within.source} "
            f"WHERE {within.where} AND e.article_id = ANY(%(find)s::bigint[])",
            {**within.params, "find": list(ids)},
        ):
            rows.append(Row(article_id, 0.0))
            self._texts[article_id] = Text(article_id, slug, summary, body)
        return rows


def _section_rows(docs: list[SearchDocument]) -> list[list]:
    """The `search_section` values of `docs`: ids, and each one's sections as text."""
    return [
        [doc.id for doc in docs],
        [
            "\n".join(f"{start}\t{anchor}\t{heading}" for heading, anchor, start in doc.sections)
            for doc in docs
        ],
    ]


def _read_sections(text: str) -> tuple[tuple[str, str, int], ...]:
    sections = []
    for line in text.split("\n"):
        start, _tab, rest = line.partition("\t")
        anchor, _tab, heading = rest.partition("\t")
        if start.isdigit() and anchor:
            sections.append((heading, anchor, int(start)))
    return tuple(sections)


# Where each article's sections start (migration `search/0008`), written with its entry.
_SECTIONS_UPSERT = """
INSERT INTO search_section (article_id, sections)
SELECT * FROM unnest(%s::bigint[], %s::text[])
ON CONFLICT (article_id) DO UPDATE SET sections = EXCLUDED.sections
"""

# What the answer stage re-ranks a question's first rows by (`_details`).
_DETAILS_COLUMNS = "e.title, e.diseases, e.therapies, e.tags, s.sections"
_DETAILS = f"""
SELECT e.article_id, {_DETAILS_COLUMNS}
FROM unnest(%s::bigint[]) AS r(id)
JOIN search_entry e ON e.article_id = r.id
LEFT JOIN search_section s ON s.article_id = e.article_id
"""


def _details(title, diseases, therapies, tags, sections) -> Details:
    """A row of `_DETAILS_COLUMNS` as the answer stage reads it."""
    return Details(
        title,
        {"disease": tuple(diseases), "therapy": tuple(therapies), "tag": tuple(tags)},
        _read_sections(sections or ""),
    )


# What a relaxed question's words weigh: each unit's document frequency (capped, as
# related articles' are), which units each of the window's rows matches (its vector
# read once per row) with the row's details (`_DETAILS_COLUMNS`), and the library's
# size from the table's statistics.
_COVERAGE = """
WITH u AS (SELECT t.q, t.i FROM unnest(%(qs)s::tsquery[]) WITH ORDINALITY AS t(q, i))
SELECT 'unit', u.i::bigint, (SELECT count(*) FROM (SELECT 1 FROM search_entry e
    WHERE e.vector @@ u.q LIMIT {cap}) c), NULL::bigint[],
    NULL, NULL::text[], NULL::text[], NULL::text[], NULL FROM u
UNION ALL
SELECT 'row', e.article_id, NULL, ARRAY(SELECT u.i FROM u WHERE e.vector @@ u.q), {details}
FROM search_entry e LEFT JOIN search_section s ON s.article_id = e.article_id
WHERE e.article_id = ANY(%(ids)s::bigint[])
UNION ALL
SELECT 'size', NULL, CASE WHEN c.reltuples > 0 THEN c.reltuples::bigint
    ELSE (SELECT count(*) FROM search_entry) END, NULL, NULL, NULL, NULL, NULL, NULL
FROM pg_class c WHERE c.oid = 'search_entry'::regclass
"""

# The source of a set whose ids and coverage counts are known (`_listed`).
_COVERED_SOURCE = (
    "unnest(%(ids)s::bigint[], %(cs)s::int[]) AS k(article_id, c) "
    "JOIN search_entry e USING (article_id)"
)

# Merges the pending lists of the search table's GIN indexes into them (`_tidy_after_rebuild`).
_CLEAN_PENDING = """
    SELECT gin_clean_pending_list(i.indexrelid)
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am a ON a.oid = c.relam
    WHERE i.indrelid = 'search_entry'::regclass AND a.amname = 'gin'
"""

# A search transaction's settings (see `PostgresBackend.search`), in one statement.
_SETTINGS = "SELECT set_config('enable_seqscan', 'off', true), set_config('work_mem', '32MB', true)"

_NEWEST = 'm.published_on DESC, m.title_sort COLLATE "C", m.article_id'
_ORDER_BY = {
    "-published_on": _NEWEST,
    "title": 'm.title_sort COLLATE "C", m.published_on DESC, m.article_id',
    "published_on": 'm.published_on, m.title_sort COLLATE "C", m.article_id',
}


def _coverage(
    units: tuple[Unit, ...],
    name: str,
    where: str = "TRUE",
    fresh: bool = False,
    required: tuple[Unit, ...] = (),
) -> tuple[str, dict]:
    """(article_id, c): every entry matching any of `units` (and `where`, a condition on
    `search_entry e`), with how many it matches; with `fresh`, also (f) whether it was
    written since the kept entries' horizon (`%(horizon)s`, see `_KeptEntries`); with
    `required` (some of `units`), only the entries matching every one of those.

    One GIN index lookup per unit, joined by UNION ALL: a per-row test of each unit
    against the row's vector would read (detoast) every matching row's whole vector
    once per unit."""
    params: dict = {}
    lookups = []
    for i, unit in enumerate(units):
        condition, found = _matching(f"{name}{i}", (unit,))
        params.update(found)
        lookups.append((condition, int(unit in required)))
    flag, flags = (
        (", age(e.xmin) <= age(%(horizon)s::xid) AS f", ", bool_or(f) AS f") if fresh else ("", "")
    )
    union = " UNION ALL ".join(
        f"SELECT e.article_id{flag}, {k} AS k FROM search_entry e WHERE {condition} AND {where}"
        for condition, k in lookups
    )
    having = f" HAVING sum(k) = {sum(unit in required for unit in units)}" if required else ""
    return (
        f"SELECT article_id, count(*) AS c{flags} FROM ({union}) u GROUP BY article_id{having}",
        params,
    )


# One results page: the match set evaluated once (`m`), the page's rows ranked with a
# plain ORDER BY … LIMIT (`top`), their texts, the set's ids (`set`) and the facet
# values of its rows written since the kept entries' horizon (`fresh`, see `_KeptEntries`).
# Used when the process cannot order the set (`PostgresOperations.page`): its ids were
# not fetched (more than `ID_LIST_MAX`), or its ordering is not one the kept entries give.
_PAGE = """
WITH m AS MATERIALIZED (
    SELECT e.article_id, e.published_on, e.title_sort, {coverage} AS c, {head_rank} AS r,
        CASE WHEN age(e.xmin) <= age(%(horizon)s::xid) THEN e.facet_values END AS fresh
    FROM {source} {join} WHERE {where}
),
top AS ({top}),
page AS (
    SELECT t.article_id, t.score, row_number() OVER (ORDER BY {order}) AS n FROM top t
)
SELECT 'hit', NULL, p.n, p.article_id, p.score, e.slug, e.summary, e.body
FROM page p JOIN search_entry e USING (article_id) WHERE p.n > %(offset)s
UNION ALL SELECT 'fresh', array_to_string(m.fresh, ' '), NULL, m.article_id, NULL, NULL,
    NULL, NULL FROM m WHERE m.fresh IS NOT NULL
UNION ALL SELECT 'set', array_agg(m.article_id)::text, NULL, NULL, NULL, NULL, NULL, NULL FROM m
ORDER BY 1, 3
"""

# An entry's `head` lexemes with their positions' weights, as `_head_shares` reads them.
_HEAD_TERMS = (
    "(SELECT string_agg(t.lexeme || chr(31) || array_to_string(t.weights, ''), chr(30)) "
    "FROM unnest(e.head) AS t)"
)

# What `_KeptEntries` keeps of every entry, with the oldest transaction still running
# for this statement's snapshot (as an `xid`, the type of a row's `xmin`).
_KEPT_ENTRIES = f"""
SELECT mod(pg_snapshot_xmin(pg_current_snapshot())::text::numeric, 4294967296)::text,
    array_agg(e.article_id), array_agg(array_to_string(e.facet_values, ' ')),
    array_agg(e.published_on), array_agg(e.title_sort), array_agg({_HEAD_TERMS})
FROM search_entry e
"""

# What `_KeptEntries` would hold of rows `e` (`_Fresh`), as one JSON array.
_FRESH = (
    "json_agg(json_build_array(e.article_id, array_to_string(e.facet_values, ' '), "
    f"e.published_on, e.title_sort, {_HEAD_TERMS}))"
)

# A set's count, its ids (up to `most`) and what `_KeptEntries` would hold of its rows
# written since the kept entries' horizon (`_Fresh`).
_COUNT = f"""SELECT count(*), CASE WHEN count(*) <= {{most}} THEN array_agg(e.article_id) END,
    {_FRESH} FILTER (WHERE age(e.xmin) <= age(%(horizon)s::xid))
FROM {{source}} WHERE {{where}}
"""

# How many candidates (`where`) match exactly c units, with each level's ids (up to
# `most`), from the units' lookups (`cover`, with `fresh`); with %(zero)s also those
# matching none; then (as level -1) what `_KeptEntries` would hold of the rows written
# since its horizon (`_Fresh`).
_HISTOGRAM = f"""
WITH cv AS MATERIALIZED ({{cover}})
SELECT cv.c, count(*), CASE WHEN count(*) <= {{most}} THEN array_agg(cv.article_id) END, NULL::json
FROM cv GROUP BY cv.c
UNION ALL
SELECT 0, (SELECT count(*) FROM search_entry e WHERE {{where}}) - (SELECT count(*) FROM cv), NULL,
    NULL
WHERE %(zero)s
UNION ALL
SELECT -1, NULL, NULL, {_FRESH} FROM search_entry e
WHERE e.article_id IN (SELECT cv.article_id FROM cv WHERE cv.f)
"""

# A page by relevance from candidates for the pool (`_kept_page`): the best `size` of
# them by the `head` vector (as `_RANKED` chooses them), ranked by the full vector with
# a plain ORDER BY … LIMIT, and the texts of the page's rows.
_POOL_PAGE = f"""
WITH pool AS (
    SELECT e.article_id, k.c
    FROM unnest(%(pool)s::bigint[], %(cs)s::int[]) AS k(article_id, c)
    JOIN search_entry e USING (article_id)
    ORDER BY k.c DESC, ts_rank('{RANK_WEIGHTS}', e.head, %(q)s::tsquery) DESC,
        e.published_on DESC, e.title_sort COLLATE "C", e.article_id
    LIMIT %(size)s
),
top AS (
    SELECT e.article_id, pool.c, e.published_on, e.title_sort,
        ts_rank('{RANK_WEIGHTS}', e.vector, %(q)s::tsquery) AS score
    FROM pool JOIN search_entry e USING (article_id)
    ORDER BY pool.c DESC, score DESC, e.published_on DESC, e.title_sort COLLATE "C",
        e.article_id
    LIMIT %(wanted)s
),
page AS (
    SELECT t.article_id, t.score, row_number() OVER (ORDER BY t.c DESC, t.score DESC,
        t.published_on DESC, t.title_sort COLLATE "C", t.article_id) AS n
    FROM top t
)
SELECT p.article_id, p.score, e.slug, e.summary, e.body
FROM page p JOIN search_entry e USING (article_id) WHERE p.n > %(offset)s ORDER BY p.n
"""

# The rows of a page whose ids are known, in no order (`_kept_page`).
_LISTED_PAGE = """
SELECT e.article_id, 0.0::real, e.slug, e.summary, e.body
FROM search_entry e WHERE e.article_id = ANY(%s::bigint[])
"""

# Not by relevance: the first rows of the set in a stored order.
_LISTED = """
    SELECT m.article_id, m.c, m.published_on, m.title_sort, 0.0::real AS score
    FROM m ORDER BY {order} LIMIT %(wanted)s
"""

# By relevance, in two stages: every row of the set by its small `head` vector (title,
# summary, taxonomy; `m.r`), then only the best `pool` of those by the full vector,
# whose body positions are what a rank costs to read. `m` keeps only narrow columns,
# so it stays in memory.
_RANKED = f"""
    SELECT e.article_id, p.c, e.published_on, e.title_sort,
        ts_rank('{RANK_WEIGHTS}', e.vector, %(q)s::tsquery) AS score
    FROM (
        SELECT m.article_id, m.c FROM m ORDER BY m.c DESC, m.r DESC, {_NEWEST} LIMIT %(pool)s
    ) p JOIN search_entry e USING (article_id)
    ORDER BY p.c DESC, score DESC, e.published_on DESC, e.title_sort COLLATE "C", e.article_id
    LIMIT %(wanted)s
"""

# Related articles: the article's 30 most frequent weighted lexemes (title 4, summary
# and taxonomy 2, body 1), each one's document frequency capped at 1,000, the best
# `terms` by tf times idf as one OR query, ranked like a results page. The library's
# size comes from the table's statistics (counted when there are none yet). Each
# lexeme becomes a tsquery operand quoted as `quote` does.
_RELATED = f"""
WITH own AS (
    SELECT t.lexeme, sum(CASE w WHEN 'A' THEN 4 WHEN 'B' THEN 2 WHEN 'C' THEN 2 ELSE 1 END) AS tf
    FROM search_entry e, unnest(e.vector) AS t, unnest(t.weights) AS w
    WHERE e.article_id = %(id)s GROUP BY t.lexeme ORDER BY tf DESC, t.lexeme LIMIT 30
),
quoted AS (
    SELECT lexeme, tf, ('''' || replace(replace(lexeme, E'\\\\', E'\\\\\\\\'), '''', '''''')
        || '''')::tsquery AS q
    FROM own
),
library AS (
    SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::float8
        ELSE (SELECT count(*) FROM search_entry)::float8 END AS size
    FROM pg_class c WHERE c.oid = 'search_entry'::regclass
),
best AS (
    SELECT quoted.q FROM quoted, library
    ORDER BY quoted.tf * (ln(library.size / ((SELECT count(*) FROM (SELECT 1 FROM search_entry e
        WHERE e.vector @@ quoted.q LIMIT 1000) c) + 1)) + 1) DESC, quoted.tf DESC, quoted.lexeme
    LIMIT %(terms)s
),
query AS (SELECT string_agg(best.q::text, ' | ')::tsquery AS q FROM best)
SELECT e.article_id FROM search_entry e, query
WHERE e.vector @@ query.q AND e.article_id <> %(id)s
    AND (%(visible_on)s::date IS NULL OR e.published_on <= %(visible_on)s)
ORDER BY ts_rank('{RANK_WEIGHTS}', e.vector, query.q) DESC, e.published_on DESC, e.article_id
LIMIT %(limit)s
"""

# One asked word's library words within `m{n}` edits that start with its letter.
_CANDIDATES = """
    SELECT %(w{n})s::text AS asked, w.word, levenshtein_less_equal(w.word, %(w{n})s, %(m{n})s) AS d,
        %(m{n})s AS most
    FROM search_word w WHERE w.word LIKE %(f{n})s AND w.word <> %(w{n})s
"""

# The candidates within reach, with how many titles and taxonomy names use each.
_FREQUENCIES = """
SELECT c.asked, c.word, c.d, f.frequency FROM ({candidates}) c
CROSS JOIN LATERAL (
    SELECT (SELECT count(*) FROM search_entry e WHERE e.spelling @> ARRAY[c.word])
         + (SELECT count(*) FROM search_phrase p WHERE p.spelling @> ARRAY[c.word]) AS frequency
) f
WHERE c.d <= c.most AND f.frequency > 0
"""
