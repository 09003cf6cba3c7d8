"""Links editors store must be web addresses: `http://` or `https://`, nothing else.

A `javascript:`, `data:` or `vbscript:` "URL" in an `href` runs in the reader's browser
(stored XSS). Browsers forgive a lot before reading the scheme: they drop leading spaces
and control characters and remove tabs and newlines anywhere (`java\tscript:` is
`javascript:`), and schemes are case-insensitive. So a link is accepted only when it
starts with `http://` or `https://` exactly (in any case) and holds no whitespace or
control character at all; then Django's `URLValidator` checks the rest.

The same test guards every path: the model field's validator (admin and `full_clean`),
`Article.save`, raw fixture saves and bulk queryset writes (see `library.models`), and
the `web_url` template filter where a link is rendered.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

WEB_SCHEMES = ("http", "https")
INVALID_SCHEME_MESSAGE = "Enter a web address starting with http:// or https://."

_url_validator = URLValidator(schemes=list(WEB_SCHEMES))


def is_web_url(value: object) -> bool:
    """True for text that starts with http:// or https:// and has no space or control."""
    if not isinstance(value, str) or not value:
        return False
    if any(ord(char) <= 0x20 or 0x7F <= ord(char) <= 0x9F for char in value):
        return False
    scheme, separator, rest = value.partition(":")
    return bool(separator) and scheme.lower() in WEB_SCHEMES and rest.startswith("//")


def validate_web_url(value: str) -> None:
    """Field validator: only well-formed http(s) addresses pass."""
    if not is_web_url(value):
        raise ValidationError(INVALID_SCHEME_MESSAGE, code="invalid_scheme")
    _url_validator(value)


def url_fields(model: type[models.Model]) -> list[models.URLField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.URLField)]


def validate_url_values(model: type[models.Model], values: dict) -> None:
    """Run the URL fields' validators on `values` (field name → value); raise if any fail.

    Expressions (F(), Value()...) in a bulk `update()` cannot be checked and are refused.
    """
    errors: dict[str, list[str]] = {}
    for field in url_fields(model):
        if field.name not in values and field.attname not in values:
            continue
        value = values.get(field.name, values.get(field.attname))
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            errors[field.name] = [f"{field.name} must be plain text, not {type(value).__name__}."]
            continue
        try:
            field.run_validators(value)
        except ValidationError as error:
            errors[field.name] = error.messages
    if errors:
        raise ValidationError(errors)


def validate_url_fields(instance: models.Model) -> None:
    """Check every URL field of `instance`, as `full_clean` would, and nothing else."""
    validate_url_values(
        type(instance), {f.name: getattr(instance, f.attname) for f in url_fields(type(instance))}
    )
