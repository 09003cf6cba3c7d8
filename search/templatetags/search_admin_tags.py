"""The admin home page's pointer to the editors' picks that lead nothing (issue 19)."""

from __future__ import annotations

from django import template

from search.models import EditorsPick

register = template.Library()


@register.simple_tag(takes_context=True)
def waiting_pick_count(context) -> int:
    """Picks whose article readers cannot see, for staff who may view picks: one COUNT."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.has_perm("search.view_editorspick"):
        return 0
    return EditorsPick.objects.waiting().count()
