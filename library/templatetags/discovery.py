"""Template tags that help readers find the site and follow it: canonical URLs, feed
links, JSON-LD and "Find research" links. The decisions live in `library.seo` and
`library.feeds`; these tags only read the page's context."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from library.feeds import feed_params
from library.models import Article
from library.seo import article_structured_data, canonical_query

register = template.Library()

# The escapes of Django's json_script: nothing in the data can close the element.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
_PARENTHESES_RE = re.compile(r"\s*\([^)]*\)")


@register.simple_tag(takes_context=True)
def canonical_url(context) -> str:
    """One URL per page: an article's whatever the query string; a list's meaningful
    filters only (see `library.seo.canonical_query`); elsewhere the path alone."""
    request = context.get("request")
    if request is None:
        return ""
    article = context.get("article")
    filterset = context.get("filterset")
    if isinstance(article, Article):
        path = article.get_absolute_url()
    elif filterset is not None:
        scope = context.get("scope")
        query = canonical_query(
            filterset, context.get("scope_param", ""), scope.slug if scope is not None else ""
        )
        listing = context.get("listing")
        if listing is not None and listing.page > 1:
            query = f"{query}&page={listing.page}" if query else f"page={listing.page}"
        path = f"{request.path}?{query}" if query else request.path
    else:
        path = request.path
    return request.build_absolute_uri(path)


@register.simple_tag(takes_context=True)
def feed_url(context) -> str:
    """The Atom feed of the articles this page lists (all articles off list pages)."""
    base = reverse("library:article_feed")
    filterset = context.get("filterset")
    if filterset is None:
        return base
    if filterset.is_valid():
        query = canonical_query(filterset)  # the page's own term included
    else:
        # The feed will say, as the page does, which parameter it cannot use.
        params = feed_params(context["request"].GET)
        scope = context.get("scope")
        if scope is not None and scope.slug not in params.getlist(context["scope_param"]):
            params.appendlist(context["scope_param"], scope.slug)
        query = params.urlencode()
    return f"{base}?{query}" if query else base


def json_ld(data: dict[str, Any]) -> SafeString:
    """`data` as a JSON-LD element, escaped as `json_script` escapes (no `</script>`)."""
    text = json.dumps(data, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))


@register.simple_tag(takes_context=True)
def article_json_ld(context, article: Article) -> SafeString:
    return json_ld(article_structured_data(article, context["request"]))


@dataclass
class ResearchLink:
    label: str  # "Multiple sclerosis and Hematopoietic stem cell transplantation"
    pubmed: str
    trials: str


def search_term(name: str) -> str:
    """A taxonomy name as the registries search for it: "Lupus (systemic …)" → "Lupus"."""
    return _PARENTHESES_RE.sub("", name).strip() or name


def research_links_for(article: Article) -> list[ResearchLink]:
    """A PubMed and a ClinicalTrials.gov search for each pair of a disease and a therapy.

    With only diseases or only therapies, one pair of searches per term. Plain links:
    the server never calls either site.
    """
    diseases = [search_term(d.name) for d in article.diseases.all()]
    therapies = [search_term(t.name) for t in article.therapies.all()]
    links = []
    if diseases and therapies:
        for disease in diseases:
            for therapy in therapies:
                links.append(
                    ResearchLink(
                        f"{disease} and {therapy}",
                        _pubmed(f"{disease} AND {therapy}"),
                        _trials(cond=disease, intr=therapy),
                    )
                )
    else:
        links += [ResearchLink(d, _pubmed(d), _trials(cond=d)) for d in diseases]
        links += [ResearchLink(t, _pubmed(t), _trials(intr=t)) for t in therapies]
    return links


def _pubmed(term: str) -> str:
    return "https://pubmed.ncbi.nlm.nih.gov/?" + urlencode({"term": term}, quote_via=quote)


def _trials(**terms: str) -> str:
    return "https://clinicaltrials.gov/search?" + urlencode(terms, quote_via=quote)


@register.simple_tag
def research_links(article: Article) -> list[ResearchLink]:
    return research_links_for(article)


# The tag facet shows the most used tags first and folds the rest under "Show all".
FACET_HEAD_SIZE = {"tag": 10}


def _split_facet(options: list, name: str) -> tuple[list, list]:
    """The options shown at once (the most used, plus any chosen) and the folded rest."""
    size = FACET_HEAD_SIZE.get(name)
    if size is None or len(options) <= size:
        return list(options), []
    head = [o for i, o in enumerate(options) if i < size or o.selected]
    rest = [o for i, o in enumerate(options) if i >= size and not o.selected]
    return head, rest


@register.filter
def facet_head(options: list, name: str) -> list:
    return _split_facet(options or [], name)[0]


@register.filter
def facet_rest(options: list, name: str) -> list:
    return _split_facet(options or [], name)[1]
