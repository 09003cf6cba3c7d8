"""What search engines, browsers and link previews read about the site.

`robots.txt` and the OpenSearch description are tiny views; `canonical_query` decides
which list parameters a canonical URL keeps; `article_structured_data` is the schema.org
`MedicalWebPage` for an article, built as a dict here (and serialised by the template
tag with json.dumps) so that no template ever assembles JSON by hand.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from library.facets import FACET_NAMES, TERM_PARAMETERS, YEAR
from library.filters import ArticleFilter
from library.models import Article

# Parameters that choose which articles a list shows; `ordering` only rearranges
# them, and anything else (utm_*, fbclid, typos) is noise.
CANONICAL_PARAMS = ("q", *FACET_NAMES)


@require_GET
@cache_control(max_age=86400, public=True)
def robots_txt(request: HttpRequest) -> HttpResponse:
    sitemap_url = request.build_absolute_uri(reverse("sitemap"))
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /api/",
        f"Sitemap: {sitemap_url}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_GET
@cache_control(max_age=86400, public=True)
def opensearch_xml(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "library/opensearch.xml",
        {"base_url": request.build_absolute_uri("/").rstrip("/")},
        content_type="application/opensearchdescription+xml; charset=utf-8",
    )


def canonical_query(filterset: ArticleFilter, scope_param: str = "", scope_slug: str = "") -> str:
    """The query string of a list page's canonical URL ("" for none).

    It keeps what chooses the articles (the search text and valid filters, slugs sorted
    so that `?therapy=a&disease=b` and `?disease=b&therapy=a` are one page) and the page
    number past page 1; it drops `ordering` (the same articles rearranged), tracking
    parameters and anything invalid. On a taxonomy page its own term is in the path.
    """
    if not filterset.is_valid():
        return ""
    data = filterset.form.cleaned_data
    params = QueryDict(mutable=True)
    if data.get("q"):
        params["q"] = " ".join(data["q"].split())
    for name in TERM_PARAMETERS:
        slugs = sorted({term.slug for term in data.get(name) or ()})
        if name == scope_param:
            slugs = [slug for slug in slugs if slug != scope_slug]
        if slugs:
            params.setlist(name, slugs)
    if data.get(YEAR):
        params[YEAR] = str(int(data[YEAR]))
    return params.urlencode()


def article_structured_data(article: Article, request: HttpRequest) -> dict[str, Any]:
    """schema.org `MedicalWebPage` JSON-LD: what the page is, when, about what, from where."""
    url = request.build_absolute_uri(article.get_absolute_url())
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "@id": url,
        "url": url,
        "headline": article.title,
        "name": article.title,
        "description": article.summary,
        "datePublished": article.published_on.isoformat(),
        "dateModified": article.updated_at.date().isoformat(),
        "inLanguage": "en",
        "audience": {"@type": "PeopleAudience", "audienceType": "Patients and carers"},
        "publisher": {
            "@type": "Organization",
            "name": "stemsite",
            "url": request.build_absolute_uri("/"),
        },
        "about": [
            *(
                {
                    "@type": "MedicalCondition",
                    "name": disease.name,
                    "url": request.build_absolute_uri(disease.get_absolute_url()),
                }
                for disease in article.diseases.all()
            ),
            *(
                {
                    "@type": "MedicalTherapy",
                    "name": therapy.name,
                    "url": request.build_absolute_uri(therapy.get_absolute_url()),
                }
                for therapy in article.therapies.all()
            ),
        ],
        "keywords": [tag.name for tag in article.tags.all() if tag.is_topic],
    }
    # `last_reviewed_on` comes with medical review (issue 10, the editorial branch);
    # until it is merged the attribute does not exist and the property is left out.
    reviewed = getattr(article, "last_reviewed_on", None)
    if reviewed:
        data["lastReviewed"] = reviewed.isoformat()
    if article.source_url:
        data["isBasedOn"] = {
            "@type": "CreativeWork",
            "name": article.source_name,
            "url": article.source_url,
        }
    return data
