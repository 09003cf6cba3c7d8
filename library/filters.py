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

from library.models import Article, Disease, Tag, Therapy

MAX_QUERY_LENGTH = 500

BROWSE_ORDERINGS = [
    ("-published_on", "Newest first"),
    ("published_on", "Oldest first"),
    ("title", "Title (A–Z)"),
]
ORDERINGS = [("relevance", "Best match"), *BROWSE_ORDERINGS]


class SlugMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Several slugs may be given; an article must carry all of them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        kwargs.setdefault("conjoined", True)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(*args, **kwargs)


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
    )
    disease = SlugMultipleChoiceFilter(field_name="diseases__slug", queryset=Disease.objects.all())
    therapy = SlugMultipleChoiceFilter(field_name="therapies__slug", queryset=Therapy.objects.all())
    tag = SlugMultipleChoiceFilter(field_name="tags__slug", queryset=Tag.objects.all())
    year = YearFilter(
        field_name="published_on",
        lookup_expr="year",
        min_value=1900,
        max_value=2100,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    ordering = django_filters.ChoiceFilter(
        label="Sort by", choices=ORDERINGS, method="filter_ordering", empty_label=None
    )

    class Meta:
        model = Article
        fields = ["q", "disease", "therapy", "tag", "year", "ordering"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            data = data.copy()
            # An over-long query is cut, not refused: readers paste whole sentences.
            if len(data.get("q", "")) > MAX_QUERY_LENGTH:
                data["q"] = data["q"][:MAX_QUERY_LENGTH]
        super().__init__(data, *args, **kwargs)

    def filter_text(self, queryset, name, value):
        """Free text is answered by the search backend (see `library.listing`)."""
        return queryset

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
