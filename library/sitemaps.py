"""`/sitemap.xml` for search engines: every published article and every taxonomy page.

Served as a sitemap index (`/sitemap.xml`) over one sitemap per section
(`/sitemap-articles.xml`, …), so the 50,000-URL limit of one sitemap file is met by
pagination (`?p=2`) instead of silently dropping articles. Only
`Article.objects.published()` is listed: drafts and anything that manager hides
(scheduled articles) never appear. `lastmod` is the article's last change, or for a
taxonomy page the last change among its published articles.
"""

from __future__ import annotations

import datetime

from django.contrib.sitemaps import Sitemap
from django.db.models import Max, Q, QuerySet
from django.urls import reverse

from library.models import Article, Disease, Tag, Therapy


class ArticleSitemap(Sitemap):
    changefreq = "monthly"

    def items(self) -> QuerySet[Article]:
        return Article.objects.published().only("slug", "updated_at").order_by("pk")

    def lastmod(self, item: Article) -> datetime.datetime:
        return item.updated_at

    def get_latest_lastmod(self) -> datetime.datetime | None:
        """For the index: one MAX() instead of Django's default, a loop over every row."""
        return Article.objects.published().aggregate(latest=Max("updated_at"))["latest"]


class TaxonomySitemap(Sitemap):
    """Diseases, therapies or tags; `lastmod` from their published articles."""

    changefreq = "weekly"

    def __init__(self, model: type[Disease | Therapy | Tag], articles_field: str) -> None:
        self.model = model
        self.articles_field = articles_field  # the Article field naming these terms

    def items(self) -> QuerySet:
        published = Article.objects.published().values("pk")
        return (
            self.model.objects.only("slug")
            .annotate(last_change=Max("articles__updated_at", filter=Q(articles__in=published)))
            .order_by("pk")
        )

    def lastmod(self, item) -> datetime.datetime | None:
        return item.last_change

    def get_latest_lastmod(self) -> datetime.datetime | None:
        articles = Article.objects.published().filter(**{f"{self.articles_field}__isnull": False})
        return articles.aggregate(latest=Max("updated_at"))["latest"]


class PageSitemap(Sitemap):
    """The pages that are not about one term: home, lists and indexes, /explore/."""

    changefreq = "daily"
    names = [
        "library:home",
        "library:article_list",
        "library:disease_list",
        "library:therapy_list",
        "library:tag_list",
        "library:explore",
    ]

    def items(self) -> list[str]:
        return self.names

    def location(self, item: str) -> str:
        return reverse(item)

    def lastmod(self, item: str) -> datetime.datetime | None:
        # Computed once per sitemap: every page here changes when any article does.
        if not hasattr(self, "_latest"):
            self._latest = Article.objects.published().aggregate(latest=Max("updated_at"))["latest"]
        return self._latest


SITEMAPS = {
    "pages": PageSitemap,
    "articles": ArticleSitemap,
    "diseases": TaxonomySitemap(Disease, "diseases"),
    "therapies": TaxonomySitemap(Therapy, "therapies"),
    "tags": TaxonomySitemap(Tag, "tags"),
}
