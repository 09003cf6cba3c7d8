from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView

from library.facets import FACET_NAMES, facet_title
from library.filters import ArticleFilter
from library.history import update_note_date
from library.listing import Listing, build_listing
from library.models import Article, Disease, Tag, TagRedirect, Therapy
from library.rendering import render_body, render_markdown
from search.backends import get_backend
from search.backends.base import SearchUnavailable
from search.terms import is_new_search, record_after_response

logger = logging.getLogger(__name__)

RELATED_LIMIT = 5
FACET_TITLES = [(name, facet_title(name)) for name in FACET_NAMES]


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "library/home.html",
        {
            "latest": Article.objects.published().for_listing()[:6],
            "diseases": Disease.objects.with_article_counts(),
            "therapies": Therapy.objects.with_article_counts(),
        },
    )


class ArticleListView(TemplateView):
    """The filterable, searchable list; taxonomy pages reuse it with one filter fixed."""

    template_name = "library/article_list.html"
    scope_model: type[Disease | Therapy | Tag] | None = None
    scope_param = ""

    def get_scope(self):
        if self.scope_model is None:
            return None
        return get_object_or_404(self.scope_model, slug=self.kwargs["slug"])

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        listing = response.context_data["listing"]
        if listing.query and not listing.search_error and is_new_search(request.GET):
            record_after_response(response, listing.query, listing.total)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scope = self.get_scope()
        data = self.request.GET.copy()
        if scope is not None:
            data.setlist(self.scope_param, [*data.getlist(self.scope_param), scope.slug])
        filterset, dropped = ArticleFilter.forgiving(data, Article.objects.published())
        listing = build_listing(filterset, self.request.GET.get("page"))
        context.update(
            dropped=dropped,
            scope=scope,
            scope_param=self.scope_param,
            filterset=filterset,
            listing=listing,
            removable_filters=listing.removable_filters(
                self.scope_param, scope.slug if scope is not None else ""
            ),
            ordering_choices=filterset.filters["ordering"].extra["choices"],
            facet_titles=FACET_TITLES,
        )
        return context


class DiseaseArticleListView(ArticleListView):
    template_name = "library/taxonomy_detail.html"
    scope_model = Disease
    scope_param = "disease"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["start_here"] = start_here(
            context["scope"], context["listing"], browsing_all=not context["removable_filters"]
        )
        return context


def start_here(
    scope: Disease | Therapy | Tag, listing: Listing, *, browsing_all: bool
) -> Article | None:
    """The article a disease or therapy page opens with, taken out of the list below it.

    Only while the reader browses the whole topic (first page, no search, no other
    filter): a search or a filter asks for something else.
    """
    if listing.query or listing.page != 1 or not browsing_all:
        return None
    if not isinstance(scope, Disease | Therapy):
        return None
    article = scope.start_here_article()
    if article is not None:
        listing.items = [item for item in listing.items if item.article.pk != article.pk]
    return article


class TherapyArticleListView(DiseaseArticleListView):
    scope_model = Therapy
    scope_param = "therapy"


class TagArticleListView(DiseaseArticleListView):
    scope_model = Tag
    scope_param = "tag"

    def get(self, request, *args, **kwargs):
        """A tag merged into a disease or therapy redirects (301) to that term's page."""
        slug = self.kwargs["slug"]
        if not Tag.objects.filter(slug=slug).exists():
            merged = TagRedirect.objects.filter(old_slug=slug).first()
            target = merged.target() if merged else None
            if target is not None:
                query = request.META.get("QUERY_STRING", "")
                url = target.get_absolute_url()
                return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)
        return super().get(request, *args, **kwargs)


class ArticleDetailView(DetailView):
    template_name = "library/article_detail.html"
    context_object_name = "article"

    def get_queryset(self):
        return Article.objects.visible_to(self.request.user).with_taxonomy()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        article = self.object
        rendered = render_body(article.body)
        context["body_html"] = rendered.html
        context["rendered_body"] = rendered  # headings for "On this page", reading time
        context["editor_note_html"] = (
            render_markdown(article.editor_note) if article.editor_note else ""
        )
        context["related"] = related_articles(article)
        context["update_note_date"] = update_note_date(article)
        return context


class EditorialPolicyView(TemplateView):
    """/about/editorial-policy/: who writes, how articles are checked, sourced and corrected."""

    template_name = "library/editorial_policy.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["corrections_email"] = settings.CORRECTIONS_EMAIL
        context["review_interval_days"] = settings.REVIEW_INTERVAL_DAYS
        return context


def related_articles(article: Article) -> list[Article]:
    """Similar published articles from the index, or by shared taxonomy if it is down."""
    try:
        ids = get_backend().more_like_this(
            article.pk, limit=RELATED_LIMIT, visible_on=timezone.localdate()
        )
    except SearchUnavailable:
        logger.warning("Search index unavailable; related articles come from the database")
        ids = None
    if ids:
        found = Article.objects.defer("body").published_by_id(ids)
        return [found[pk] for pk in ids if pk in found and pk != article.pk]
    disease_ids = [d.pk for d in article.diseases.all()]
    therapy_ids = [t.pk for t in article.therapies.all()]
    return list(
        Article.objects.published()
        .exclude(pk=article.pk)
        .filter(Q(diseases__in=disease_ids) | Q(therapies__in=therapy_ids))
        .annotate(shared=Count("pk"))
        .order_by("-shared", "-published_on")
        .defer("body")[:RELATED_LIMIT]
    )


class TaxonomyIndexView(ListView):
    template_name = "library/taxonomy_list.html"
    context_object_name = "terms"

    def get_queryset(self):
        return self.model.objects.with_article_counts()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kind"] = self.model._meta.verbose_name
        context["kind_plural"] = self.model._meta.verbose_name_plural
        return context
