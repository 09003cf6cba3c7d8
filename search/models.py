"""What the index sync must remember between processes and runs.

Kept to small tables: the articles whose last index update failed (so the failure
is repaired by `update_index` or `check_index --fix`, and shown in the admin), and the
time of the last successful `update_index` or `rebuild_index`; and the aggregated
search terms editors use to keep synonyms (`SearchTerm`); and what editors teach search
about readers' questions (issue 19): `Intent`, what a reader wants to know (safety, cost,
"is it right for me") and which tags and section headings answer it, and `EditorsPick`,
an article an editor pins to the top of a query's results. Both keep their history, and
the search reads them through `search.vocabulary.current_vocabulary()`.

The PostgreSQL backend's own tables (`search_entry` and the rest) have no models: only
`search.backends.postgres` reads or writes them, in SQL that Django's expressions cannot
say (an upsert of whole chunks from arrays, per-unit tsqueries); migration 0003 creates
them on PostgreSQL only, and 0004 dropped an unused, partial model of `search_entry`.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Exists, OuterRef
from django.utils import timezone
from simple_history.models import HistoricalRecords

from library.models import Article
from search.backends.query import parse_query


class PendingIndexUpdate(models.Model):
    """An article whose index update failed after its transaction committed.

    `article_id` is not a foreign key: the failed update may be the removal of an
    article that no longer exists.
    """

    # The index the update failed for (`SearchBackend.identity`): with Whoosh each web
    # machine has its own index, so one machine's failure is not another's to retry.
    index = models.CharField(max_length=200, default="default")
    article_id = models.BigIntegerField()
    failed_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["failed_at"]
        constraints = [
            models.UniqueConstraint(fields=["index", "article_id"], name="search_pending_per_index")
        ]

    def __str__(self) -> str:
        return f"article {self.article_id} (failed {self.failed_at:%Y-%m-%d %H:%M})"


class IndexState(models.Model):
    """A single row: when the index was last brought up to date by a command."""

    last_update_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"index updated {self.last_update_at or 'never'}"


# --- What readers search for (issue 10) -------------------------------------------

MAX_TERM_LENGTH = 200


def normalise_query(text: str) -> str:
    """The form searches are aggregated under: case-folded, spaces collapsed, cut."""
    return " ".join((text or "").casefold().split())[:MAX_TERM_LENGTH]


class SearchTermQuerySet(models.QuerySet):
    def record(self, text: str, results: int) -> None:
        """Count one search for `text` that found `results` articles: one UPSERT.

        `INSERT … ON CONFLICT DO UPDATE` exists in SQLite (3.24+) and PostgreSQL; the
        increment happens in the database, so concurrent searches never lose a count.
        """
        query = normalise_query(text)
        if not query:
            return
        connection = connections[self.db]
        table = connection.ops.quote_name(self.model._meta.db_table)
        now = timezone.now()
        sql = (
            f"INSERT INTO {table} (query, count, zero_result_count, last_results, last_seen) "
            "VALUES (%s, 1, %s, %s, %s) ON CONFLICT (query) DO UPDATE SET "
            f"count = {table}.count + 1, "
            f"zero_result_count = {table}.zero_result_count + excluded.zero_result_count, "
            "last_results = excluded.last_results, last_seen = excluded.last_seen"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [query, int(results == 0), results, now])

    def older_than(self, days: int) -> SearchTermQuerySet:
        return self.filter(last_seen__lt=timezone.now() - datetime.timedelta(days=days))


class SearchTerm(models.Model):
    """How often readers searched for one normalised query, and whether it found anything.

    Aggregates only: no IP address, user, session or time of each search is stored
    (health searches are sensitive). Rows not seen for `SEARCH_TERMS_RETENTION_DAYS`
    are deleted by `prune_search_terms`.
    """

    query = models.CharField(max_length=MAX_TERM_LENGTH, unique=True)
    count = models.PositiveIntegerField(default=0, db_index=True)
    zero_result_count = models.PositiveIntegerField(
        default=0, help_text="How many of those searches found nothing."
    )
    last_results = models.PositiveIntegerField(default=0, help_text="Articles found the last time.")
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    objects = SearchTermQuerySet.as_manager()

    class Meta:
        ordering = ["-count", "query"]

    def __str__(self) -> str:
        return self.query


# --- What editors teach search about readers' questions (issue 19) -----------------

_PHRASE_SEPARATORS = re.compile(r"[,\n]")


def split_phrases(text: str) -> list[str]:
    """Comma-separated (or one per line) phrases: spaces collapsed, empty ones and
    repeats (ignoring case) dropped, in the editor's order."""
    phrases: dict[str, str] = {}
    for part in _PHRASE_SEPARATORS.split(text or ""):
        phrase = " ".join(part.split())
        if phrase:
            phrases.setdefault(phrase.casefold(), phrase)
    return list(phrases.values())


def has_meaningful_word(text: str) -> bool:
    """Whether a search for `text` would require any word: not only stopwords ("is it")."""
    return any(not clause.stop for group in parse_query(text).required for clause in group)


class SlugKeyManager(models.Manager):
    def get_by_natural_key(self, slug: str):
        return self.get(slug=slug)


# Kept by name so the admin can record one revision per save, after the tags are saved.
INTENT_HISTORY = HistoricalRecords(m2m_fields=["tags"])
PICK_HISTORY = HistoricalRecords()

PHRASES_NEEDED = (
    "Give at least one word or phrase readers use for this, separated by commas "
    "(for example “safe, side effects, risks”)."
)


class Intent(models.Model):
    """What a reader wants to know: "is it safe?", "what does it cost?", "is it for me?".

    A question containing one of `phrases` has this intent; an article tagged with one
    of `tags`, or with a section whose heading contains one of `headings`, answers it
    and ranks higher for it. Editors keep the list in the admin, as they keep aliases;
    only active intents are used.
    """

    slug = models.SlugField(unique=True)
    label = models.CharField(
        max_length=100,
        help_text="How the results page names it: “Showing articles about Lupus and "
        "safety and side effects”.",
    )
    phrases = models.TextField(
        help_text="Comma-separated words and phrases readers use for it, e.g. “safe, "
        "safety, side effects, risks, dangerous”. Case does not matter; plurals and other "
        "word forms match as in search.",
        error_messages={"blank": PHRASES_NEEDED},
    )
    headings = models.TextField(
        blank=True,
        help_text="Comma-separated words of section headings that answer it, e.g. “risks, "
        "side effects, safe”: an article with such a section ranks higher.",
    )
    tags = models.ManyToManyField(
        "library.Tag",
        blank=True,
        related_name="intents",
        help_text="Articles with any of these tags answer it and rank higher.",
    )
    active = models.BooleanField(
        default=True, help_text="Untick to stop using it without losing it."
    )

    objects = SlugKeyManager()
    history = INTENT_HISTORY

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    @property
    def phrase_list(self) -> list[str]:
        return split_phrases(self.phrases)

    @property
    def heading_list(self) -> list[str]:
        return split_phrases(self.headings)

    def clean(self) -> None:
        given = bool(self.phrases)  # an empty field is refused by the field itself
        self.label = " ".join((self.label or "").split())
        self.phrases = ", ".join(self.phrase_list)
        self.headings = ", ".join(self.heading_list)
        if given and not self.phrases:
            raise ValidationError({"phrases": PHRASES_NEEDED})


class EditorsPickQuerySet(models.QuerySet):
    def visible(self) -> EditorsPickQuerySet:
        """Picks whose article readers see today (`ArticleQuerySet.published()`).

        Each pick's article is looked up by key (a correlated EXISTS): an `article IN
        (every published id)` subquery makes SQLite walk every published article on
        every search, even when there is no pick."""
        return self.filter(self._article_published())

    def waiting(self) -> EditorsPickQuerySet:
        """Picks whose article readers cannot see: a draft, or scheduled for later."""
        return self.exclude(self._article_published())

    @staticmethod
    def _article_published() -> Exists:
        return Exists(Article.objects.published().filter(pk=OuterRef("article_id")))


class EditorsPickManager(models.Manager.from_queryset(EditorsPickQuerySet)):
    def get_by_natural_key(self, query: str, article_slug: str) -> EditorsPick:
        return self.get(query=query, article__slug=article_slug)


class EditorsPick(models.Model):
    """An article an editor pins to the top of a query's results, labelled "Editor's pick".

    The pin matches the query's analysed form (case, plurals, word order, stopwords and
    a disease's aliases do not matter), not the exact string. Only a published article
    is shown; a pin whose article is unpublished waits, listed in the admin's report.
    """

    query = models.CharField(
        max_length=200,
        help_text="The search it answers, e.g. “stem cells for MS”. It also matches the "
        "same words in another order, plural or singular, or with a disease’s alias.",
    )
    article = models.ForeignKey(
        "library.Article", on_delete=models.CASCADE, related_name="editors_picks"
    )
    order = models.PositiveSmallIntegerField(
        default=0, help_text="Several picks for one query are shown lowest first."
    )
    note = models.CharField(
        max_length=200, blank=True, help_text="Why it was pinned (editors only)."
    )
    # Not auto_now: fixture (raw) saves skip it (see `Article`).
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = EditorsPickManager()
    history = PICK_HISTORY

    class Meta:
        verbose_name = "editor's pick"
        verbose_name_plural = "editors' picks"
        ordering = ["query", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["query", "article"],
                name="search_pick_once_per_query",
                violation_error_message="This article is already pinned to this query.",
            )
        ]

    def __str__(self) -> str:
        title = self.article.title if self.article_id else "?"
        return f"“{self.query}” → {title}"

    def save(self, *args, **kwargs) -> None:
        self.updated_at = timezone.now()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "updated_at"}
        super().save(*args, **kwargs)

    def natural_key(self) -> tuple[str, str]:
        return (self.query, self.article.slug)

    natural_key.dependencies = ["library.article"]

    def clean(self) -> None:
        self.query = " ".join((self.query or "").split())
        self.note = (self.note or "").strip()
        if self.query and not has_meaningful_word(self.query):
            raise ValidationError(
                {
                    "query": f"“{self.query}” has no word a search could match, only common "
                    "words such as “is”, “the” or “for”. Add the words that say what the "
                    "reader is looking for."
                }
            )
