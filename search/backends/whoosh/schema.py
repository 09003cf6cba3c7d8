"""What the Whoosh index stores for each article, and how.

`build_schema()` is the index schema; `document_fields()` turns a `SearchDocument`
into its field values. All searchable text is one positional field, `text`, whose
postings carry the BM25F section weights (`SECTION_WEIGHTS`; see `FoldedText` in
`search.backends.whoosh_analysis`), so one posting list per term serves document
sets, phrase checks and scoring. The facet fields are named as the facets are
(`FACETS` in `search.backends.base`). Taxonomy names repeat across many articles,
so their spelling and completion terms are indexed once, on pseudo-documents
(`vocabulary_fields`, ids starting with `VOCABULARY_PREFIX`) that searches never
return.
"""

from __future__ import annotations

from collections.abc import Iterable

from whoosh import columns, fields

from search.backends.base import (
    SearchDocument,
)
from search.backends.whoosh_analysis import (
    CompletionTokenizer,
    FoldedText,
    FoldingTokenizer,
    fold,
)

# BM25F section weights: title above summary and taxonomy, those above body.
SECTION_WEIGHTS = {"title": 4.0, "summary": 2.0, "taxonomy": 2.0, "body": 1.0}
VOCABULARY_PREFIX = "vocab:"  # ids of the pseudo-documents carrying taxonomy words


def build_schema() -> fields.Schema:
    """The index schema: only what search, facets, sorting and highlights need.

    All searchable text is one positional field, `text`, whose sections (title,
    summary, taxonomy names and aliases with tag names, body) are weighted inside
    the postings (see `FoldedText`): one posting list per term makes document sets,
    phrase checks and scoring 4x cheaper than one field per section, and indexing
    writes a third fewer postings. Title, summary and body are stored (not indexed
    again) for highlights and more-like-this, with where the body's sections start
    (heading, anchor, offset: a result's answering section); ids, dates and the sort title are
    columns, readable without unpickling stored documents. `spell` holds the
    unstemmed words of titles and taxonomy names ("Did you mean" vocabulary) and
    `complete` the autocomplete phrases. Taxonomy names repeat across thousands of
    articles, so their `spell` and `complete` terms are indexed once, on small
    pseudo-documents (id `vocab:<name>`) that searches never return.
    """
    return fields.Schema(
        id=fields.ID(unique=True, stored=True, sortable=True),
        slug=fields.STORED(),
        title=fields.STORED(),
        summary=fields.STORED(),
        body=fields.STORED(),
        sections=fields.STORED(),
        text=FoldedText(analyzer=FoldingTokenizer()),
        spell=FoldedText(analyzer=FoldingTokenizer(stem=False), phrase=False),
        complete=fields.TEXT(analyzer=CompletionTokenizer(), phrase=False),
        disease=fields.KEYWORD(),
        therapy=fields.KEYWORD(),
        tag=fields.KEYWORD(),
        year=fields.ID(),
        published=fields.COLUMN(columns.NumericColumn("i")),
        title_sort=fields.COLUMN(columns.VarBytesColumn()),
        updated_at=fields.COLUMN(columns.VarBytesColumn()),
    )


def document_fields(doc: SearchDocument, schema: fields.Schema | None = None) -> dict:
    """The Whoosh field values for one article (only those `schema` has, when given:
    an index written before a stored field existed keeps taking saves until rebuilt)."""
    weights = SECTION_WEIGHTS
    text = (
        (doc.title, weights["title"]),
        (doc.summary, weights["summary"]),
        ("\n".join(doc.taxonomy + doc.tag_names), weights["taxonomy"]),
        (doc.body, weights["body"]),
    )
    values = {
        "id": str(doc.id),
        "slug": doc.slug,
        "title": doc.title,
        "summary": doc.summary,
        "body": doc.body,
        "sections": [list(section) for section in doc.sections],
        "text": text,
        "spell": doc.title,
        "complete": f"1\x1f{doc.title}\x1e{doc.slug}",
        "disease": " ".join(doc.diseases),
        "therapy": " ".join(doc.therapies),
        "tag": " ".join(doc.tags),
        "year": str(doc.published_on.year),
        "published": doc.published_on.toordinal(),
        "title_sort": fold(doc.title).encode("utf-8"),
        "updated_at": doc.updated_at.isoformat().encode("ascii"),
    }
    if schema is not None:
        values = {name: value for name, value in values.items() if name in schema}
    return values


def vocabulary_fields(phrase: str) -> dict:
    """A pseudo-document carrying one taxonomy name's spelling and completion terms."""
    return {
        "id": VOCABULARY_PREFIX + phrase.casefold(),
        "spell": phrase,
        "complete": f"0\x1f{phrase}",
    }


def _taxonomy_phrases(docs: Iterable[SearchDocument]) -> dict[str, str]:
    phrases: dict[str, str] = {}
    for doc in docs:
        for phrase in doc.taxonomy:
            phrases.setdefault(phrase.casefold(), phrase)
    return phrases
