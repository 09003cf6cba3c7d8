"""The content of the library: articles and the diseases, therapies and tags they cover.

Every model has a natural key (its slug), so fixtures never carry database ids and
loading the same fixture twice updates rows instead of duplicating them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Q
from django.db.models.functions import ExtractYear
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

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


class TaxonomyQuerySet(models.QuerySet):
    def with_article_counts(self) -> TaxonomyQuerySet:
        """Annotate `article_count` (published articles) without a query per row."""
        return self.annotate(
            article_count=Count("articles", filter=Q(articles__status=Article.Status.PUBLISHED))
        )

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
        return reverse("library:disease_detail", args=[self.slug])


class Therapy(TaxonomyTerm):
    class Meta(TaxonomyTerm.Meta):
        verbose_name_plural = "therapies"

    def get_absolute_url(self) -> str:
        return reverse("library:therapy_detail", args=[self.slug])


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    objects = SlugManager.from_queryset(TaxonomyQuerySet)()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("library:tag_detail", args=[self.slug])

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


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

    def published(self) -> ArticleQuerySet:
        return self.filter(status=Article.Status.PUBLISHED)

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

        Sends `articles_bulk_changed`, since `update()` bypasses model signals.
        """
        ids = list(self.exclude(status=status).values_list("pk", flat=True))
        if not ids:
            return 0
        Article.objects.filter(pk__in=ids).update(status=status, updated_at=timezone.now())
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

    def for_listing(self) -> ArticleQuerySet:
        """What a list of articles shows: no bodies, taxonomy prefetched."""
        return self.defer("body").with_taxonomy()


class ArticleManager(SlugManager.from_queryset(ArticleQuerySet)):
    pass


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
    diseases = models.ManyToManyField(Disease, blank=True, related_name="articles")
    therapies = models.ManyToManyField(Therapy, blank=True, related_name="articles")
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Not auto_now: fixture (raw) saves skip auto_now, and the index compares this value.
    updated_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

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
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "updated_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("library:article_detail", args=[self.slug])

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def clean(self) -> None:
        if self.source_url and not self.source_name:
            raise ValidationError({"source_name": "Name the source that the link points to."})


@receiver(pre_save, sender=Article, dispatch_uid="library.article.validate_links_on_raw_save")
def validate_links_on_raw_save(sender, instance: Article, raw: bool, **kwargs) -> None:
    """Fixture loads save through `Model.save_base(raw=True)`, bypassing `Article.save`."""
    if raw:
        validate_url_fields(instance)
