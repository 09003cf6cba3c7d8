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

Questions follow the engine-neutral rules of `search.backends.query`, as the Whoosh
backend does: stopwords are never required; when requiring every meaningful unit
finds fewer than `FEW_RESULTS` articles, one fewer is required at a time
(`relaxation_steps`, counted per row against an array of per-unit tsqueries) and
articles matching more units rank above those matching fewer; quoted units and
exclusions stay exact. "Did you mean" corrects only words the library does not know
(`correctable`), and when the reader's query finds nothing but the correction does,
the correction's results are served (`SearchPage.corrected`). Facet counts are exact: one GROUP BY over the unnested
slug arrays of every matching row. Highlights reuse the engine-neutral highlighter,
with candidate words analysed by PostgreSQL in one batch per page.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import math
import re
import time
from collections.abc import Iterable, Iterator

from django.core import checks
from django.db import DatabaseError, OperationalError, connections, transaction

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
    owner_is_gone,
    owner_tag,
)
from search.backends.files import IndexLockTimeout
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
from search.backends.text import (
    APOSTROPHES,
    SCAN_CHARS,
    STOP_WORDS,
    WORD_RE,
    candidates,
    fold,
    highlight,
)

logger = logging.getLogger("search")

CONFIG = "stemsite_english"
# ts_rank's weights, in PostgreSQL's order {D, C, B, A}: body, taxonomy, summary, title.
RANK_WEIGHTS = "{0.25, 0.5, 0.5, 1.0}"
MAX_PER_PAGE = 100
WRITE_CHUNK = 500
LEXEME_CACHE = 50_000
MORE_LIKE_TERMS = 12
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


def unit_tsquery(unit: Unit) -> str:
    """One unit: any alternative (a term, or a phrase with `<->`) or a loose spelling."""
    parts = [_alternative(alt) for alt in unit.alternatives]
    parts += [_alternative(alt, loose=True) for alt in unit.loose]
    return "(" + " | ".join(parts) + ")"


def to_tsquery_text(units: Iterable[Unit], joiner: str = " & ") -> str:
    return joiner.join(unit_tsquery(u) for u in units)


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
    def _cursor(self) -> Iterator:
        connection = connections[self.using]
        # Inside a transaction, a savepoint keeps a failed index query from aborting
        # the caller's transaction (the page can still say "search unavailable").
        savepoint = transaction.atomic(using=self.using) if connection.in_atomic_block else None
        try:
            with savepoint or contextlib.nullcontext(), connection.cursor() as cursor:
                yield cursor
        except DatabaseError as exc:
            raise SearchUnavailable(f"the search tables could not be used: {exc}") from exc

    def _mark_created(self, cursor) -> None:
        cursor.execute("INSERT INTO search_index_state (id) VALUES (1) ON CONFLICT DO NOTHING")

    # -- analysis

    def _lexize(self, texts: Iterable[str]) -> None:
        """Analyse every text not yet cached in one query."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._lexemes]
        if not missing:
            return
        if len(self._lexemes) > LEXEME_CACHE:
            self._lexemes.clear()
        with self._cursor() as cursor:
            cursor.execute(_LEXIZE, [[prepare(t) for t in missing]])
            found = {int(i): tuple(lexemes) for i, lexemes in cursor.fetchall()}
        for position, text in enumerate(missing, start=1):
            self._lexemes[text] = found.get(position, ())

    def analyse(self, text: str) -> tuple[str, ...]:
        """Lexemes of `text` in order, as the index holds them (cached per process)."""
        if text not in self._lexemes:
            self._lexize([text])
        return self._lexemes[text]

    def _compile(self, parsed: ParsedQuery, synonyms) -> CompiledQuery:
        words = [w for group in parsed.required for clause in group for w in clause.words]
        words += [w for clause in parsed.excluded for w in clause.words]
        self._lexize(words + [phrase for group in synonyms for phrase in group])
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

    def _write(self, cursor, docs: list[SearchDocument]) -> None:
        for start in range(0, len(docs), WRITE_CHUNK):
            chunk = docs[start : start + WRITE_CHUNK]
            cursor.execute(_UPSERT, self._rows(chunk))
            phrases: dict[str, str] = {}
            for doc in chunk:
                for phrase in doc.taxonomy:
                    phrases.setdefault(phrase.casefold(), phrase)
            words = {w for doc in chunk for w in unstemmed(doc.title)}
            if phrases:
                keys = list(phrases)
                displays = [phrases[k] for k in keys]
                cursor.execute(
                    "INSERT INTO search_phrase (key, display, spelling, complete) "
                    "SELECT k, d, string_to_array(s, ' '), c "
                    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS p(k, d, s, c) "
                    "ON CONFLICT (key) DO NOTHING",
                    [
                        keys,
                        displays,
                        [" ".join(dict.fromkeys(unstemmed(d))) for d in displays],
                        [" ".join(unstemmed(d)) for d in displays],
                    ],
                )
                words.update(w for d in displays for w in unstemmed(d))
            if words:
                cursor.execute(
                    "INSERT INTO search_word (word) SELECT unnest(%s::text[]) "
                    "ON CONFLICT DO NOTHING",
                    [sorted(words)],
                )

    def index(self, documents: Iterable[SearchDocument]) -> int:
        """Upsert by article id, inside the caller's transaction if there is one."""
        docs = list({doc.id: doc for doc in documents}.values())
        if not docs:
            return 0
        with transaction.atomic(using=self.using), self._cursor() as cursor:
            self._mark_created(cursor)
            self._write(cursor, docs)
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
        return count

    # -- reading

    def exists(self) -> bool:
        try:
            with self._cursor() as cursor:
                cursor.execute("SELECT EXISTS (SELECT 1 FROM search_index_state)")
                return bool(cursor.fetchone()[0])
        except SearchUnavailable:
            return False

    def indexed(self) -> dict[int, datetime.datetime]:
        with self._cursor() as cursor:
            cursor.execute("SELECT article_id, updated_at FROM search_entry")
            return dict(cursor.fetchall())

    def search(self, query: SearchQuery) -> SearchPage:
        parsed = parse_query(query.text or "")
        synonyms = tuple(tuple(g) for g in (query.synonyms or ()))
        try:
            compiled = self._compile(parsed, synonyms)
            return _Search(self, query, parsed, compiled).page()
        except SearchUnavailable:
            logger.exception("Search failed on PostgreSQL for %r", query.text)
            raise

    def suggest(
        self, prefix: str, limit: int = 10, *, visible_on: datetime.date | None = None
    ) -> list[str]:
        return [item.text for item in self.suggest_items(prefix, limit, visible_on=visible_on)]

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
        """Documents sharing this one's most telling terms (weighted frequency times idf);
        with `visible_on`, none published after that date."""
        if limit <= 0:
            return []
        with self._cursor() as cursor:
            cursor.execute(
                """
                SELECT t.lexeme, sum(CASE w WHEN 'A' THEN 4 WHEN 'B' THEN 2 WHEN 'C' THEN 2
                                       ELSE 1 END) AS tf
                FROM search_entry e, unnest(e.vector) AS t, unnest(t.weights) AS w
                WHERE e.article_id = %s GROUP BY t.lexeme ORDER BY tf DESC, t.lexeme LIMIT 30
                """,
                [article_id],
            )
            terms = cursor.fetchall()
            if not terms:
                return []
            # Document frequencies, each capped so a word in every article costs little.
            cursor.execute(
                """
                SELECT t.lexeme, (SELECT count(*) FROM (SELECT 1 FROM search_entry e
                    WHERE e.vector @@ t.q LIMIT 1000) c)
                FROM unnest(%s::text[], %s::tsquery[]) AS t(lexeme, q)
                """,
                [[t for t, _ in terms], [quote(t) for t, _ in terms]],
            )
            frequency = dict(cursor.fetchall())
            cursor.execute("SELECT count(*) FROM search_entry")
            total = cursor.fetchone()[0] or 1
            scored = sorted(
                terms,
                key=lambda item: -item[1] * (math.log(total / (frequency[item[0]] + 1)) + 1),
            )
            tsquery = " | ".join(quote(t) for t, _ in scored[:MORE_LIKE_TERMS])
            cursor.execute(
                f"""
                SELECT article_id FROM search_entry
                WHERE vector @@ %(q)s::tsquery AND article_id <> %(id)s
                    AND (%(visible_on)s::date IS NULL OR published_on <= %(visible_on)s)
                ORDER BY ts_rank('{RANK_WEIGHTS}', vector, %(q)s::tsquery) DESC,
                    published_on DESC, article_id
                LIMIT %(limit)s
                """,
                {"q": tsquery, "id": article_id, "limit": limit, "visible_on": visible_on},
            )
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


class _Search:
    """One results page: which articles (relaxing a question by steps), then the total
    and facets in one query, the page in another."""

    def __init__(
        self,
        backend: PostgresBackend,
        request: SearchQuery,
        parsed: ParsedQuery,
        compiled: CompiledQuery,
    ) -> None:
        self.backend = backend
        self.request = request
        self.parsed = parsed
        self.compiled = compiled
        self.per_page = min(max(int(request.per_page or 20), 1), MAX_PER_PAGE)
        self.ordering = request.ordering if request.ordering in ORDERINGS else "relevance"
        self.units = compiled.countable_units()
        self.relaxed = False  # set by `_matching`: not every meaningful unit is required

    def _base(self, compiled: CompiledQuery) -> tuple[list[str], dict]:
        """Conditions in force in every mode: quoted units, exclusions, filters."""
        request = self.request
        clauses = ["TRUE"]
        params: dict = {}
        if compiled.must_units():
            params["must"] = to_tsquery_text(compiled.must_units())
            clauses.append("e.vector @@ %(must)s::tsquery")
        if compiled.excluded:
            params["x"] = to_tsquery_text(compiled.excluded, " | ")
            clauses.append("NOT (e.vector @@ %(x)s::tsquery)")
        for name in ("diseases", "therapies", "tags"):
            values = [str(v) for v in getattr(request, name)]
            if values:
                params[name] = values
                clauses.append(f"e.{name} @> %({name})s::text[]")
        if request.year is not None:
            params["year"] = int(request.year)
            clauses.append("e.year = %(year)s")
        visible_on = getattr(request, "visible_on", None)
        if visible_on is not None:  # scheduled articles stay hidden until their date
            params["visible_on"] = visible_on
            clauses.append("e.published_on <= %(visible_on)s")
        return clauses, params

    def _strict_total(self, cursor, compiled: CompiledQuery) -> int:
        """How many articles match every meaningful unit of `compiled` (with filters)."""
        clauses, params = self._base(compiled)
        if compiled.countable_units():
            params["all"] = to_tsquery_text(compiled.countable_units())
            clauses.append("e.vector @@ %(all)s::tsquery")
        cursor.execute(f"SELECT count(*) FROM search_entry e WHERE {' AND '.join(clauses)}", params)
        return cursor.fetchone()[0]

    def _matching(self, cursor) -> tuple[str, dict, int | None, list[str]]:
        """The WHERE clause and parameters of the articles to list, the fewest units a
        listed article matches when not every unit was required (else None), and the
        meaningful words no candidate contains.

        As the Whoosh backend: every meaningful unit is required when that finds
        `FEW_RESULTS` or more; otherwise one fewer, step by step (`relaxation_steps`).
        """
        clauses, params = self._base(self.compiled)
        units = self.units
        if not units:
            return " AND ".join(clauses), params, None, []
        base = " AND ".join(clauses)
        params["units"] = [unit_tsquery(u) for u in units]
        params["all"] = to_tsquery_text(units)
        params["any"] = to_tsquery_text(units, " | ")
        cursor.execute(
            "SELECT t.i, EXISTS (SELECT 1 FROM search_entry e "
            f"WHERE {base} AND e.vector @@ t.q) "
            "FROM unnest(%(units)s::tsquery[]) WITH ORDINALITY AS t(q, i) ORDER BY t.i",
            params,
        )
        not_found = [
            word
            for (_i, found), unit in zip(cursor.fetchall(), units, strict=True)
            if not found and not unit.stop
            for word in unit.source
        ]
        not_found = list(dict.fromkeys(not_found))
        strict = f"{base} AND e.vector @@ %(all)s::tsquery"
        steps = relaxation_steps(len(units), has_must=bool(self.compiled.must_units()))
        if len(steps) == 1 or not self.request.relax:
            return strict, params, None, not_found
        matched = "" if steps[-1] == 0 else " AND e.vector @@ %(any)s::tsquery"
        cursor.execute(
            f"SELECT {_COVERAGE} AS c, count(*) FROM search_entry e "
            f"WHERE {base}{matched} GROUP BY c",
            params,
        )
        histogram = dict(cursor.fetchall())
        if histogram.get(len(units), 0) >= FEW_RESULTS:
            return strict, params, None, not_found
        for least in steps:
            count = sum(n for covered, n in histogram.items() if covered >= least)
            if count >= FEW_RESULTS or least == steps[-1]:
                break
        params["least"] = least
        self.relaxed = True
        fewest = min((c for c in histogram if c >= least), default=len(units))
        return f"{base}{matched} AND {_COVERAGE} >= %(least)s", params, fewest, not_found

    def page(self) -> SearchPage:
        with self.backend._cursor() as cursor:
            where, params, fewest, not_found = self._matching(cursor)
            cursor.execute(
                f"""
                WITH m AS MATERIALIZED (
                    SELECT diseases, therapies, tags, year FROM search_entry e WHERE {where}
                )
                SELECT 'total', '', count(*) FROM m
                UNION ALL SELECT 'disease', v, count(*) FROM m, unnest(m.diseases) v GROUP BY v
                UNION ALL SELECT 'therapy', v, count(*) FROM m, unnest(m.therapies) v GROUP BY v
                UNION ALL SELECT 'tag', v, count(*) FROM m, unnest(m.tags) v GROUP BY v
                UNION ALL SELECT 'year', year::text, count(*) FROM m GROUP BY year
                """,
                params,
            )
            facets: dict[str, list[FacetCount]] = {facet: [] for facet in FACETS}
            total = 0
            for facet, value, count in cursor.fetchall():
                if facet == "total":
                    total = count
                else:
                    facets[facet].append(FacetCount(value, count))
            if not total and self.compiled.required:
                corrected = self._corrected_search(cursor)
                if corrected is not None:
                    return corrected
            for counts in facets.values():
                counts.sort(key=lambda c: (-c.count, c.value))
            num_pages = max(1, math.ceil(total / self.per_page))
            page_number = min(max(int(self.request.page or 1), 1), num_pages)
            offset = (page_number - 1) * self.per_page
            rows = self._rows(cursor, where, params, offset) if total else []
            unmatched = self._unmatched(cursor)
            suggestion = self._suggestion(cursor, unmatched)
        terms, phrases = self.compiled.highlight_terms()
        groups = self.compiled.highlight_groups()
        wanted = terms | {token for phrase in phrases for token in phrase}
        if wanted:
            words = set()
            for _id, _slug, _score, summary, body in rows:
                words |= candidates(summary, body, wanted)
            self.backend._lexize(words)
        analyse = self.backend.analyse

        def normalise(word: str) -> str:
            lexemes = analyse(word)
            return lexemes[0] if len(lexemes) == 1 else ""

        hits = [
            Hit(
                id=article_id,
                slug=slug,
                score=round(float(score), 4),
                highlight=highlight(
                    summary, body, terms, normalise, phrases=phrases, groups=groups
                ),
            )
            for article_id, slug, score, summary, body in rows
        ]
        return SearchPage(
            hits=hits,
            total=total,
            page=page_number,
            num_pages=num_pages,
            facets=facets,
            suggestion=suggestion,
            unmatched_terms=unmatched,
            match="most" if fewest is not None and fewest < len(self.units) else "all",
            not_found=not_found,
            expanded=self.compiled.expanded(),
            shortened=self.parsed.shortened,
        )

    def _rows(self, cursor, where: str, params: dict, offset: int) -> list[tuple]:
        """The page's rows. Relevance is `ts_rank` of any scored unit (stopwords left
        out), after the number of units matched when not every unit was required."""
        newest = 'e.published_on DESC, e.title_sort COLLATE "C", e.article_id'
        params = {**params, "limit": self.per_page, "offset": offset}
        if self.ordering == "relevance" and self.compiled.required:
            scored = [u for u in self.compiled.required if not u.stop]
            scored = scored or list(self.compiled.required)
            params["q"] = to_tsquery_text(scored, " | ")
            score = f"ts_rank('{RANK_WEIGHTS}', e.vector, %(q)s::tsquery)"
            order = f"{score} DESC, {newest}"
            if self.relaxed:
                order = f"{_COVERAGE} DESC, {order}"
        else:
            score = "0.0"
            order = {
                "title": 'e.title_sort COLLATE "C", e.published_on DESC, e.article_id',
                "published_on": 'e.published_on, e.title_sort COLLATE "C", e.article_id',
            }.get(self.ordering, newest)
        cursor.execute(
            f"""
            SELECT p.article_id, e.slug, p.score, e.summary, e.body
            FROM (
                SELECT e.article_id, {score} AS score, row_number() OVER (ORDER BY {order}) AS n
                FROM search_entry e WHERE {where}
                ORDER BY n LIMIT %(limit)s OFFSET %(offset)s
            ) p JOIN search_entry e USING (article_id)
            ORDER BY p.n
            """,
            params,
        )
        return cursor.fetchall()

    def _unmatched(self, cursor) -> list[str]:
        """The reader's words of every unit that matches no document at all."""
        units = self.compiled.required
        if not units:
            return []
        cursor.execute(
            "SELECT t.i, EXISTS (SELECT 1 FROM search_entry e WHERE e.vector @@ t.q) "
            "FROM unnest(%s::tsquery[]) WITH ORDINALITY AS t(q, i) ORDER BY t.i",
            [[unit_tsquery(u) for u in units]],
        )
        unmatched: list[str] = []
        for (_i, found), unit in zip(cursor.fetchall(), units, strict=True):
            if not found:
                unmatched.extend(unit.source)
        return list(dict.fromkeys(unmatched))

    def _corrected_search(self, cursor) -> SearchPage | None:
        """The page for the corrected query, when the reader's own query found nothing."""
        replace = self._corrections(cursor)
        if not replace:
            return None
        parsed = parse_query(self.parsed.render(replace))
        compiled = self.backend._compile(parsed, self.request.synonyms or ())
        if not self._strict_total(cursor, compiled):
            return None
        page = _Search(self.backend, self.request, parsed, compiled).page()
        return dataclasses.replace(
            page, corrected=parsed.render(), suggestion=None, shortened=self.parsed.shortened
        )

    def _suggestion(self, cursor, unmatched: list[str]) -> str | None:
        """A corrected query that finds more articles (matching all its words), or None.

        Only words the library does not know are corrected (`correctable`), so a word
        any article, title or taxonomy name uses is never changed.
        """
        if not unmatched:
            return None
        replace = self._corrections(cursor)
        if not replace:
            return None
        suggestion = self.parsed.render(replace)
        if suggestion.casefold() == self.parsed.render().casefold():
            return None
        compiled = self.backend._compile(parse_query(suggestion), self.request.synonyms or ())
        original = self._strict_total(cursor, self.compiled)
        if not suggestion_helps(original, self._strict_total(cursor, compiled)):
            return None
        return suggestion

    def _corrections(self, cursor) -> dict[str, str]:
        """Reader's word (casefolded) → the likeliest spelling from the library's words."""
        analyse = self.backend.analyse

        def known(word: str) -> bool:
            folded = "".join(unstemmed(word))
            lexemes = analyse(word.casefold())
            if not folded or not lexemes:
                return True
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM search_entry WHERE vector @@ %s::tsquery) "
                "OR EXISTS (SELECT 1 FROM search_word WHERE word = %s)",
                [" & ".join(quote(t) for t in lexemes), folded],
            )
            return bool(cursor.fetchone()[0])

        plain = [
            word
            for group in self.parsed.required
            for clause in group
            if not clause.quoted
            for word in clause.words
        ]
        replace: dict[str, str] = {}
        for word in dict.fromkeys(plain):
            if not correctable(word, known):
                continue
            folded = "".join(unstemmed(word))
            best = self._correct(cursor, folded, correction_distance(folded))
            if best is not None and acceptable_correction(folded, best):
                replace[word.casefold()] = best
        return replace

    def _correct(self, cursor, word: str, max_distance: int) -> str | None:
        """The most frequent library word within edit distance 1, else up to
        `max_distance`, starting with the same letter (as the Whoosh backend)."""
        cursor.execute(
            _CORRECTION,
            {"word": word, "first": _like_escape(word[:1]) + "%", "most": max_distance},
        )
        found = cursor.fetchall()
        for distance in range(1, max_distance + 1):
            near = [
                (frequency, candidate)
                for candidate, at, frequency in found
                if at <= distance and acceptable_correction(word, candidate)
            ]
            if near:
                return max(near, key=lambda fc: (fc[0], [-ord(ch) for ch in fc[1]]))[1]
        return None


# How many of the meaningful units (`%(units)s`) an entry matches.
_COVERAGE = "(SELECT count(*) FROM unnest(%(units)s::tsquery[]) AS u(q) WHERE e.vector @@ u.q)"

# Library words within `most` edits starting with the same letter, with how many
# titles and taxonomy names use each (the Whoosh backend's `spell` frequency).
_CORRECTION = """
SELECT c.word, c.distance, f.frequency FROM (
    SELECT w.word, levenshtein_less_equal(w.word, %(word)s, %(most)s) AS distance
    FROM search_word w WHERE w.word LIKE %(first)s AND w.word <> %(word)s
) c
CROSS JOIN LATERAL (
    SELECT (SELECT count(*) FROM search_entry e WHERE e.spelling @> ARRAY[c.word])
         + (SELECT count(*) FROM search_phrase p WHERE p.spelling @> ARRAY[c.word]) AS frequency
) f
WHERE c.distance <= %(most)s AND f.frequency > 0
"""
