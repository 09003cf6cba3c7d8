"""The "Search terms" report: what readers search for, and a one-step "make it an alias".

Terms are recorded by the results page (`search.terms`); editors read them here, most
searched first, filter those that found nothing, and turn a term into an alias of a
disease or therapy, after which the term finds that entry's articles.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from library.facets import FACET_MODELS, facet_title, parameter_of
from library.models import Disease, Therapy, split_aliases
from search.models import SearchTerm, normalise_query


class ResultsFilter(admin.SimpleListFilter):
    title = "results"
    parameter_name = "results"

    def lookups(self, request, model_admin):
        return [("none", "No results"), ("some", "Found articles")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(last_results=0)
        if self.value() == "some":
            return queryset.filter(last_results__gt=0)
        return queryset


class AliasForm(forms.Form):
    target = forms.ChoiceField(label="Make the selected terms aliases of")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [
            (
                facet_title(parameter_of(model)),
                [(f"{parameter_of(model)}:{t.pk}", t.name) for t in model.objects.only("name")],
            )
            for model in (Disease, Therapy)
        ]

    def term(self) -> Disease | Therapy:
        kind, pk = self.cleaned_data["target"].split(":")
        return FACET_MODELS[kind].objects.get(pk=pk)


def alias_owners() -> dict[str, str]:
    """Normalised name or alias -> "Disease: Lupus": two queries, for the whole page."""
    owners: dict[str, str] = {}
    for model in (Disease, Therapy):
        label = model._meta.verbose_name.capitalize()
        for name, aliases in model.objects.values_list("name", "aliases"):
            for phrase in [name, *split_aliases(aliases)]:
                owners.setdefault(normalise_query(phrase), f"{label}: {name}")
    return owners


@admin.register(SearchTerm)
class SearchTermAdmin(admin.ModelAdmin):
    list_display = ["query", "count", "zero_result_count", "last_results", "last_seen", "alias"]
    list_filter = [ResultsFilter]
    search_fields = ["query"]
    ordering = ["-count", "query"]
    readonly_fields = ["query", "count", "zero_result_count", "last_results", "last_seen"]
    actions = ["make_alias"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # only readers' searches create terms

    def changelist_view(self, request: HttpRequest, extra_context=None):
        self._owners = alias_owners()
        return super().changelist_view(request, extra_context)

    @admin.display(description="Already a name or alias of")
    def alias(self, obj: SearchTerm) -> str:
        return getattr(self, "_owners", {}).get(obj.query, "—")

    @admin.action(description="Make selected terms an alias of a disease or therapy…")
    def make_alias(self, request: HttpRequest, queryset: QuerySet):
        form = AliasForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            term = form.term()
            added = [q for q in queryset.values_list("query", flat=True)]
            term.aliases = "\n".join([*split_aliases(term.aliases), *added])
            term.clean()  # drops duplicates
            term.save()  # the search index follows after commit (search.signals)
            self.message_user(
                request,
                f"{len(added)} term(s) are now aliases of “{term}”: searches for them "
                "find its articles.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Make search terms an alias",
            "form": form,
            "terms": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/search/searchterm/make_alias.html", context)
