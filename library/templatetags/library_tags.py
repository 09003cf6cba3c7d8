"""Query-string helpers for filter, facet and pagination links (they work without JS),
`facet_option`, one facet link, `article_card`, one article in a list, `web_url`,
which lets only http(s) links reach an href, and `numbers_itself` for the contents
list."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import QueryDict
from django.template.defaultfilters import date
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

from library.validators import is_web_url

register = template.Library()


def _encode(params: QueryDict) -> str:
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


def _copy(params: QueryDict) -> QueryDict:
    """A mutable copy of the query: `QueryDict.copy()` deep-copies, and a results page
    builds a link per facet option from it."""
    copied = QueryDict(mutable=True)
    for name, values in params.lists():
        copied.setlist(name, list(values))
    return copied


def _encoded_query(context) -> list[tuple[str, list[str]]]:
    """The request's parameters but "page", each value encoded as `QueryDict.urlencode`
    encodes it: worked out once per page, where each facet option toggles one value."""
    key = "library_tags.encoded_query"
    if key not in context.render_context:
        params = context["request"].GET
        context.render_context[key] = [
            (name, [_encode_pair(params, name, value) for value in values])
            for name, values in params.lists()
            if name != "page"
        ]
    return context.render_context[key]


def _encode_pair(params: QueryDict, name: str, value: str) -> str:
    return urlencode({name.encode(params.encoding): str(value).encode(params.encoding)})


@register.simple_tag(takes_context=True)
def toggle_param(context, name: str, value) -> str:
    """The current query with `value` added to or removed from `name`; back to page 1.

    What `_encode` of a changed copy of the query gives, with only `name`'s values
    encoded again (tests/library/test_query_links.py compares the two).
    """
    params = context["request"].GET
    values = params.getlist(name) if name != "page" else []
    value = str(value)
    toggled = [v for v in values if v != value] if value in values else [*values, value]
    encoded = [_encode_pair(params, name, v) for v in toggled]
    pieces: list[str] = []
    for key, others in _encoded_query(context):
        pieces += encoded if key == name else others
        if key == name:
            encoded = []  # placed where the parameter was
    query = "&".join([*pieces, *encoded])
    return f"?{query}" if query else "?"


@register.simple_tag(takes_context=True)
def set_param(context, name: str, value, **more) -> str:
    """The current query with `name` (and each of `more`) set to one value, or removed
    when empty."""
    params = _copy(context["request"].GET)
    if name != "page":
        params.pop("page", None)
    for key, new in {name: value, **more}.items():
        if new in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(new)
    return _encode(params)


@register.simple_tag
def set_param_only(name: str, value) -> str:
    """A query string with only `name` set: "Clear all" keeps the search text."""
    params = QueryDict(mutable=True)
    params[name] = str(value)
    return _encode(params)


@register.simple_tag(takes_context=True)
def without_params(context, *names: str) -> str:
    params = _copy(context["request"].GET)
    for name in (*names, "page"):
        params.pop(name, None)
    return _encode(params)


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


_OWN_NUMBER = re.compile(r"\s*(\d+|[ivxIVX]+|[A-Za-z])[.)]\s")


@register.filter
def numbers_itself(headings: list) -> bool:
    """True when every heading starts with its own number ("1. HSCT", "2) MSC"): the
    contents list then shows those numbers, not a second set of its own ("1. 1.")."""
    return bool(headings) and all(_OWN_NUMBER.match(heading.text) for heading in headings)


@register.filter
def web_url(value: object) -> str:
    """The link if it is an http(s) address, else "": a stored bad link never reaches href.

    The model refuses such links on every save path; this is the second line of defence
    for rows written before that check, or by raw SQL.
    """
    return value if is_web_url(value) else ""


@register.simple_tag(takes_context=True)
def facet_option(context, name: str, option) -> SafeString:
    """One option of a facet list: a link adding or removing the filter, with its count.

    A tag rather than an included template: a results page lists forty or more options,
    and an include per option was a third of the page's rendering time. The page's own
    scope (a disease page's disease) is shown but cannot be removed.
    """
    count = intcomma(option.count)
    scope = context.get("scope")
    if name == context.get("scope_param") and scope is not None and option.value == scope.slug:
        return format_html(
            '<span class="facet-option is-selected is-fixed">{} <span class="count">{}</span></span>',
            option.label,
            count,
        )
    if name == "year":
        href = (
            without_params(context, "year")
            if option.selected
            else set_param(context, "year", option.value)
        )
    else:
        href = toggle_param(context, name, option.value)
    return format_html(
        '<a class="facet-option{}" href="{}"{} data-facet="{}" data-value="{}">{}{} '
        '<span class="count">{}</span></a>',
        " is-selected" if option.selected else "",
        href,
        SafeString(' aria-current="true"') if option.selected else "",
        name,
        option.value,
        SafeString('<span class="visually-hidden">Remove filter: </span>')
        if option.selected
        else "",
        option.label,
        count,
    )


@register.simple_tag
def article_card(
    article, highlight: str = "", *, first: bool = False, answer_section=None, pick: bool = False
) -> SafeString:
    """One article in a list: its title, date, snippet, the section that answers the
    question and its disease and therapy chips.

    A tag rather than an included template, as `facet_option` is: a results page lists
    twenty cards, and an include per card was a large share of its rendering. The
    markup is what the template wrote, byte for byte (tests/library/test_cards.py).
    `highlight` is safe HTML from the search backend, as is the section's sentence.
    """
    e = conditional_escape
    url = e(article.get_absolute_url())
    anchor = 'id="first-result" ' if first else ""
    out = [
        f'<article class="card" data-slug="{e(article.slug)}">\n',
        f'  <h3 class="card-title"><a {anchor}href="{url}">',
        f"{e(article.title)}</a></h3>\n",
        f'  <p class="meta"><time datetime="{e(date(article.published_on, "Y-m-d"))}">',
        f"{e(date(article.published_on, 'j F Y'))}</time>",
        "" if article.is_published else ' · <strong class="badge">Draft</strong>',
        ' · <strong class="badge badge-pick" data-pick>Editor\'s pick</strong>' if pick else "",
        "</p>\n",
        f'  <p class="snippet">{highlight if highlight else e(article.summary)}</p>\n  ',
    ]
    if answer_section:
        out += [
            '<p class="answer-section" data-answer-section>Answer in: ',
            f'<a href="{url}#{e(answer_section.anchor)}">{e(answer_section.heading)}</a>',
            f": {answer_section.sentence}" if answer_section.sentence else "",
            "</p>",
        ]
    out.append("\n  ")
    diseases, therapies = article.topic_diseases, article.topic_therapies
    if diseases or therapies:
        out.append('\n  <ul class="chips" aria-label="Topics">\n    ')
        out += [
            f'<li><a class="chip chip-disease" href="{e(term.get_absolute_url())}">'
            f"{e(term.name)}</a></li>"
            for term in diseases
        ]
        out.append("\n    ")
        out += [
            f'<li><a class="chip chip-therapy" href="{e(term.get_absolute_url())}">'
            f"{e(term.name)}</a></li>"
            for term in therapies
        ]
        out.append("\n  </ul>\n  ")
    out.append("\n</article>\n")
    return SafeString("".join(out))
