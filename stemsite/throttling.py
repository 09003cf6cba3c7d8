"""Who a client is for rate limits and login throttling, and what a locked-out editor sees.

The client's address: by default it is the connection's address (REMOTE_ADDR): headers such as
X-Forwarded-For are written by the client and anyone can forge them. Behind reverse
proxies, set CLIENT_IP_HEADER (e.g. "X-Forwarded-For") and CLIENT_IP_TRUSTED_PROXIES
(how many proxies append to it): each proxy appends the address it saw, so the client
is the N-th entry from the right, and whatever the client put further left is ignored.
IPv6 clients are counted by their /64 network, which one household or server holds.

A wrong password at the admin login says how many attempts remain (`LoginForm`), and
the lockout page when the lock lifts.
"""

from __future__ import annotations

import datetime
import ipaddress
import math

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone


def _meta_key(header: str) -> str:
    return "HTTP_" + header.strip().upper().replace("-", "_")


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text, by the rules in the module docstring."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    if not header:
        return remote
    entries = [e for e in request.META.get(_meta_key(header), "").split(",") if e.strip()]
    proxies = max(1, getattr(settings, "CLIENT_IP_TRUSTED_PROXIES", 1))
    if len(entries) < proxies:
        return remote  # the header is not what the configured proxies write
    address = _parse(entries[-proxies])
    return str(address) if address is not None else remote


def client_ip(request: HttpRequest) -> str:
    """The key a client is counted under: its address, or its /64 for IPv6."""
    text = client_address(request)
    address = _parse(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    if isinstance(address, ipaddress.IPv6Address):
        return str(address.ipv4_mapped)
    if address is None:
        # No usable address (a test client, a broken proxy): one shared bucket, written
        # as an address because django-axes stores the key in an IP column, which
        # PostgreSQL's inet type checks.
        return "0.0.0.0"
    return text


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked-out login: the admin's look, a plain explanation.

    Status 429; the page says how long the lock lasts, when it lifts, that no attempts
    remain until then, and who can lift it sooner; never whether the password was right.
    """
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    lifts_at = lock_lifts_at(request, credentials)
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": minutes,
        "lifts_at": lifts_at,
        "minutes_left": (
            max(1, math.ceil((lifts_at - timezone.now()).total_seconds() / 60))
            if lifts_at
            else minutes
        ),
    }
    return TemplateResponse(request, "admin/locked_out.html", context, status=429).render()


def _attempts(request: HttpRequest, credentials: dict | None) -> list:
    """django-axes' records of this username and address (its database handler's)."""
    handler = AxesProxyHandler.get_implementation()
    get_user_attempts = getattr(handler, "get_user_attempts", None)
    if get_user_attempts is None:  # a cache-based handler keeps no times
        return []
    AxesProxyHandler.update_request(request)
    return list(get_user_attempts(request, credentials))


def lock_lifts_at(request: HttpRequest, credentials: dict | None) -> datetime.datetime | None:
    """When a locked-out login is allowed again: the last failure plus the cool-off."""
    latest = [
        attempts.aggregate(latest=Max("attempt_time"))["latest"]
        for attempts in _attempts(request, credentials)
    ]
    latest = [when for when in latest if when is not None]
    return max(latest) + settings.AXES_COOLOFF_TIME if latest else None


def attempts_left(request: HttpRequest, credentials: dict | None) -> int:
    """Failed logins this username may still make from this address before the lock."""
    AxesProxyHandler.update_request(request)
    failures = AxesProxyHandler.get_failures(request, credentials)
    return max(0, settings.AXES_FAILURE_LIMIT - failures)


class LoginForm(AdminAuthenticationForm):
    """The admin login form; a wrong password also says how many attempts remain."""

    def get_invalid_login_error(self) -> ValidationError:
        error = super().get_invalid_login_error()
        left = attempts_left(self.request, {"username": self.cleaned_data.get("username")})
        minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
        return ValidationError(
            f"{error.message} {left} attempt{'s' if left != 1 else ''} left before logins "
            f"to this account from your address are locked for {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            code=error.code,
            params=error.params,
        )
