"""One page of articles for the list pages and the JSON API, browsed or searched.

Browsing (no query text) is answered by the database through the FilterSet; a query
is answered by the search backend in one call, after which only that page's articles
are loaded. Either way the result has the same shape, so templates and the API do not
care which answered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.html import escape

from library.facets import FACET_MODELS, FACET_NAMES, TERM_FACETS, YEAR
from library.filters import ArticleFilter
from library.models import Article, Tag
from search import shared_results
from search.backends import get_backend
from search.backends.base import AnswerSection, SearchBackend, SearchQuery, SearchUnavailable
from search.backends.query import as_typed, quote_words
from search.synonyms import lay_word_groups, synonym_groups
from search.understanding import describe
from search.vocabulary import current_vocabulary

logger = logging.getLogger(__name__)

PAGE_SIZE = 20


@dataclass
class FacetOption:
    value: str  # slug, or the year as text
    label: str
    count: int
    selected: bool = False


@dataclass
class ListedArticle:
    article: Article
    highlight: str  # safe HTML
    score: float | None = None
    section: AnswerSection | None = None  # the section that answers the question
    pinned: bool = False  # an editor's pick for this query


@dataclass
class Listing:
    items: list[ListedArticle]
    total: int
    page: int
    num_pages: int
    query: str = ""
    ordering: str = "-published_on"
    facets: dict[str, list[FacetOption]] = field(default_factory=dict)
    suggestion: str | None = None
    unmatched_terms: list[str] = field(default_factory=list)
    search_error: str | None = None
    # How the reader's words were used (see `search.backends.base.SearchPage`).
    match: str = "all"
    not_found: list[str] = field(default_factory=list)
    expanded: dict[str, list[str]] = field(default_factory=dict)
    shortened: bool = False
    corrected: str | None = None
    loosened: list[str] = field(default_factory=list)  # quoted phrases searched as words
    # How the question was read (issue 19): "Lupus and safety and side effects" ("" when
    # nothing was recognised), and whether an article answers it ("found"/"none"/"").
    understood: str = ""
    understood_topics: dict[str, list[str]] = field(default_factory=dict)
    answer: str = ""

    @property
    def active_filters(self) -> list[tuple[str, FacetOption]]:
        """(parameter, option) of each chosen disease, therapy, tag and year: the chips."""
        return [
            (name, option)
            for name in FACET_NAMES
            for option in self.facets.get(name, [])
            if option.selected
        ]

    def removable_filters(self, scope_param: str = "", scope_slug: str = "") -> list:
        """The chips a reader can remove: the active filters less the page's own topic."""
        return [
            (name, option)
            for name, option in self.active_filters
            if not (name == scope_param and option.value == scope_slug)
        ]

    @property
    def expansions(self) -> list[tuple[str, list[str], str]]:
        """(reader's words, synonyms also searched, the query with those words quoted)."""
        return [
            (as_typed(self.query, words), names, quote_words(self.query, words))
            for words, names in self.expanded.items()
        ]

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def start_index(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.total else 0

    @property
    def end_index(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)


# No library has this many pages: a larger number is simply past the end (the last page).
MAX_PAGE = 1_000_000


def strict_page_number(value: str) -> int | None:
    """A page number in ASCII digits from 1 up, else None ("²", "1.5", "-3", " 2", "0").

    `str.isdigit()` accepts "²" and other Unicode digits that `int()` refuses, and
    `int()` refuses numbers over 4,300 digits: both used to end in a server error.
    """
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value) if len(value) <= len(str(MAX_PAGE)) else MAX_PAGE
    return min(number, MAX_PAGE) if number >= 1 else None


def parse_page(value: str | None) -> int:
    """The HTML pages forgive: `page=abc`, `page=-3`, `page=²` and no page mean page 1."""
    return strict_page_number(value or "") or 1


def build_listing(filterset: ArticleFilter, page: str | int | None) -> Listing:
    """The listing for a bound FilterSet; an invalid FilterSet lists nothing.

    The search index answers both searches and browsing: its cached facet sets count
    in milliseconds what SQL GROUP BYs take a hundred for at 10,000 articles. Browsing
    falls back to the database when the index is missing or unreadable; a search then
    says that search is unavailable.
    """
    page_number = parse_page(str(page) if page is not None else None)
    if not filterset.is_valid():
        return Listing(items=[], total=0, page=1, num_pages=1, facets={})
    backend = get_backend()
    if filterset.query_text:
        try:
            if not backend.exists():
                # An index never built answers "no matches"; readers deserve the truth.
                raise SearchUnavailable("the search index has not been built")
            return _from_index(backend, filterset, page_number)
        except SearchUnavailable:
            logger.exception("Search index unavailable for query %r", filterset.query_text)
            return Listing(
                items=[], total=0, page=1, num_pages=1, query=filterset.query_text,
                ordering=filterset.ordering_for(has_query=True),
                search_error=(
                    "Search is temporarily unavailable. You can still browse articles by "
                    "disease, therapy or tag."
                ),
            )  # fmt: skip
    try:
        if backend.exists():
            return _from_index(backend, filterset, page_number)
    except SearchUnavailable:
        logger.exception("Search index unavailable; browsing from the database")
    return _from_database(filterset, page_number)


def _from_database(filterset: ArticleFilter, page_number: int) -> Listing:
    queryset = filterset.qs
    ordering = filterset.ordering_for(has_query=False)
    if not filterset.form.cleaned_data.get("ordering"):
        queryset = filterset.filter_ordering(queryset, "ordering", ordering)
    paginator = Paginator(queryset.for_listing(), PAGE_SIZE)
    page = paginator.get_page(page_number)
    items = [ListedArticle(article, escape(article.summary)) for article in page.object_list]
    return Listing(
        items=items,
        total=paginator.count,
        page=page.number,
        num_pages=paginator.num_pages,
        ordering=ordering,
        facets=_database_facets(filterset, queryset),
    )


def _database_facets(filterset: ArticleFilter, queryset: QuerySet) -> dict[str, list[FacetOption]]:
    """Counts per disease, therapy, tag and year for the current filters: four queries."""
    facets: dict[str, list[FacetOption]] = {}
    for name, model in FACET_MODELS.items():
        selected = {term.slug for term in filterset.form.cleaned_data.get(name) or ()}
        terms = model.objects.counted_among(queryset).only("slug", "name")
        if model is Tag:
            terms = terms.with_topic_flag()
        facets[name] = [
            FacetOption(term.slug, term.name, term.count, term.slug in selected)
            for term in terms
            if term.slug in selected or model is not Tag or term.is_topic
        ]
    year = filterset.form.cleaned_data.get(YEAR)
    facets[YEAR] = [FacetOption(str(y), str(y), n, y == year) for y, n in queryset.year_counts()]
    return facets


def _from_index(backend: SearchBackend, filterset: ArticleFilter, page_number: int) -> Listing:
    """One backend call for the page's ids, total, facets and suggestion; then 20 rows."""
    data = filterset.form.cleaned_data
    text = filterset.query_text
    ordering = filterset.ordering_for(has_query=bool(text))
    # The vocabulary's topics are the synonym groups too: read once, four queries.
    vocabulary = current_vocabulary() if text else None
    query = SearchQuery(
        text=text,
        **{
            facet.field: tuple(term.slug for term in data.get(facet.name) or ())
            for facet in TERM_FACETS
        },
        year=int(data[YEAR]) if data.get(YEAR) else None,
        ordering=ordering,
        page=page_number,
        per_page=PAGE_SIZE,
        synonyms=synonym_groups(vocabulary.topics) + lay_word_groups() if vocabulary else (),
        visible_on=timezone.localdate(),
        vocabulary=vocabulary,
        correct_spelling=filterset.correct_spelling,
    )
    result = shared_results.search(backend, query)  # the results page's and the API's
    articles = Article.objects.for_listing().published_by_id(hit.id for hit in result.hits)
    items = [
        ListedArticle(articles[hit.id], hit.highlight, hit.score, hit.section, hit.pinned)
        if text
        else ListedArticle(articles[hit.id], escape(articles[hit.id].summary))
        for hit in result.hits
        if hit.id in articles
    ]
    return Listing(
        items=items,
        total=result.total,
        page=result.page,
        num_pages=max(result.num_pages, 1),
        query=text,
        ordering=ordering,
        facets=_label_facets(result.facets, data),
        suggestion=result.suggestion,
        unmatched_terms=result.unmatched_terms,
        match=result.match,
        not_found=result.not_found,
        expanded=result.expanded,
        shortened=result.shortened,
        corrected=result.corrected,
        loosened=result.loosened,
        understood=describe(result.understood),
        understood_topics={
            "diseases": [t.slug for t in result.understood.topics if t.kind == "disease"],
            "therapies": [t.slug for t in result.understood.topics if t.kind == "therapy"],
            "intents": [i.slug for i in result.understood.intents],
        },
        answer=result.answer,
    )


def _is_topic(tag: Tag | None) -> bool:
    return tag is not None and tag.is_topic


def _label_facets(counts, data) -> dict[str, list[FacetOption]]:
    """Attach display names to the backend's facet slugs: one query per taxonomy.

    A tag that is not a topic (promotional, or on one published article) is not offered
    as a filter, though its page works; a chosen one stays listed so it can be removed.
    """
    facets: dict[str, list[FacetOption]] = {}
    for name, model in FACET_MODELS.items():
        selected = {term.slug for term in data.get(name) or ()}
        values = [facet.value for facet in counts.get(name, [])]
        terms = model.objects.filter(slug__in=[*values, *selected]).only("slug", "name")
        if model is Tag:
            terms = terms.with_topic_flag()
        terms = {term.slug: term for term in terms}
        names = {slug: term.name for slug, term in terms.items()}
        options = [
            FacetOption(f.value, names.get(f.value, f.value), f.count, f.value in selected)
            for f in counts.get(name, [])
            if f.count
            and (model is not Tag or f.value in selected or _is_topic(terms.get(f.value)))
        ]
        # A chosen filter stays listed (with 0) so it can be seen and removed.
        shown = {option.value for option in options}
        options += [
            FacetOption(slug, names.get(slug, slug), 0, True) for slug in sorted(selected - shown)
        ]
        facets[name] = options
    year = data.get(YEAR)
    years = [
        FacetOption(f.value, f.value, f.count, f.value == str(year)) for f in counts.get(YEAR, [])
    ]
    if year and str(year) not in {option.value for option in years}:
        years.append(FacetOption(str(year), str(year), 0, True))
    facets[YEAR] = sorted(years, key=lambda option: option.value, reverse=True)
    return facets
