"""The editors' admin: articles (with revisions, preview, bulk publishing, title-first
search and the Further reading rows of `library.forms`), diseases, therapies, tags and
tag redirects."""

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.views.main import ORDER_VAR
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.formats import date_format
from simple_history.admin import SimpleHistoryAdmin

from library.forms import ArticleAdminForm
from library.history import compare, record_revisions, revert
from library.models import Article, Disease, Tag, TagRedirect, Therapy
from library.rendering import render_markdown
from search.index import pending_update_count


class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "article_count"]
    search_fields = ["name", "slug", "aliases"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).with_article_counts().order_by("name")

    @admin.display(description="Published articles", ordering="article_count")
    def article_count(self, obj) -> int:
        return obj.article_count


class PublicationFilter(admin.SimpleListFilter):
    """What readers see: live now, scheduled for a later date, or nothing (a draft)."""

    title = "readers see it"
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("scheduled", "Scheduled"), ("draft", "Not published")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.published()
        if self.value() == "scheduled":
            return queryset.scheduled()
        if self.value() == "draft":
            return queryset.exclude(status=Article.Status.PUBLISHED)
        return queryset


class ReviewStateFilter(admin.SimpleListFilter):
    """Medical review: overdue, due within `REVIEW_SOON_DAYS`, never reviewed."""

    title = "medical review"
    parameter_name = "review"
    states = {
        "overdue": ("Overdue", "review_overdue"),
        "soon": ("Due within 30 days", "review_due_soon"),
        "never": ("Never reviewed", "never_reviewed"),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _method) in self.states.items()]

    def queryset(self, request, queryset):
        if self.value() in self.states:
            return getattr(queryset, self.states[self.value()][1])()
        return queryset


class TopicAdmin(TaxonomyAdmin):
    """Diseases and therapies: a topic page, which opens with its "Start here" article."""

    fields = ["name", "slug", "aliases", "description", "start_here"]

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        """Start here offers only published articles filed under this term."""
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("start_here")
        if field is not None:
            kind = self.model._meta.verbose_name
            field.queryset = obj.start_here_choices() if obj else Article.objects.none()
            field.empty_label = "The default: the article most specifically about it"
            field.error_messages["invalid_choice"] = (
                f"That article is not a published article filed under this {kind} "
                "(it may have been unpublished or unfiled meanwhile). Choose another, or "
                "leave Start here empty for the default."
            )
        return form


@admin.register(Disease)
class DiseaseAdmin(TopicAdmin):
    pass


@admin.register(Therapy)
class TherapyAdmin(TopicAdmin):
    pass


@admin.register(Tag)
class TagAdmin(TaxonomyAdmin):
    search_fields = ["name", "slug"]


@admin.register(TagRedirect)
class TagRedirectAdmin(admin.ModelAdmin):
    list_display = ["old_slug", "target_kind", "target_slug"]
    search_fields = ["old_slug", "target_slug"]


@admin.register(Article)
class ArticleAdmin(SimpleHistoryAdmin):
    list_display = ["title", "status", "publication", "published_on", "review", "updated_at"]
    list_filter = ["status", PublicationFilter, ReviewStateFilter, "diseases", "therapies", "tags"]
    list_select_related = True
    search_fields = ["title", "slug", "summary", "body"]
    object_history_template = "admin/library/article/object_history.html"
    change_form_template = "admin/library/article/change_form.html"
    date_hierarchy = "published_on"
    autocomplete_fields = ["diseases", "therapies", "tags"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at", "updated_at"]
    actions = ["publish", "unpublish"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    form = ArticleAdminForm
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "key_points", "body"]}),
        (
            "Publication",
            {"fields": ["status", "published_on", "source_name", "source_url", "source_keywords"]},
        ),
        ("Taxonomy", {"fields": ["diseases", "therapies", "tags"]}),
        ("Context for readers", {"fields": ["editor_note", "further_reading"]}),
        (
            "Medical review and corrections",
            {"fields": ["last_reviewed_on", "reviewed_by", "next_review_due", "update_note"]},
        ),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Readers see it")
    def publication(self, obj: Article) -> str:
        if obj.is_scheduled:
            return f"Scheduled for {date_format(obj.published_on, 'j F Y')}"
        return "Live" if obj.is_published else "Not published"

    @admin.display(description="Review", ordering="next_review_due")
    def review(self, obj: Article) -> str:
        state = obj.review_state
        if state in ("overdue", "due soon"):
            return f"{state.capitalize()} ({date_format(obj.next_review_due, 'j M Y')})"
        return state.capitalize()

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """Matches as usual (title, slug, summary, body); unless a column was chosen to
        sort by, those whose title holds the whole search come first, then those whose
        title holds every word, then the rest, each group in the list's usual order."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        words = search_term.split()
        if words and ORDER_VAR not in request.GET:
            every_word = Q()
            for word in words:
                every_word &= Q(title__icontains=word)
            queryset = queryset.annotate(
                title_match=Case(
                    When(title__icontains=" ".join(words), then=Value(2)),
                    When(every_word, then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            ).order_by("-title_match", *queryset.query.order_by)
        return queryset, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Article, form, change: bool) -> None:
        if "status" in form.changed_data and "published_on" not in form.changed_data:
            obj.date_publication(form.initial.get("status"))
        # One revision per save, taken after the taxonomy is saved too (save_related).
        obj.skip_history_when_saving = True
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        article = form.instance
        del article.skip_history_when_saving
        changed = ", ".join(form.changed_data) if change else ""
        reason = f"Changed {changed}" if changed else ("Changed" if change else "Added")
        record_revisions([article.pk], reason=reason, user=request.user)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name="library_article_preview"),
            path(
                "<path:object_id>/history/compare/",
                view(self.compare_view),
                name="library_article_compare",
            ),
            path(
                "<path:object_id>/history/<int:history_id>/revert/",
                view(self.revert_view),
                name="library_article_revert",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """POST body=…: the Markdown rendered and sanitised exactly as on the article page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_change_permission(request) or self.has_add_permission(request)):
            raise PermissionDenied
        return HttpResponse(render_markdown(request.POST.get("body", "")))

    def _article_and_revisions(self, request: HttpRequest, object_id: str, *history_ids):
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        revisions = article.history.filter(history_id__in=history_ids).select_related(
            "history_user"
        )
        found = {revision.history_id: revision for revision in revisions}
        if len(found) != len(set(history_ids)):
            raise Http404("No such revision of this article.")
        return article, [found[i] for i in history_ids]

    def compare_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Two revisions side by side: ?old=<id>&new=<id> (either order is fine)."""
        try:
            ids = sorted({int(request.GET["old"]), int(request.GET["new"])})
        except (KeyError, ValueError):
            self.message_user(request, "Choose two revisions to compare.", messages.WARNING)
            return redirect("admin:library_article_history", object_id)
        if len(ids) != 2:
            self.message_user(request, "Choose two different revisions.", messages.WARNING)
            return redirect("admin:library_article_history", object_id)
        article, (old, new) = self._article_and_revisions(request, object_id, *ids)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Compare revisions of “{article}”",
            "article": article,
            "old": old,
            "new": new,
            "changes": compare(old, new),
        }
        return TemplateResponse(request, "admin/library/article/compare.html", context)

    def revert_view(self, request: HttpRequest, object_id: str, history_id: int) -> HttpResponse:
        """A confirmation page; the POST restores the revision as a new revision."""
        article, (revision,) = self._article_and_revisions(request, object_id, history_id)
        if request.method == "POST":
            if not self.has_change_permission(request, article):
                raise PermissionDenied
            revert(article, revision, user=request.user)
            self.log_change(
                request, article, f"Reverted to the revision of {revision.history_date}"
            )
            self.message_user(
                request, f"“{article}” now reads as it did then (a new revision).", messages.SUCCESS
            )
            return redirect("admin:library_article_change", article.pk)
        current = article.history.first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Revert “{article}”?",
            "article": article,
            "revision": revision,
            "changes": [c for c in compare(current, revision) if c.changed] if current else [],
        }
        return TemplateResponse(request, "admin/library/article/revert.html", context)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        pending = pending_update_count()
        if pending:
            self.message_user(
                request,
                f"{pending} article(s) could not be updated in the search index and are "
                "queued: readers' searches may not show the latest changes until "
                "`python manage.py update_index` runs.",
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Publish selected articles", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        changed = self._set_status(request, queryset, Article.Status.PUBLISHED, "Published")
        self.message_user(request, f"Published {changed} article(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected articles (back to draft)", permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet) -> None:
        changed = self._set_status(request, queryset, Article.Status.DRAFT, "Unpublished")
        self.message_user(request, f"Unpublished {changed} article(s).", messages.SUCCESS)

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str, verb: str) -> int:
        """The bulk change, with an entry in each article's admin History (LogEntry)."""
        ids = list(queryset.exclude(status=status).values_list("pk", flat=True))
        changed = Article.objects.filter(pk__in=ids).set_status(status)
        if ids:
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=Article.objects.filter(pk__in=ids),
                action_flag=CHANGE,
                change_message=f"{verb} (bulk action)",
            )
        return changed
