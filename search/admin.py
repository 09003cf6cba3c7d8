"""The search's admin: what readers search for, and what editors teach search.

"Search terms": terms are recorded by the results page (`search.terms`); editors read
them here, most searched first, filter those that found nothing, and turn a term into an
alias of a disease or therapy, after which the term finds that entry's articles.

"Intents" and "Editors' picks" (issue 19): the phrases that say what a reader wants to
know, with the tags and section headings that answer it; and articles pinned to the top
of a query's results, with a report of picks whose article readers cannot see. Both keep
their history (one revision per save) and take effect on the next search.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from library.facets import FACET_MODELS, facet_title, parameter_of
from library.models import Disease, Therapy, split_aliases
from search.models import (
    INTENT_HISTORY,
    EditorsPick,
    Intent,
    SearchTerm,
    normalise_query,
)


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


@admin.register(Intent)
class IntentAdmin(SimpleHistoryAdmin):
    list_display = ["label", "phrases", "headings", "tag_names", "active"]
    list_filter = ["active"]
    search_fields = ["label", "slug", "phrases", "headings"]
    prepopulated_fields = {"slug": ["label"]}
    autocomplete_fields = ["tags"]
    fields = ["label", "slug", "phrases", "headings", "tags", "active"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="Tags")
    def tag_names(self, obj: Intent) -> str:
        return ", ".join(tag.name for tag in obj.tags.all()) or "—"

    def save_model(self, request: HttpRequest, obj: Intent, form, change: bool) -> None:
        # One revision per save, taken once the tags are saved too (save_related).
        obj.skip_history_when_saving = True
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        intent = form.instance
        del intent.skip_history_when_saving
        INTENT_HISTORY.create_historical_record(intent, "~" if change else "+")


class PickPublicationFilter(admin.SimpleListFilter):
    """The report editors fix: picks whose article readers cannot see (a draft, or
    scheduled for later), which lead nothing until the article is back."""

    title = "readers see the article"
    parameter_name = "article"

    def lookups(self, request, model_admin):
        return [("waiting", "No: unpublished or scheduled"), ("live", "Yes")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.waiting()
        if self.value() == "live":
            return queryset.visible()
        return queryset


@admin.register(EditorsPick)
class EditorsPickAdmin(SimpleHistoryAdmin):
    list_display = ["query", "article_title", "readers_see", "order", "note", "updated_at"]
    list_filter = [PickPublicationFilter]
    list_select_related = ["article"]
    search_fields = ["query", "note", "article__title"]
    autocomplete_fields = ["article"]
    fields = ["query", "article", "order", "note", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    ordering = ["query", "order", "pk"]

    @admin.display(description="Article", ordering="article__title")
    def article_title(self, obj: EditorsPick) -> str:
        return obj.article.title

    @admin.display(description="Readers see the article")
    def readers_see(self, obj: EditorsPick) -> str:
        article = obj.article
        if article.is_scheduled:
            return f"Not yet: scheduled for {date_format(article.published_on, 'j F Y')}"
        return "Yes" if article.is_published else "No: not published"

    def changelist_view(self, request: HttpRequest, extra_context=None):
        waiting = EditorsPick.objects.waiting().count()
        if waiting and request.GET.get(PickPublicationFilter.parameter_name) != "waiting":
            url = reverse("admin:search_editorspick_changelist") + "?article=waiting"
            self.message_user(
                request,
                format_html(
                    "{} pick(s) lead nothing because readers cannot see their article "
                    '(unpublished or scheduled): <a href="{}">list them</a>, then publish '
                    "the article, pin another or delete the pick.",
                    waiting,
                    url,
                ),
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)
