"""Query-string helpers for filter, facet and pagination links (they work without JS),
and `web_url`, which lets only http(s) links reach an href."""

from __future__ import annotations

from django import template
from django.http import QueryDict

from library.validators import is_web_url

register = template.Library()


def _encode(params: QueryDict) -> str:
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def toggle_param(context, name: str, value) -> str:
    """The current query with `value` added to or removed from `name`; back to page 1."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    values = params.getlist(name)
    value = str(value)
    params.setlist(name, [v for v in values if v != value] if value in values else [*values, value])
    return _encode(params)


@register.simple_tag(takes_context=True)
def set_param(context, name: str, value) -> str:
    """The current query with `name` set to one value (or removed when empty)."""
    params = context["request"].GET.copy()
    if name != "page":
        params.pop("page", None)
    if value in (None, ""):
        params.pop(name, None)
    else:
        params[name] = str(value)
    return _encode(params)


@register.simple_tag(takes_context=True)
def without_params(context, *names: str) -> str:
    params = context["request"].GET.copy()
    for name in (*names, "page"):
        params.pop(name, None)
    return _encode(params)


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


@register.filter
def web_url(value: object) -> str:
    """The link if it is an http(s) address, else "": a stored bad link never reaches href.

    The model refuses such links on every save path; this is the second line of defence
    for rows written before that check, or by raw SQL.
    """
    return value if is_web_url(value) else ""
