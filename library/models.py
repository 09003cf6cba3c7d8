"""The content of the library: articles and the diseases, therapies and tags they cover.

Every model has a natural key (its slug), so fixtures never carry database ids and
loading the same fixture twice updates rows instead of duplicating them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Count, Q
from django.db.models.functions import ExtractYear, TruncDate
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from library.signals import articles_bulk_changed
from library.validators import validate_url_fields, validate_url_values, validate_web_url

# While a fixture loads, each article names its diseases, therapies and tags by slug:
# remember the rows found so that a thousand articles do not cost a thousand lookups
# of the same dozen slugs. Set only by `loaddata` (see `remembering_natural_keys`).
_natural_key_cache: ContextVar[dict | None] = ContextVar("natural_key_cache", default=None)


@contextmanager
def remembering_natural_keys() -> Iterator[None]:
    token = _natural_key_cache.set({})
    try:
        yield
    finally:
        _natural_key_cache.reset(token)


class SlugManager(models.Manager):
    """Resolves natural keys (slugs) for fixtures and `dumpdata --natural-*`."""

    def get_by_natural_key(self, slug: str):
        cache = _natural_key_cache.get()
        if cache is None:
            return self.get(slug=slug)
        key = (self.model, self.db, slug)
        if key not in cache:
            cache[key] = self.get(slug=slug)
        return cache[key]


def split_aliases(text: str) -> list[str]:
    """One alias per line; blank lines and surrounding spaces are ignored."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def detail_url(viewname: str, slug: str) -> str:
    """`reverse(viewname, args=[slug])`, remembered: a results page links each of its
    twenty articles and their topics (about eighty links, each a full `reverse()`), and
    URL patterns do not change while the process runs. The URL configuration and the
    script prefix are part of the key, so a site mounted under a path stays right."""
    return _detail_url(viewname, slug, settings.ROOT_URLCONF, get_urlconf(), get_script_prefix())


@lru_cache(maxsize=50_000)
def _detail_url(viewname: str, slug: str, *_key: object) -> str:
    return reverse(viewname, args=[slug])


class TaxonomyQuerySet(models.QuerySet):
    def with_article_counts(self) -> TaxonomyQuerySet:
        """Annotate `article_count` (published articles) without a query per row.

        "Published" is whatever `Article.objects.published()` says, so these counts stay
        equal to the term pages' totals if that definition changes.
        """
        published = Article.objects.published().values("pk")
        return self.annotate(article_count=Count("articles", filter=Q(articles__in=published)))

    def counted_among(self, articles: models.QuerySet) -> TaxonomyQuerySet:
        """Terms carried by any of `articles`, with `count`: how many of them carry each."""
        return (
            self.filter(articles__in=articles.order_by().values("pk"))
            .annotate(count=Count("articles"))
            .order_by("-count", "name")
        )


class TaxonomyTerm(models.Model):
    """Shared fields of Disease and Therapy: a named concept with aliases readers may use."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    aliases = models.TextField(
        blank=True,
        help_text=(
            "One alias per line: abbreviations, other spellings, older names "
            "(for example “MS” or “disseminated sclerosis”). Readers’ searches for an "
            "alias find this entry’s articles."
        ),
    )
    description = models.TextField(blank=True, help_text="A short, neutral description.")

    objects = SlugManager.from_queryset(TaxonomyQuerySet)()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    @property
    def alias_list(self) -> list[str]:
        return split_aliases(self.aliases)

    def clean(self) -> None:
        self.aliases = "\n".join(dict.fromkeys(split_aliases(self.aliases)))


class Disease(TaxonomyTerm):
    class Meta(TaxonomyTerm.Meta):
        pass

    def get_absolute_url(self) -> str:
        return detail_url("library:disease_detail", self.slug)


class Therapy(TaxonomyTerm):
    class Meta(TaxonomyTerm.Meta):
        verbose_name_plural = "therapies"

    def get_absolute_url(self) -> str:
        return detail_url("library:therapy_detail", self.slug)


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    objects = SlugManager.from_queryset(TaxonomyQuerySet)()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return detail_url("library:tag_detail", self.slug)

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class TagRedirectManager(models.Manager):
    """Resolves a redirect's natural key (its old slug), so a fixture loads it once."""

    def get_by_natural_key(self, old_slug: str):
        return self.get(old_slug=old_slug)


class TagRedirect(models.Model):
    """A tag merged into a disease, a therapy or another tag: its old URL redirects there.

    Kept by slug rather than by foreign key so that a fresh library (migrated before its
    content is loaded) redirects old tag URLs too; a target that no longer exists is a 404.
    A tag target is for a tag that was never a topic (a source's promotional keyword) and
    now points readers to the nearest real one.
    """

    class Target(models.TextChoices):
        DISEASE = "disease", "Disease"
        THERAPY = "therapy", "Therapy"
        TAG = "tag", "Tag"

    old_slug = models.SlugField(max_length=100, unique=True)
    target_kind = models.CharField(max_length=10, choices=Target.choices)
    target_slug = models.SlugField(max_length=200)

    objects = TagRedirectManager()

    class Meta:
        ordering = ["old_slug"]

    def __str__(self) -> str:
        return f"/tags/{self.old_slug}/ → {self.target_kind} {self.target_slug}"

    def natural_key(self) -> tuple[str]:
        return (self.old_slug,)

    def target(self) -> Disease | Therapy | Tag | None:
        model = {self.Target.DISEASE: Disease, self.Target.TAG: Tag}.get(self.target_kind, Therapy)
        return model.objects.filter(slug=self.target_slug).first()


_http_url = URLValidator(schemes=["http", "https"])


def validate_further_reading(value) -> None:
    """A list of {"name": …, "url": …} links, each name given, each URL http(s)."""
    if value in (None, ""):
        return
    if not isinstance(value, list):
        raise ValidationError('Expected a list of links like [{"name": "…", "url": "https://…"}].')
    problems = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            problems.append(f'link {number}: expected an object like {{"name": …, "url": …}}')
            continue
        unknown = sorted(set(item) - {"name", "url"})
        if unknown:
            problems.append(f"link {number}: unknown key(s) {', '.join(unknown)}")
        name, url = item.get("name"), item.get("url")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"link {number}: a name is required")
        if not isinstance(url, str) or not url.strip():
            problems.append(f"link {number}: a URL is required")
        else:
            try:
                _http_url(url)
            except ValidationError:
                problems.append(f"link {number}: “{url}” is not an http:// or https:// URL")
    if problems:
        raise ValidationError(problems)


class ArticleQuerySet(models.QuerySet):
    # Bulk writes skip `save()` and its signals: check their links here instead.
    def update(self, **kwargs) -> int:
        validate_url_values(self.model, kwargs)
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs) -> list[Article]:
        objs = list(objs)
        for obj in objs:
            validate_url_fields(obj)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs) -> int:
        objs = list(objs)
        for obj in objs:
            validate_url_fields(obj)
        return super().bulk_update(objs, fields, *args, **kwargs)

    def published(self, *, include_scheduled: bool = False) -> ArticleQuerySet:
        """What readers see: published, and dated today or earlier.

        A published article dated in the future is *scheduled*: it appears on its
        date with no re-save or job, because the date is compared at query time.
        `include_scheduled=True` is for the search index, which holds scheduled
        articles and filters them by date itself (see `SearchQuery.visible_on`).
        """
        queryset = self.filter(status=Article.Status.PUBLISHED)
        if include_scheduled:
            return queryset
        return queryset.filter(published_on__lte=timezone.localdate())

    def published_by_id(self, ids: Iterable[int]) -> dict[int, Article]:
        """`published().in_bulk(ids)`, with the keys looked up first (one query).

        The search index gives the ids of a page. With the reader filter in the same
        SQL, SQLite (which has no statistics unless ANALYZE ran) walks the whole
        (status, published_on) index instead of looking up twenty primary keys, a
        cost that grows with the library; so the rows come by key and the same filter
        is applied to them here.
        """
        return {
            pk: article
            for pk, article in self.in_bulk(list(ids)).items()
            if article.is_published and not article.is_scheduled
        }

    def scheduled(self) -> ArticleQuerySet:
        """Published but dated after today: readers will see them on their date."""
        return self.filter(status=Article.Status.PUBLISHED, published_on__gt=timezone.localdate())

    def visible_to(self, user) -> ArticleQuerySet:
        """Readers see published articles; staff may also preview drafts."""
        if user is not None and user.is_active and user.is_staff:
            return self.all()
        return self.published()

    def with_taxonomy(self) -> ArticleQuerySet:
        """Prefetch diseases, therapies and tags: three queries whatever the number of rows."""
        return self.prefetch_related(
            models.Prefetch("diseases", queryset=Disease.objects.only("name", "slug")),
            models.Prefetch("therapies", queryset=Therapy.objects.only("name", "slug")),
            models.Prefetch("tags", queryset=Tag.objects.only("name", "slug")),
        )

    def set_status(self, status: str) -> int:
        """Publish or unpublish every article here in one UPDATE; return how many changed.

        Sends `articles_bulk_changed` and records a revision of each, since
        `update()` bypasses model signals.
        """
        ids = list(self.exclude(status=status).values_list("pk", flat=True))
        if not ids:
            return 0
        rows = Article.objects.filter(pk__in=ids)
        if status == Article.Status.PUBLISHED:
            # A date never touched since the draft was created means "when published".
            today = timezone.localdate()
            rows.filter(published_on__lt=today, published_on=TruncDate("created_at")).update(
                published_on=today
            )
        rows.update(status=status, updated_at=timezone.now())
        from library.history import record_revisions  # imports this module

        label = "Published" if status == Article.Status.PUBLISHED else "Unpublished"
        record_revisions(ids, reason=f"{label} in bulk", using=self.db)
        articles_bulk_changed.send(sender=Article, article_ids=ids)
        return len(ids)

    def year_counts(self) -> list[tuple[int, int]]:
        """(year, number of articles) pairs, newest year first."""
        return list(
            self.order_by()
            .annotate(year=ExtractYear("published_on"))
            .values("year")
            .annotate(count=Count("pk"))
            .order_by("-year")
            .values_list("year", "count")
        )

    def pair_counts(self) -> dict[tuple[int, int], int]:
        """How many of these articles cover each (disease id, therapy id) pair: one query."""
        rows = (
            self.order_by()
            .filter(diseases__isnull=False, therapies__isnull=False)
            .values_list("diseases", "therapies")
            .annotate(count=Count("pk", distinct=True))
        )
        return {(disease, therapy): count for disease, therapy, count in rows}

    def for_listing(self) -> ArticleQuerySet:
        """What a list of articles shows: no bodies, and each article's diseases,
        therapies and tags as plain lists (`topic_diseases` and so on), three queries
        whatever the number of rows.

        Plain lists (`to_attr`) rather than prefetched managers: for those Django builds
        a QuerySet per article and relation, most of the cost of a page's twenty rows.
        """
        return self.defer("body").prefetch_related(
            *(
                models.Prefetch(
                    relation, queryset=model.objects.only("name", "slug"), to_attr=f"_{relation}"
                )
                for relation, model in (
                    ("diseases", Disease),
                    ("therapies", Therapy),
                    ("tags", Tag),
                )
            )
        )

    # --- Medical review (issue 10) ---

    def review_overdue(self) -> ArticleQuerySet:
        return self.filter(next_review_due__lt=timezone.localdate())

    def review_due_soon(self) -> ArticleQuerySet:
        """Due today or within `REVIEW_SOON_DAYS`, not yet overdue."""
        today = timezone.localdate()
        soon = today + datetime.timedelta(days=REVIEW_SOON_DAYS)
        return self.filter(next_review_due__gte=today, next_review_due__lte=soon)

    def never_reviewed(self) -> ArticleQuerySet:
        return self.filter(last_reviewed_on__isnull=True)


class ArticleManager(SlugManager.from_queryset(ArticleQuerySet)):
    pass


# --- Editorial: medical review and revisions (issue 10) ---

REVIEW_SOON_DAYS = 30


def review_interval() -> datetime.timedelta:
    """How long after a review the next one is due unless the editor sets a date."""
    return datetime.timedelta(days=settings.REVIEW_INTERVAL_DAYS)


# Set by `library.history.paused()`: the caller records the revisions itself.
history_paused: ContextVar[bool] = ContextVar("history_paused", default=False)


class ArticleHistory(HistoricalRecords):
    """django-simple-history, but silent while `library.history.paused()` is active.

    Fixture loads and bulk actions change many rows at once and record one revision
    per article explicitly afterwards (`library.history.record_revisions`), instead
    of one per many-to-many `set()` the deserializer makes.
    """

    def post_save(self, instance, created, using=None, **kwargs) -> None:
        if not history_paused.get():
            super().post_save(instance, created, using=using, **kwargs)

    def m2m_changed(self, instance, action, attr, pk_set, reverse, **kwargs) -> None:
        if history_paused.get():
            return
        if not reverse:
            super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)
            return
        # `disease.articles.add(article)`: the instance is the term; record the articles.
        from library.history import record_revisions  # imports this module

        if action == "pre_clear":
            instance._history_cleared = list(instance.articles.values_list("pk", flat=True))
        elif action in ("post_add", "post_remove", "post_clear"):
            ids = (
                pk_set if action != "post_clear" else instance.__dict__.pop("_history_cleared", [])
            )
            record_revisions(ids or (), reason=f"{instance._meta.verbose_name} {instance} changed")


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=300, unique=True)
    summary = models.TextField(help_text="One or two plain sentences shown in lists and results.")
    body = models.TextField(
        help_text="Markdown. HTML is sanitised: scripts, event handlers and unsafe links are removed."
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    published_on = models.DateField(default=datetime.date.today, db_index=True)
    source_name = models.CharField(max_length=200, blank=True)
    source_url = models.URLField(
        max_length=500,
        blank=True,
        validators=[validate_web_url],
        help_text="The original's web address, starting with http:// or https://.",
    )
    further_reading = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_further_reading],
        help_text=(
            'Where readers can learn more, as a list: [{"name": "NHS", "url": "https://www.nhs.uk/"}]. '
            "Names only, no advice; these organisations did not write the article."
        ),
    )
    editor_note = models.TextField(
        blank=True,
        help_text=(
            "Markdown, shown above the body and never searched: context an editor adds "
            "to a text carried over word for word from its source."
        ),
    )
    key_points = models.TextField(
        blank=True,
        help_text=(
            "Three to five plain sentences, one per line, written for this article: shown in a "
            "“Key points” box at the top of the page and usable as the answer in search."
        ),
    )
    source_keywords = models.CharField(
        max_length=500,
        blank=True,
        help_text=(
            "The source’s own keywords, comma-separated, for a text carried over from a source: "
            "shown as that source’s keywords, never as the library’s topics."
        ),
    )
    update_note = models.TextField(
        blank=True,
        help_text=(
            "What changed, in one plain sentence, when a save corrects or updates what the article "
            "says. Readers see “Updated DATE: NOTE”, dated from the revision that set it."
        ),
    )
    diseases = models.ManyToManyField(Disease, blank=True, related_name="articles")
    therapies = models.ManyToManyField(Therapy, blank=True, related_name="articles")
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Not auto_now: fixture (raw) saves skip auto_now, and the index compares this value.
    updated_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # Medical review (issue 10): shown to readers, never hides an article.
    last_reviewed_on = models.DateField(
        null=True, blank=True, help_text="When a qualified reviewer last checked this article."
    )
    reviewed_by = models.CharField(
        max_length=200,
        blank=True,
        help_text="The reviewer’s name and role, e.g. “Dr A. Patel, consultant neurologist”.",
    )
    next_review_due = models.DateField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Leave empty for the standard interval after the last review.",
    )
    history = ArticleHistory(m2m_fields=["diseases", "therapies", "tags"])

    objects = ArticleManager()

    class Meta:
        ordering = ["-published_on", "title"]
        indexes = [models.Index(fields=["status", "-published_on", "title"])]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # Links are checked on every save, not only in forms: app code and shells save
        # without `full_clean`, and a `javascript:` source link is stored XSS.
        validate_url_fields(self)
        self.updated_at = timezone.now()
        self.default_review_due()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "updated_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return detail_url("library:article_detail", self.slug)

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    def _topics(self, relation: str) -> list:
        """The relation's terms, by name: as `for_listing()` loaded them, else one query."""
        loaded = self.__dict__.get(f"_{relation}")
        return loaded if loaded is not None else list(getattr(self, relation).all())

    @property
    def topic_diseases(self) -> list[Disease]:
        return self._topics("diseases")

    @property
    def topic_therapies(self) -> list[Therapy]:
        return self._topics("therapies")

    @property
    def topic_tags(self) -> list[Tag]:
        return self._topics("tags")

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def written_for_library(self) -> bool:
        """An article without a named source is the library's own text."""
        return not self.source_name.strip()

    @property
    def is_scheduled(self) -> bool:
        """Published, but dated in the future: readers see it from `published_on`."""
        return self.is_published and self.published_on > timezone.localdate()

    def default_review_due(self) -> None:
        """A review with no next date set is due again after `review_interval()`."""
        if self.last_reviewed_on and not self.next_review_due:
            self.next_review_due = self.last_reviewed_on + review_interval()

    @property
    def review_state(self) -> str:
        """One of "overdue", "due soon", "never reviewed" or "current"."""
        today, due = timezone.localdate(), self.next_review_due
        if due and due < today:
            return "overdue"
        if due and due <= today + datetime.timedelta(days=REVIEW_SOON_DAYS):
            return "due soon"
        return "current" if self.last_reviewed_on else "never reviewed"

    def date_publication(self, previous_status: str | None) -> None:
        """On publishing, a date still equal to the creation day becomes today.

        The date defaults to the day the draft was written; a draft published weeks
        later should not claim that day. A date the editor chose is left alone.
        """
        today = timezone.localdate()
        if (
            self.is_published
            and previous_status != self.Status.PUBLISHED
            and self.created_at is not None
            and self.published_on == timezone.localdate(self.created_at)
            and self.published_on < today
        ):
            self.published_on = today

    def clean(self) -> None:
        if self.further_reading is None:  # an emptied admin field means no links
            self.further_reading = []
        if self.source_url and not self.source_name:
            raise ValidationError({"source_name": "Name the source that the link points to."})
        if self.reviewed_by and not self.last_reviewed_on:
            raise ValidationError({"last_reviewed_on": "Give the date of the review."})
        if (
            self.last_reviewed_on
            and self.next_review_due
            and self.next_review_due <= self.last_reviewed_on
        ):
            raise ValidationError({"next_review_due": "The next review must come after the last."})


@receiver(pre_save, sender=Article, dispatch_uid="library.article.validate_links_on_raw_save")
def validate_links_on_raw_save(sender, instance: Article, raw: bool, **kwargs) -> None:
    """Fixture loads save through `Model.save_base(raw=True)`, bypassing `Article.save`."""
    if raw:
        validate_url_fields(instance)
