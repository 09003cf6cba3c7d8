"""The baselines every site figure is compared with, built from the same articles.

- `NaiveWhoosh`: Whoosh used the way its tutorial shows, without the site's code: one
  schema with stored title/summary/body (English stemming), a plain single writer
  (`ix.writer()`, default memory and one process), a new searcher per request, a
  `MultifieldParser` over title/summary/body, `groupedby` facets on disease, therapy,
  tag and year, and `hit.highlights()` on the top 20.
- `Fts5`: SQLite FTS5 with the porter tokenizer and diacritics folding, bm25 with the
  same title > summary > body weights, `snippet()` for highlights and facet counts by
  a GROUP BY over the matching ids.
- `PlainPostgres`: PostgreSQL full-text search as its manual shows it, on the
  PostgreSQL run's own database: a stored weighted `tsvector` (title A, summary B,
  body D, the `english` configuration) with a GIN index, `websearch_to_tsquery`,
  `ts_rank` ordered with LIMIT 20, `ts_headline` on those 20 hits, the total, and
  facet counts by `unnest` over the matching rows' slug arrays.
- `icontains_search`: what the Django admin's search box does: every word of the query
  must occur (`icontains`) in the title, summary or body.

Run inside a Django process (the worker), after `django.setup()`.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal

from library.models import Article
from library.rendering import markdown_to_text
from search.backends.base import FACETS


@dataclass
class Row:
    """One published article as the baselines index it."""

    id: int
    title: str
    summary: str
    body: str  # Markdown stripped, like the site's documents
    diseases: list[str]
    therapies: list[str]
    tags: list[str]
    year: str


def iter_rows(chunk: int = 500):
    """Every published article, with its taxonomy slugs, in id order."""
    queryset = (
        Article.objects.published()
        .order_by("pk")
        .only("id", "title", "summary", "body", "published_on")
        .prefetch_related("diseases", "therapies", "tags")
    )
    last = 0
    while True:
        articles = list(queryset.filter(pk__gt=last)[:chunk])
        if not articles:
            return
        for article in articles:
            yield Row(
                id=article.pk,
                title=article.title,
                summary=article.summary,
                body=markdown_to_text(article.body),
                diseases=[d.slug for d in article.diseases.all()],
                therapies=[t.slug for t in article.therapies.all()],
                tags=[t.slug for t in article.tags.all()],
                year=str(article.published_on.year),
            )
        last = articles[-1].pk


# --- Naive Whoosh ----------------------------------------------------------------


class NaiveWhoosh:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def schema(self):
        from whoosh.analysis import StemmingAnalyzer
        from whoosh.fields import ID, KEYWORD, TEXT, Schema

        return Schema(
            id=ID(stored=True, unique=True),
            title=TEXT(analyzer=StemmingAnalyzer(), stored=True),
            summary=TEXT(analyzer=StemmingAnalyzer(), stored=True),
            body=TEXT(analyzer=StemmingAnalyzer(), stored=True),
            disease=KEYWORD(commas=True),
            therapy=KEYWORD(commas=True),
            tag=KEYWORD(commas=True),
            year=ID(),
        )

    def build(self) -> int:
        """A plain single-writer build; returns the number of documents."""
        from whoosh import index

        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        ix = index.create_in(str(self.path), self.schema())
        writer = ix.writer()
        count = 0
        for row in iter_rows():
            writer.add_document(
                id=str(row.id),
                title=row.title,
                summary=row.summary,
                body=row.body,
                disease=",".join(row.diseases),
                therapy=",".join(row.therapies),
                tag=",".join(row.tags),
                year=row.year,
            )
            count += 1
        writer.commit()
        return count

    def open(self) -> None:
        from whoosh import index
        from whoosh.qparser import MultifieldParser

        self.ix = index.open_dir(str(self.path))
        self.parser = MultifieldParser(["title", "summary", "body"], self.ix.schema)

    def search(self, text: str, *, facets: bool = True) -> dict:
        """One results page as a naive view would compute it: a new searcher per request."""
        from whoosh import sorting

        query = self.parser.parse(text)
        with self.ix.searcher() as searcher:
            if not facets:
                results = searcher.search(query, limit=20)
                return {"ids": [hit["id"] for hit in results], "total": None}
            groupedby = {name: sorting.FieldFacet(name, allow_overlap=True) for name in FACETS}
            results = searcher.search(query, limit=20, groupedby=groupedby)
            page = [(hit["id"], hit.highlights("body")) for hit in results[:20]]
            counts = {name: {k: len(v) for k, v in results.groups(name).items()} for name in FACETS}
            return {"ids": [pk for pk, _ in page], "total": len(results), "facets": counts}


def facet_rows():
    """(article id, facet, value) for every published article's taxonomy and year."""
    published = Article.objects.published()
    for kind, relation in (("disease", "diseases"), ("therapy", "therapies"), ("tag", "tags")):
        through = getattr(Article, relation).through.objects.filter(article__in=published)
        column = f"{kind}__slug"
        yield from ((pk, kind, slug) for pk, slug in through.values_list("article_id", column))
    for pk, day in published.values_list("pk", "published_on"):
        yield pk, "year", str(day.year)


# --- SQLite FTS5 ---------------------------------------------------------------------

_TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def fts5_query(text: str) -> str | None:
    """The reader's query language in FTS5 syntax: words and "phrases" (all required),
    OR between two of them, -word to exclude. None when nothing positive is left."""
    positives: list[str] = []
    negatives: list[str] = []
    pending_or = False
    for match in _TOKEN_RE.finditer(text):
        negate, phrase, word = match.group(1), match.group(2), match.group(3)
        if word == "OR":
            pending_or = bool(positives)
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            negate, word = "-", word[1:]
        term = (phrase if phrase is not None else word).replace('"', "").strip()
        if not re.search(r"\w", term):
            continue
        quoted = f'"{term}"'
        if negate:
            negatives.append(quoted)
        elif pending_or:
            positives[-1] = f"({positives[-1]} OR {quoted})"
            pending_or = False
        else:
            positives.append(quoted)
    if not positives:
        return None
    expression = " AND ".join(positives)
    for negative in negatives:
        expression = f"({expression}) NOT {negative}"
    return expression


class Fts5:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def build(self, text_index: Path) -> int:
        """Build from the plain text stored in the naive Whoosh index at `text_index`
        (Markdown already stripped: the build measures FTS5, not Markdown rendering)
        and the taxonomy links in the database."""
        from whoosh import index

        self.path.unlink(missing_ok=True)
        db = sqlite3.connect(self.path)
        db.executescript(
            """
            CREATE VIRTUAL TABLE docs USING fts5(
                title, summary, body, tokenize='porter unicode61 remove_diacritics 2'
            );
            CREATE TABLE facet (article_id INTEGER, kind TEXT, value TEXT);
            """
        )
        ix = index.open_dir(str(text_index))
        count = 0
        with ix.reader() as reader:
            for _docnum, stored in reader.iter_docs():
                db.execute(
                    "INSERT INTO docs (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
                    (int(stored["id"]), stored["title"], stored["summary"], stored["body"]),
                )
                count += 1
        ix.close()
        db.executemany("INSERT INTO facet VALUES (?, ?, ?)", facet_rows())
        db.execute("CREATE INDEX facet_article ON facet (article_id)")
        db.commit()
        db.close()
        return count

    def open(self) -> None:
        self.db = sqlite3.connect(self.path)

    def search(self, text: str) -> dict:
        expression = fts5_query(text)
        if expression is None:
            return {"ids": [], "total": 0, "facets": {}}
        db = self.db
        try:
            page = db.execute(
                "SELECT rowid, snippet(docs, 2, '<mark>', '</mark>', '…', 24) FROM docs "
                "WHERE docs MATCH ? ORDER BY bm25(docs, 10.0, 5.0, 1.0) LIMIT 20",
                (expression,),
            ).fetchall()
            total = db.execute(
                "SELECT count(*) FROM docs WHERE docs MATCH ?", (expression,)
            ).fetchone()[0]
            facets: dict[str, dict[str, int]] = {}
            for kind, value, count in db.execute(
                "SELECT kind, value, count(*) FROM facet WHERE article_id IN "
                "(SELECT rowid FROM docs WHERE docs MATCH ?) GROUP BY kind, value",
                (expression,),
            ):
                facets.setdefault(kind, {})[value] = count
        except sqlite3.OperationalError as exc:  # a query FTS5 cannot parse
            return {"ids": [], "total": 0, "facets": {}, "error": str(exc)}
        return {"ids": [row[0] for row in page], "total": total, "facets": facets}


# --- Plain PostgreSQL full-text search ---------------------------------------------


class PlainPostgres:
    """The plain PostgreSQL query on the Django database (a PostgreSQL one)."""

    TABLE = "bench_plain_fts"

    def build(self) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.TABLE}")
            cursor.execute(
                f"""
                CREATE TABLE {self.TABLE} (
                    id bigint PRIMARY KEY, title text, summary text, body text,
                    diseases text[], therapies text[], tags text[], year text,
                    vector tsvector GENERATED ALWAYS AS (
                        setweight(to_tsvector('english', title), 'A')
                        || setweight(to_tsvector('english', summary), 'B')
                        || setweight(to_tsvector('english', body), 'D')
                    ) STORED
                )
                """
            )
            count = 0
            batch: list[tuple] = []
            for row in iter_rows():
                batch.append(
                    (row.id, row.title, row.summary, row.body, row.diseases, row.therapies,
                     row.tags, row.year)
                )  # fmt: skip
                if len(batch) == 500:
                    count += self._insert(cursor, batch)
                    batch = []
            count += self._insert(cursor, batch)
            cursor.execute(f"CREATE INDEX {self.TABLE}_vector ON {self.TABLE} USING gin (vector)")
            cursor.execute(f"ANALYZE {self.TABLE}")
        return count

    def _insert(self, cursor, batch: list[tuple]) -> int:
        if batch:
            cursor.executemany(
                f"INSERT INTO {self.TABLE} (id, title, summary, body, diseases, therapies, "
                "tags, year) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                batch,
            )
        return len(batch)

    def search(self, text: str) -> dict:
        from django.db import connection

        table = self.TABLE
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT h.id, ts_headline('english', h.body, q) FROM (
                    SELECT id, body FROM {table}, websearch_to_tsquery('english', %s) q
                    WHERE vector @@ q ORDER BY ts_rank(vector, q) DESC LIMIT 20
                ) h, websearch_to_tsquery('english', %s) q
                """,
                [text, text],
            )
            page = cursor.fetchall()
            cursor.execute(
                f"""
                WITH m AS MATERIALIZED (
                    SELECT diseases, therapies, tags, year
                    FROM {table}, websearch_to_tsquery('english', %s) q WHERE vector @@ q
                )
                SELECT 'total', '', count(*) FROM m
                UNION ALL SELECT 'disease', v, count(*) FROM m, unnest(diseases) v GROUP BY v
                UNION ALL SELECT 'therapy', v, count(*) FROM m, unnest(therapies) v GROUP BY v
                UNION ALL SELECT 'tag', v, count(*) FROM m, unnest(tags) v GROUP BY v
                UNION ALL SELECT 'year', year, count(*) FROM m GROUP BY year
                """,
                [text],
            )
            total, facets = 0, {}
            for kind, value, count in cursor.fetchall():
                if kind == "total":
                    total = count
                else:
                    facets.setdefault(kind, {})[value] = count
        return {"ids": [row[0] for row in page], "total": total, "facets": facets}


# --- icontains (the admin's search box) ------------------------------------------


def icontains_search(text: str) -> dict:
    """Django admin's `search_fields = ["title", "summary", "body"]`: each word must
    occur in one of the fields (quoted phrases stay together); count and first page."""
    queryset = Article.objects.published()
    for bit in smart_split(text):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1] and len(bit) > 1:
            bit = unescape_string_literal(bit)
        queryset = queryset.filter(
            Q(title__icontains=bit) | Q(summary__icontains=bit) | Q(body__icontains=bit)
        )
    ids = list(queryset.order_by("-published_on").values_list("pk", flat=True)[:20])
    return {"ids": ids, "total": queryset.count()}


def timed(func, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - started, result
