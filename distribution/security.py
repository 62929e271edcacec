"""Who the client is, as far as a rate limit or a lock-out may trust it, and what a locked-out login sees.

The client address is REMOTE_ADDR unless TRUSTED_PROXY_COUNT says how many reverse proxies of ours stand in
front: then it is the address the outermost of them saw, read from the right of X-Forwarded-For (each proxy
appends the address it received the request from; anything to the left of ours was written by the client
and proves nothing). With the default of 0 the header is ignored, so rotating it cannot reset a counter.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from distribution.api.errors import error_body


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or None when the request has none (an internal request, a unix socket)."""
    remote = _address(request.META.get("REMOTE_ADDR"))
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    # not an address: our proxies never write that, so trust only the connection
    return _address(forwarded[-min(trusted, len(forwarded))]) or remote


def login_username(request: HttpRequest | None, credentials: dict[str, Any] | None = None) -> str:
    """The username a login attempt is counted under (django-axes): as given, cut to a username's length
    (150), so that a 15 KB "username" is counted, not a database error."""
    if credentials is not None:
        value = credentials.get("username")
    else:
        value = request.POST.get("username") if request is not None else None
    return str(value or "").replace("\x00", "")[:150]


def login_lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """django-axes calls this once a username or an address has failed LOGIN_FAILURE_LIMIT times: a 429 with
    Retry-After, in the API's error shape for the API and as a page for the admin and browser logins."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    message = f"Too many failed logins for this account or address: try again in {minutes} minutes."
    retry_after = str(minutes * 60)
    response: HttpResponse
    if request.path.startswith("/api/v1/"):
        response = JsonResponse(error_body("login_locked", message), status=429)
    else:
        html = render_to_string("distribution/login_locked.html", {"message": message}, request=request)
        response = HttpResponse(html, status=429)
    response["Retry-After"] = retry_after
    return response
