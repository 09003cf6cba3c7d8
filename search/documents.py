"""Articles as the index sees them.

Documents are built in chunks with a fixed number of queries per chunk (the articles,
then one prefetch each for diseases, therapies and tags), so indexing 10 or 100,000
articles costs the same per article and never holds the whole library in memory.
Only published articles become documents: whatever else the caller passes in is
filtered out here, so a draft can never reach readers through the index. An
article's key points are indexed as part of its summary text (`summary_text`), which
is how snippets can answer with them without another field in the index. Each
document also says where the body's sections start (heading, the anchor the article
page gives it, offset in the plain body), so a result can point at the section that
answers a question.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Prefetch

from library.models import Article, Disease, Tag, Therapy, split_aliases
from library.rendering import markdown_text_and_sections
from search.backends.base import SearchDocument

CHUNK_SIZE = 500

_DOCUMENT_FIELDS = (
    "id",
    "slug",
    "title",
    "summary",
    "key_points",
    "body",
    "published_on",
    "updated_at",
)


def _with_index_taxonomy(queryset):
    # Unlike `with_taxonomy()` this also loads aliases: they are searchable.
    return queryset.only(*_DOCUMENT_FIELDS).prefetch_related(
        Prefetch("diseases", queryset=Disease.objects.only("name", "slug", "aliases")),
        Prefetch("therapies", queryset=Therapy.objects.only("name", "slug", "aliases")),
        Prefetch("tags", queryset=Tag.objects.only("name", "slug")),
    )


def summary_text(article: Article) -> str:
    """The summary, then the key points: both are answers written for readers, so a
    result's snippet may come from a key point, weighted as the summary is."""
    return " ".join([article.summary.strip(), *article.key_point_list]).strip()


def build_document(article: Article) -> SearchDocument:
    """One article (with its taxonomy prefetched, or it costs three queries) as a document."""
    diseases = list(article.diseases.all())
    therapies = list(article.therapies.all())
    tags = list(article.tags.all())
    taxonomy: list[str] = []
    for term in [*diseases, *therapies]:
        taxonomy.append(term.name)
        taxonomy.extend(split_aliases(term.aliases))
    body, sections = markdown_text_and_sections(article.body)
    return SearchDocument(
        id=article.pk,
        slug=article.slug,
        title=article.title,
        summary=summary_text(article),
        body=body,
        taxonomy=tuple(dict.fromkeys(taxonomy)),
        tag_names=tuple(tag.name for tag in tags),
        diseases=tuple(d.slug for d in diseases),
        therapies=tuple(t.slug for t in therapies),
        tags=tuple(t.slug for t in tags),
        published_on=article.published_on,
        updated_at=article.updated_at,
        sections=tuple((s.heading, s.anchor, s.start) for s in sections),
    )


def iter_documents(queryset=None, *, chunk_size: int = CHUNK_SIZE) -> Iterator[SearchDocument]:
    """Documents for the published articles of `queryset` (default: all), by id.

    Walks the table by primary key (keyset pagination) instead of OFFSET, so each
    chunk is an index range scan and rows saved meanwhile are neither skipped nor
    repeated.
    """
    queryset = (Article.objects.all() if queryset is None else queryset).published(
        include_scheduled=True
    )
    queryset = _with_index_taxonomy(queryset.order_by("pk"))
    last_pk = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last_pk)[:chunk_size])
        if not chunk:
            return
        for article in chunk:
            yield build_document(article)
        last_pk = chunk[-1].pk
        if len(chunk) < chunk_size:
            return


def documents_for(
    article_ids: Iterable[int], *, chunk_size: int = CHUNK_SIZE
) -> Iterator[SearchDocument]:
    """Documents for these ids that are published now; other ids yield nothing.

    The caller tells which ids vanished by comparing the ids it asked for with the
    ids it got back.
    """
    ids = sorted(set(article_ids))
    for start in range(0, len(ids), chunk_size):
        part = ids[start : start + chunk_size]
        queryset = Article.objects.filter(pk__in=part)
        yield from iter_documents(queryset, chunk_size=chunk_size)
