"""Template tags for the editors' admin pages (the medical review summary on the index)."""

from __future__ import annotations

from django import template

from library.models import Article

register = template.Library()


@register.simple_tag(takes_context=True)
def review_counts(context) -> dict[str, int]:
    """Overdue and soon-due articles, for staff who may view articles; two COUNT queries."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("library.view_article"):
        return {"overdue": 0, "soon": 0}
    return {
        "overdue": Article.objects.review_overdue().count(),
        "soon": Article.objects.review_due_soon().count(),
    }
