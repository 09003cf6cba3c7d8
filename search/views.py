"""Search endpoints: the JSON API, autocomplete and the /search/ shortcut.

The HTML results page is /articles/?q=… (library.views.ArticleListView); these views
reuse its FilterSet and `build_listing`, so the API answers exactly what the page shows.
"""

from __future__ import annotations

import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from library.facets import TERM_FACETS, TERM_PARAMETERS, YEAR
from library.filters import ArticleFilter
from library.listing import build_listing, strict_page_number
from library.models import Article
from search.backends import get_backend
from search.backends.base import SearchUnavailable

logger = logging.getLogger(__name__)

SUGGEST_LIMIT = 10
SUGGEST_MAX_PREFIX = 100


@require_GET
def search_redirect(request: HttpRequest):
    """/search/?q=… is kept for people who guess it; the results page is /articles/."""
    query = request.GET.urlencode()
    return redirect(reverse("library:article_list") + (f"?{query}" if query else ""))


def _bad_request(errors: dict[str, list[str]]) -> JsonResponse:
    names = ", ".join(sorted(errors))
    return JsonResponse({"error": f"Invalid parameter: {names}", "errors": errors}, status=400)


# The API only reads, and no cookie or session gives it anything: CSRF protection has
# nothing to protect, and without the exemption a POST is refused 403 by the CSRF check
# before the view can answer 405 with the methods it allows.
@csrf_exempt
@require_GET
def search_api(request: HttpRequest) -> JsonResponse:
    """GET /api/search/: the results page as JSON; the contract is in README.md."""
    page = request.GET.get("page", "1")
    if strict_page_number(page) is None:
        return _bad_request({"page": [f"“{page[:50]}” is not a page number (1, 2, 3…)."]})
    filterset = ArticleFilter(request.GET, queryset=Article.objects.published())
    if not filterset.is_valid():
        return _bad_request({name: list(messages) for name, messages in filterset.errors.items()})
    listing = build_listing(filterset, page)
    if listing.search_error:
        return JsonResponse({"error": listing.search_error}, status=503)
    return JsonResponse(
        {
            "query": listing.query,
            "count": listing.total,
            "page": listing.page,
            "num_pages": listing.num_pages,
            "suggestion": listing.suggestion,
            "match": listing.match,
            "not_found": listing.not_found,
            "expanded": listing.expanded,
            "shortened": listing.shortened,
            "corrected": listing.corrected,
            "loosened": listing.loosened,
            "understood": listing.understood_topics
            or {"diseases": [], "therapies": [], "intents": []},
            "answer": listing.answer,
            "results": [
                {
                    "slug": item.article.slug,
                    "title": item.article.title,
                    "url": request.build_absolute_uri(item.article.get_absolute_url()),
                    "summary": item.article.summary,
                    "published_on": item.article.published_on.isoformat(),
                    "score": item.score,
                    "highlight": item.highlight,
                    **{
                        facet.field: [t.slug for t in getattr(item.article, f"topic_{facet.field}")]
                        for facet in TERM_FACETS
                    },
                    "section": _section(request, item),
                    "pick": item.pinned,
                }
                for item in listing.items
            ],
            "facets": {
                name: [
                    {"slug": option.value, "name": option.label, "count": option.count}
                    for option in listing.facets.get(name, [])
                ]
                for name in TERM_PARAMETERS
            }
            | {
                YEAR: [
                    {"value": int(option.value), "count": option.count}
                    for option in listing.facets.get(YEAR, [])
                ]
            },
        }
    )


def rescored(body: bytes, scores: dict[str, float]) -> bytes | None:
    """`search_api`'s JSON body with each result's score replaced by `scores[slug]`,
    encoded as `JsonResponse` encodes it; None if the body is not one this function
    reads back to the same bytes, or a result has no new score. The page cache
    (`pagecache.answers`) serves it when an index write changed only the scores of a
    search's answer, so it must be what `search_api` would now return."""
    data = json.loads(body)
    if not isinstance(data, dict) or _encoded(data) != body:
        return None
    results = data.get("results")
    if not isinstance(results, list) or any(r.get("slug") not in scores for r in results):
        return None
    for result in results:
        result["score"] = scores[result["slug"]]
    return _encoded(data)


def _encoded(data: dict) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder).encode()


def _section(request: HttpRequest, item) -> dict | None:
    """The section of a result that answers the question, with its address, or None."""
    if item.section is None:
        return None
    url = item.article.get_absolute_url() + "#" + item.section.anchor
    return {
        "heading": item.section.heading,
        "url": request.build_absolute_uri(url),
        "sentence": item.section.sentence,
    }


@csrf_exempt
@require_GET
def suggest_api(request: HttpRequest) -> JsonResponse:
    """GET /api/suggest/?q=mult: up to ten completions for the search box."""
    prefix = request.GET.get("q", "").strip()[:SUGGEST_MAX_PREFIX]
    if not prefix:
        return JsonResponse({"query": "", "suggestions": [], "items": []})
    try:
        suggestions = get_backend().suggest_items(
            prefix, limit=SUGGEST_LIMIT, visible_on=timezone.localdate()
        )
    except SearchUnavailable:
        logger.exception("Search index unavailable for suggestions")
        suggestions = []
    items = [
        {
            "text": item.text,
            "url": reverse("library:article_detail", args=[item.slug]) if item.slug else None,
        }
        for item in suggestions
    ]
    return JsonResponse(
        {"query": prefix, "suggestions": [item.text for item in suggestions], "items": items}
    )
