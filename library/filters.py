"""The FilterSet behind /articles/, the taxonomy pages and the JSON search API.

It validates every reader-supplied parameter (an unknown slug is a form error, not a
server error) and filters the database when browsing. When the reader also typed a
query, `library.listing` hands the same cleaned values to the search backend instead.
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from library.facets import FACET_NAMES, TERM_PARAMETERS
from library.models import Article, Disease, Tag, Therapy

MAX_QUERY_LENGTH = 500
MIN_YEAR, MAX_YEAR = 1900, 2100

BROWSE_ORDERINGS = [
    ("-published_on", "Newest first"),
    ("published_on", "Oldest first"),
    ("title", "Title (A–Z)"),
]
ORDERINGS = [("relevance", "Best match"), *BROWSE_ORDERINGS]
# `spelling=off` searches the words exactly as typed: the link back from corrected results.
SPELLINGS = [("on", "Correct misspellings"), ("off", "Search the words as typed")]
SLUG_PARAMETERS = TERM_PARAMETERS
PARAMETER_LABELS = {
    "q": "search",
    **{name: name for name in FACET_NAMES},
    "ordering": "sort order",
    "spelling": "spelling",
}


def _printable(value: str) -> str:
    """A reader's value as a note may quote it: control characters shown as �."""
    return "".join("\ufffd" if ord(c) < 32 or ord(c) == 127 else c for c in value)


class SlugMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Several slugs may be given; an article must carry all of them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        kwargs.setdefault("conjoined", True)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(*args, **kwargs)

    @classmethod
    def of(cls, model: type[Disease | Therapy | Tag], relation: str) -> SlugMultipleChoiceFilter:
        """The filter on `Article.<relation>`, whose terms are listed at /<relation>/;
        an unknown slug is explained in our words, naming the parameter."""
        name = model._meta.model_name
        message = (
            f"The {name} parameter takes the slug of a {name} listed at /{relation}/ "
            f"(the last part of that {name}’s address)."
        )
        return cls(
            field_name=f"{relation}__slug",
            queryset=model.objects.all(),
            error_messages=dict.fromkeys(
                ("invalid_choice", "invalid_pk_value", "invalid_list"), message
            ),
        )


class YearField(forms.IntegerField):
    """A year written in ASCII digits only.

    `forms.IntegerField` reads "2025.0", full-width digits, "+2025" and "2_025" as 2025, and the
    old decimal field read "2025.5" as 2025: a reader (or a script) deserves to be told.
    """

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not re.fullmatch(r"[0-9]{1,4}", str(value)):
            raise ValidationError("Enter a year in digits, for example 2025.", code="invalid")
        return int(value)


class YearFilter(django_filters.NumberFilter):
    field_class = YearField


class ArticleFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search articles",
        method="filter_text",
        max_length=MAX_QUERY_LENGTH,
        strip=True,
        error_messages={
            "null_characters_not_allowed": "The search (q) cannot contain a null character."
        },
    )
    disease = SlugMultipleChoiceFilter.of(Disease, "diseases")
    therapy = SlugMultipleChoiceFilter.of(Therapy, "therapies")
    tag = SlugMultipleChoiceFilter.of(Tag, "tags")
    year = YearFilter(
        field_name="published_on",
        lookup_expr="year",
        min_value=MIN_YEAR,
        max_value=MAX_YEAR,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "min_value": f"Enter a year from {MIN_YEAR} to {MAX_YEAR}.",
            "max_value": f"Enter a year from {MIN_YEAR} to {MAX_YEAR}.",
        },
    )
    ordering = django_filters.ChoiceFilter(
        label="Sort by",
        choices=ORDERINGS,
        method="filter_ordering",
        empty_label=None,
        error_messages={
            "invalid_choice": (
                "The ordering parameter takes "
                + ", ".join(value for value, _label in ORDERINGS[:-1])
                + f" or {ORDERINGS[-1][0]}."
            )
        },
    )

    spelling = django_filters.ChoiceFilter(
        label="Spelling",
        choices=SPELLINGS,
        method="filter_spelling",
        error_messages={"invalid_choice": "The spelling parameter takes on or off."},
    )

    class Meta:
        model = Article
        fields = ["q", *FACET_NAMES, "ordering", "spelling"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            data = data.copy()
            # An over-long query is cut, not refused: readers paste whole sentences.
            if len(data.get("q", "")) > MAX_QUERY_LENGTH:
                data["q"] = data["q"][:MAX_QUERY_LENGTH]
            # Slugs are lowercase; `disease=LUPUS` means lupus.
            for name in SLUG_PARAMETERS:
                if name in data:
                    data.setlist(name, [value.strip().lower() for value in data.getlist(name)])
        super().__init__(data, *args, **kwargs)

    @classmethod
    def forgiving(cls, data, queryset) -> tuple[ArticleFilter, list[str]]:
        """A valid FilterSet for the HTML pages: invalid parameters are dropped.

        Returns the FilterSet and a plain-language note per dropped parameter, so one
        bad value (`ordering=newest`) never empties a reader's search.
        """
        filterset = cls(data, queryset=queryset)
        if filterset.is_valid():
            return filterset, []
        notes = []
        kept = data.copy()
        for name, errors in filterset.errors.items():
            label = PARAMETER_LABELS.get(name, name)
            values = ", ".join(f"“{_printable(v[:50])}”" for v in data.getlist(name))
            notes.append(f"The {label} {values} could not be used and was ignored: {errors[0]}")
            kept.pop(name, None)
        return cls(kept, queryset=queryset), notes

    def filter_text(self, queryset, name, value):
        """Free text is answered by the search backend (see `library.listing`)."""
        return queryset

    def filter_spelling(self, queryset, name, value):
        """Only the search backend reads it (`correct_spelling`)."""
        return queryset

    @property
    def correct_spelling(self) -> bool:
        """False when the reader asked for the words as typed (`spelling=off`)."""
        return not (self.is_valid() and self.form.cleaned_data.get("spelling") == "off")

    def filter_ordering(self, queryset, name, value):
        """Titles sort case-insensitively, as the search index sorts them."""
        title = Lower("title")
        if value == "title":
            return queryset.order_by(title, "-published_on")
        if value in dict(BROWSE_ORDERINGS):
            return queryset.order_by(value, title)
        return queryset

    @property
    def query_text(self) -> str:
        return (self.form.cleaned_data.get("q") or "") if self.is_valid() else ""

    def ordering_for(self, has_query: bool) -> str:
        """The ordering to apply: relevance is the default only when there is a query."""
        chosen = self.form.cleaned_data.get("ordering") if self.is_valid() else None
        if chosen == "relevance" and not has_query:
            return "-published_on"
        return chosen or ("relevance" if has_query else "-published_on")
