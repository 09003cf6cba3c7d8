"""The content of the library: articles and the diseases, therapies and tags they cover.

Every model has a natural key (its slug), so fixtures never carry database ids and
loading the same fixture twice updates rows instead of duplicating them.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, ExtractYear, Lower, TruncDate
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from library.signals import articles_bulk_changed, content_written
from library.validators import validate_url_fields, validate_url_values, validate_web_url
from search.understanding import title_names

# While a fixture loads, each article names its diseases, therapies and tags by slug:
# remember the rows found so that a thousand articles do not cost a thousand lookups
# of the same dozen slugs. Set only by `loaddata` (see `remembering_natural_keys`).
_natural_key_cache: ContextVar[dict | None] = ContextVar("natural_key_cache", default=None)
# A slug known to be absent (`remember_natural_keys`): no row until one is saved.
_ABSENT = object()


@contextmanager
def remembering_natural_keys() -> Iterator[None]:
    token = _natural_key_cache.set({})
    post_save.connect(_saved_with_natural_key, weak=False, dispatch_uid="library.natural_keys")
    try:
        yield
    finally:
        post_save.disconnect(dispatch_uid="library.natural_keys")
        _natural_key_cache.reset(token)


def remember_natural_keys(model: type[models.Model], slugs: Iterable[str], using: str) -> None:
    """Look up these slugs of `model` in a few queries (primary keys only), so that
    Django's loader, which resolves each record's natural key before saving it, asks
    the database nothing for them: a new article's own slug is then known to be
    absent instead of costing a `SELECT` each. A row saved meanwhile replaces its
    absence (see `remembering_natural_keys`). Only inside `remembering_natural_keys`.
    """
    cache = _natural_key_cache.get()
    slugs = sorted(set(slugs))
    if cache is None or not isinstance(model._default_manager, SlugManager):
        return
    for start in range(0, len(slugs), 1000):
        part = slugs[start : start + 1000]
        found = {
            row.slug: row
            for row in model._default_manager.using(using).filter(slug__in=part).only("pk", "slug")
        }
        for slug in part:
            cache[(model, using, slug)] = found.get(slug, _ABSENT)


def _saved_with_natural_key(sender, instance, using: str, **kwargs) -> None:
    cache = _natural_key_cache.get()
    slug = getattr(instance, "slug", None)
    if cache is not None and slug and cache.get((sender, using, slug)) is _ABSENT:
        cache[(sender, using, slug)] = instance


class SlugManager(models.Manager):
    """Resolves natural keys (slugs) for fixtures and `dumpdata --natural-*`."""

    def get_by_natural_key(self, slug: str):
        cache = _natural_key_cache.get()
        if cache is None:
            return self.get(slug=slug)
        key = (self.model, self.db, slug)
        if key not in cache:
            cache[key] = self.get(slug=slug)
        if cache[key] is _ABSENT:
            raise self.model.DoesNotExist(f"No {self.model._meta.object_name} with slug {slug!r}")
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


class ContentQuerySet(models.QuerySet):
    """Bulk writes skip model signals: say that content was written (`content_written`)."""

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        content_written.send(sender=self.model, using=self.db)
        return rows

    def bulk_create(self, objs, *args, **kwargs) -> list:
        created = super().bulk_create(objs, *args, **kwargs)
        content_written.send(sender=self.model, using=self.db)
        return created

    def bulk_update(self, objs, fields, *args, **kwargs) -> int:
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        content_written.send(sender=self.model, using=self.db)
        return rows


class TaxonomyQuerySet(ContentQuerySet):
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
    start_here = models.ForeignKey(
        "Article",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="Start here",
        help_text=(
            "The article this page opens with, above the others. Only a published article "
            "filed under this entry can be chosen. Leave empty to let the site choose the "
            "article most specifically about it; a chosen article that is later unpublished "
            "or unfiled is replaced by that choice until it is back."
        ),
    )

    objects = SlugManager.from_queryset(TaxonomyQuerySet)()

    # The Article relation that files articles under this kind of term.
    article_relation = ""

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

    @property
    def title_names(self) -> list[str]:
        """The term's name, the name without and within its brackets ("Lupus",
        "systemic lupus erythematosus"): what a title about this term would say."""
        return list(title_names(self.name))

    def start_here_article(self) -> Article | None:
        """The article this term's page opens with: the editors' choice while readers can
        see it and it is filed here, else the article most specifically about the term
        (see `ArticleQuerySet.start_here_for`). Four queries, found or not."""
        return Article.objects.for_listing().start_here_for(self).first()

    def start_here_choices(self) -> ArticleQuerySet:
        """What editors may choose: published articles (scheduled ones too) filed here."""
        return (
            Article.objects.published(include_scheduled=True)
            .filter(**{self.article_relation: self})
            .defer("body")
            .order_by(Lower("title"))
        )

    def clean(self) -> None:
        self.aliases = "\n".join(dict.fromkeys(split_aliases(self.aliases)))
        article = self.start_here if self.start_here_id else None
        if article is None:
            return
        kind = self._meta.verbose_name
        if not article.is_published:
            raise ValidationError(
                {
                    "start_here": (
                        f"“{article.title}” is not published, so readers could not see it. "
                        f"Choose a published article filed under this {kind}, or leave "
                        "Start here empty for the default."
                    )
                }
            )
        if self.pk is None or not self.start_here_choices().filter(pk=article.pk).exists():
            raise ValidationError(
                {
                    "start_here": (
                        f"“{article.title}” is not filed under this {kind}. File it here "
                        f"first (on the article’s page), or choose an article that is."
                    )
                }
            )


class Disease(TaxonomyTerm):
    article_relation = "diseases"

    class Meta(TaxonomyTerm.Meta):
        pass

    def get_absolute_url(self) -> str:
        return detail_url("library:disease_detail", self.slug)


class Therapy(TaxonomyTerm):
    article_relation = "therapies"

    class Meta(TaxonomyTerm.Meta):
        verbose_name_plural = "therapies"

    def get_absolute_url(self) -> str:
        return detail_url("library:therapy_detail", self.slug)


# --- Topics (issue 20): which tags readers are offered ---

# Words that advertise rather than describe: never shown to readers as a topic chip or
# offered as a filter, whatever the content says. Compared without regard to case.
PROMOTIONAL_TAG_NAMES = (
    "Stem cell hope",
    "Medical breakthroughs",
    "Alternative healing",
    "Inflammation relief",
    "Stem cells for healing",
    "Next gen medicine",
)
# A tag is offered as a filter (facets, chips) only when it groups at least this many
# published articles: a "topic" of one article filters down to that article. Its page
# still works.
MIN_TOPIC_ARTICLES = 2


def is_promotional_tag_name(name: str) -> bool:
    return name.strip().casefold() in {n.casefold() for n in PROMOTIONAL_TAG_NAMES}


class TagQuerySet(TaxonomyQuerySet):
    def with_topic_flag(self) -> TagQuerySet:
        """Annotate `enough_articles`: whether each tag is on at least `MIN_TOPIC_ARTICLES`
        published articles in the whole library (see `Tag.is_topic`).

        An EXISTS over the tag's N-th published article rather than a count: it stops at
        that row, so its cost does not grow with a tag's articles; and a correlated
        subquery rather than a join, so it combines with `counted_among()` (counts
        within a result set) in the same single query. "Published" is spelled out as
        `ArticleQuerySet.published()` says, since an `IN (published ids)` subquery
        here would read every published article for every tag. The article test is a
        nested EXISTS by primary key so that the database walks the tag's rows (a few)
        rather than every published article: without statistics SQLite otherwise starts
        from the (status, date) index.
        """
        nth = MIN_TOPIC_ARTICLES - 1
        published = Article.objects.filter(
            pk=OuterRef("article_id"),
            status=Article.Status.PUBLISHED,
            published_on__lte=timezone.localdate(),
        )
        rows = Article.tags.through.objects.filter(Exists(published), tag_id=OuterRef("pk"))
        return self.annotate(enough_articles=Exists(rows.order_by()[nth : nth + 1]))


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    objects = SlugManager.from_queryset(TagQuerySet)()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return detail_url("library:tag_detail", self.slug)

    @property
    def is_promotional(self) -> bool:
        return is_promotional_tag_name(self.name)

    @property
    def is_topic(self) -> bool:
        """Offered to readers as a topic: not promotional, and (when the queryset was
        annotated by `with_topic_flag()`) on enough published articles."""
        return getattr(self, "enough_articles", True) and not self.is_promotional

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class TagRedirectManager(models.Manager):
    """Fixtures name a redirect by its old tag slug (`library.tagredirect` records)."""

    def get_by_natural_key(self, old_slug: str) -> TagRedirect:
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


def _title_pattern(names: list[str]) -> str:
    """Any of `names` as whole words. `\\b` means a backspace to PostgreSQL, so word
    edges are spelled out; `re.escape` leaves nothing PostgreSQL reads differently."""
    alternatives = "|".join(re.escape(name.strip()) for name in names)
    return rf"(^|[^a-z0-9])({alternatives})([^a-z0-9]|$)"


class ArticleQuerySet(ContentQuerySet):
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
        """Prefetch diseases, therapies and tags: three queries whatever the number of rows.

        Tags come with `enough_articles`, so a page can tell topics (`Tag.is_topic`)
        from tags of one article without a query more.
        """
        return self.prefetch_related(
            models.Prefetch("diseases", queryset=Disease.objects.only("name", "slug")),
            models.Prefetch("therapies", queryset=Therapy.objects.only("name", "slug")),
            models.Prefetch("tags", queryset=Tag.objects.only("name", "slug").with_topic_flag()),
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

    def start_here_for(self, term: TaxonomyTerm) -> ArticleQuerySet:
        """Readers' articles filed under `term`, the best one to start with first.

        The editors' choice (`term.start_here`) leads when readers can see it. Then the
        article most specifically about the term: one whose title names it (its name
        before one of its aliases), then the one filed under the fewest other terms of
        the same kind, then the newest, then by title. One query; the title test is a
        case-insensitive regular expression that SQLite and PostgreSQL read alike.
        """
        through = getattr(Article, term.article_relation).through
        same_kind = (
            through.objects.filter(article=OuterRef("pk"))
            .order_by()
            .values("article")
            .annotate(count=Count("pk"))
            .values("count")
        )
        named = [When(title__iregex=_title_pattern(term.title_names), then=Value(2))]
        if term.alias_list:
            named.append(When(title__iregex=_title_pattern(term.alias_list), then=Value(1)))
        chosen = (
            Case(When(pk=term.start_here_id, then=Value(1)), default=Value(0))
            if term.start_here_id
            else Value(0)
        )
        return (
            self.published()
            .filter(**{term.article_relation: term})
            .annotate(
                editors_choice=chosen,
                title_names_term=Case(*named, default=Value(0), output_field=IntegerField()),
                same_kind_terms=Coalesce(Subquery(same_kind), Value(0)),
            )
            .order_by(
                "-editors_choice",
                "-title_names_term",
                "same_kind_terms",
                "-published_on",
                Lower("title"),
                "pk",
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

    def create_historical_record_m2ms(self, history_instance, instance) -> None:
        # The revision's taxonomy, written as `record_revisions` writes it for many
        # articles: simple-history's own way reads every term's whole row to copy ids.
        from library.history import record_taxonomy  # imports this module

        record_taxonomy([history_instance], using=history_instance._state.db or "default")

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

    @property
    def key_point_list(self) -> list[str]:
        """The key points, one per line; blank lines and surrounding spaces ignored."""
        return split_aliases(self.key_points)

    @property
    def source_keyword_list(self) -> list[str]:
        """The source's own keywords, as it wrote them (comma-separated)."""
        return [word.strip() for word in self.source_keywords.split(",") if word.strip()]

    @property
    def topic_tag_list(self) -> list[Tag]:
        """The tags shown to readers as topic chips (see `Tag.is_topic`)."""
        return [tag for tag in self.tags.all() if tag.is_topic]

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
        self.clean_review()

    def clean_review(self) -> None:
        """The medical review must be possible: a review has both a named reviewer and a
        date, is not dated before the article existed, and the next review comes after it.

        `created_at` is unknown (None) for a fixture record that neither gives it nor
        matches an article already in the library; that check is then left out.
        """
        errors: dict[str, str] = {}
        if self.reviewed_by.strip() and not self.last_reviewed_on:
            errors["last_reviewed_on"] = "Give the date of the review (a reviewer is named)."
        if self.last_reviewed_on and not self.reviewed_by.strip():
            errors["reviewed_by"] = (
                "Name the reviewer and their role, e.g. “Dr A. Patel, consultant neurologist” "
                "(a review date is given)."
            )
        if self.last_reviewed_on and self.created_at is not None:
            created = (
                timezone.localdate(self.created_at)
                if timezone.is_aware(self.created_at)
                else self.created_at.date()
            )
            if self.last_reviewed_on < created:
                errors["last_reviewed_on"] = (
                    f"The review date ({_day(self.last_reviewed_on)}) cannot be before "
                    f"the article was created ({_day(created)})."
                )
        if (
            self.last_reviewed_on
            and self.next_review_due
            and self.next_review_due <= self.last_reviewed_on
        ):
            errors["next_review_due"] = "The next review must come after the last."
        if errors:
            raise ValidationError(errors)


def _day(value: datetime.date) -> str:
    return f"{value.day} {value:%B %Y}"


@receiver(pre_save, sender=Article, dispatch_uid="library.article.validate_links_on_raw_save")
def validate_links_on_raw_save(sender, instance: Article, raw: bool, **kwargs) -> None:
    """Fixture loads save through `Model.save_base(raw=True)`, bypassing `Article.save`."""
    if raw:
        validate_url_fields(instance)
