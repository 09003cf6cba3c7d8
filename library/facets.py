"""The results page's facets as the library's code sees them, defined once.

`search.backends.base.FACET_FIELDS` names each facet: `name` is the list pages' URL
parameter and the key of a page's facets (and of the JSON API's `facets`), `field`
the article's relation and the `SearchQuery` filter of the same name. Everything
here is derived from it: each taxonomy facet's model is the model of that article
relation, and the facet that is no relation is the year of publication.
"""

from __future__ import annotations

from django.db import models

from library.models import Article
from search.backends.base import FACET_FIELDS, FACETS, Facet

#: The facets whose values are taxonomy terms (disease, therapy, tag), in page order.
TERM_FACETS: tuple[Facet, ...] = tuple(
    facet
    for facet in FACET_FIELDS
    if any(field.name == facet.field for field in Article._meta.many_to_many)
)
#: Each taxonomy facet's URL parameter → its model.
FACET_MODELS: dict[str, type[models.Model]] = {
    facet.name: Article._meta.get_field(facet.field).related_model for facet in TERM_FACETS
}
#: The taxonomy facets' URL parameters.
TERM_PARAMETERS: tuple[str, ...] = tuple(FACET_MODELS)
#: The year-of-publication facet's parameter (the one facet that is not a relation).
(YEAR,) = (name for name in FACETS if name not in FACET_MODELS)
#: Every facet's parameter, in page order.
FACET_NAMES: tuple[str, ...] = FACETS


def parameter_of(model: type[models.Model]) -> str:
    """The URL parameter that filters the list pages by a term of `model`."""
    return next(name for name, facet_model in FACET_MODELS.items() if facet_model is model)


def facet_title(name: str) -> str:
    """A facet's heading on the list pages: its model's plural name, or "Year"."""
    model = FACET_MODELS.get(name)
    return str(model._meta.verbose_name_plural).capitalize() if model else name.capitalize()
