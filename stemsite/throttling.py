"""Who a client is for rate limits and login throttling, and what a locked-out editor sees.

The client's address: by default it is the connection's address (REMOTE_ADDR): headers such as
X-Forwarded-For are written by the client and anyone can forge them. Behind reverse
proxies, set CLIENT_IP_HEADER (e.g. "X-Forwarded-For") and CLIENT_IP_TRUSTED_PROXIES
(how many proxies append to it): each proxy appends the address it saw, so the client
is the N-th entry from the right, and whatever the client put further left is ignored.
IPv6 clients are counted by their /64 network, which one household or server holds.
"""

from __future__ import annotations

import ipaddress
import math

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


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

    Status 429; the page says how long the lock lasts and who can lift it, and never
    whether the password was right.
    """
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": minutes,
    }
    return TemplateResponse(request, "admin/locked_out.html", context, status=429).render()
