from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format

from library.models import Article, Disease, Tag, Therapy
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


@admin.register(Disease)
class DiseaseAdmin(TaxonomyAdmin):
    fields = ["name", "slug", "aliases", "description"]


@admin.register(Therapy)
class TherapyAdmin(TaxonomyAdmin):
    fields = ["name", "slug", "aliases", "description"]


@admin.register(Tag)
class TagAdmin(TaxonomyAdmin):
    search_fields = ["name", "slug"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "publication", "published_on", "updated_at"]
    list_filter = ["status", "diseases", "therapies", "tags"]
    list_select_related = True
    search_fields = ["title", "slug", "summary"]
    date_hierarchy = "published_on"
    autocomplete_fields = ["diseases", "therapies", "tags"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at", "updated_at"]
    actions = ["publish", "unpublish"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body"]}),
        ("Publication", {"fields": ["status", "published_on", "source_name", "source_url"]}),
        ("Taxonomy", {"fields": ["diseases", "therapies", "tags"]}),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Readers see it")
    def publication(self, obj: Article) -> str:
        if obj.is_scheduled:
            return f"Scheduled for {date_format(obj.published_on, 'j F Y')}"
        return "Live" if obj.is_published else "Not published"

    def save_model(self, request: HttpRequest, obj: Article, form, change: bool) -> None:
        if "status" in form.changed_data and "published_on" not in form.changed_data:
            obj.date_publication(form.initial.get("status"))
        super().save_model(request, obj, form, change)

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
        changed = queryset.set_status(Article.Status.PUBLISHED)
        self.message_user(request, f"Published {changed} article(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected articles (back to draft)", permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet) -> None:
        changed = queryset.set_status(Article.Status.DRAFT)
        self.message_user(request, f"Unpublished {changed} article(s).", messages.SUCCESS)
