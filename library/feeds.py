"""Atom feeds for any view of the list: `/feeds/articles/?disease=lupus&therapy=hsct`.

A feed takes the list page's parameters (`q`, `disease`, `therapy`, `tag`, `year`) and
answers through the very same FilterSet and `build_listing` as `/articles/`, so a feed
holds exactly the articles of the list page sorted newest first (its first page). Bad
parameters get the list page's messages as a plain-text 400, never an error page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from library.facets import FACET_NAMES, TERM_PARAMETERS, YEAR
from library.filters import ArticleFilter
from library.listing import Listing, build_listing
from library.models import Article

FEED_PARAMS = ("q", *FACET_NAMES)
FEED_ORDERING = "-published_on"


class FeedParameterError(Exception):
    """The request cannot be answered; `status` and a plain-text message say why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def feed_params(params: QueryDict) -> QueryDict:
    """Only the parameters that choose articles; ordering and page are the feed's own."""
    kept = QueryDict(mutable=True)
    for name in FEED_PARAMS:
        values = [value for value in params.getlist(name) if value.strip()]
        if values:
            kept.setlist(name, values)
    return kept


@dataclass
class FeedQuery:
    params: QueryDict
    filterset: ArticleFilter
    listing: Listing

    def describe(self) -> str:
        """A title for readers' feed lists: 'Lupus + Hematopoietic … · search “x”'."""
        data = self.filterset.form.cleaned_data
        parts = [term.name for name in TERM_PARAMETERS for term in data.get(name) or ()]
        if data.get(YEAR):
            parts.append(str(int(data[YEAR])))
        if self.listing.query:
            parts.append(f"search “{self.listing.query}”")
        return " + ".join(parts) if parts else "All articles"


def plain_errors(filterset: ArticleFilter) -> str:
    """The list page's messages about unusable filters, as plain text."""
    lines = ["Some filters could not be used:"]
    for name, errors in filterset.errors.items():
        lines += [f"- {name}: {error}" for error in errors]
    return "\n".join(lines) + "\n"


class ArticleFeed(Feed):
    feed_type = Atom1Feed
    author_name = "stemsite"

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except FeedParameterError as error:
            return HttpResponse(
                error.message, status=error.status, content_type="text/plain; charset=utf-8"
            )

    def get_object(self, request: HttpRequest, *args, **kwargs) -> FeedQuery:
        params = feed_params(request.GET)
        data = params.copy()
        data["ordering"] = FEED_ORDERING
        filterset = ArticleFilter(data, queryset=Article.objects.published())
        if not filterset.is_valid():
            raise FeedParameterError(plain_errors(filterset))
        listing = build_listing(filterset, 1)
        if listing.search_error:
            raise FeedParameterError(listing.search_error + "\n", status=503)
        return FeedQuery(params, filterset, listing)

    def title(self, obj: FeedQuery) -> str:
        return f"stemsite: {obj.describe()}"

    def subtitle(self, obj: FeedQuery) -> str:
        return (
            f"The newest published articles on stemsite for: {obj.describe()}. "
            "General information, not medical advice."
        )

    def link(self, obj: FeedQuery) -> str:
        """The list page showing these articles."""
        query = obj.params.urlencode()
        return reverse("library:article_list") + (f"?{query}" if query else "")

    def feed_url(self, obj: FeedQuery) -> str:
        query = obj.params.urlencode()
        return reverse("library:article_feed") + (f"?{query}" if query else "")

    def items(self, obj: FeedQuery) -> list[Article]:
        return [item.article for item in obj.listing.items]

    def item_title(self, item: Article) -> str:
        return item.title

    def item_description(self, item: Article) -> str:
        # Atom summaries are written as type="html": plain text must be HTML-escaped.
        return escape(item.summary)

    def item_link(self, item: Article) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Article) -> datetime.datetime:
        return datetime.datetime.combine(item.published_on, datetime.time(), tzinfo=datetime.UTC)

    def item_updateddate(self, item: Article) -> datetime.datetime:
        # An article imported before its publication date was "updated" before it appeared.
        return max(item.updated_at, self.item_pubdate(item))

    def item_categories(self, item: Article) -> list[str]:
        # Loaded by `for_listing`: no query per entry.
        return [
            term.name
            for terms in (item.topic_diseases, item.topic_therapies, item.topic_tags)
            for term in terms
        ]
