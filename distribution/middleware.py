from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers

from distribution import rls
from distribution.api.errors import error_body, payload_too_large_body
from distribution.context import new_request_id, request_id_var

_GetResponse = Callable[[HttpRequest], HttpResponseBase]


class RequestIdMiddleware:
    """Gives each request an id (the caller's `X-Request-ID` when sane), logs it, returns it."""

    header = "X-Request-ID"

    def __init__(self, get_response: _GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = new_request_id(request.headers.get(self.header))
        request.request_id = request_id  # type: ignore[attr-defined]  # our own attribute on Django's request
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[self.header] = request_id
        return response


_LENGTH = re.compile(r"[0-9]{1,18}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RequestGuardMiddleware:
    """Refuses, before any view or authentication runs, what no endpoint can use:

    * a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE: 413 `payload_too_large` (by its Content-Length;
      a body read later is bounded by the same setting, see distribution.api.errors);
    * a NUL or another control character in the path (no resource is named so): 404 `not_found`;
    * one in the query string: 400 `malformed_request`.

    Every answer is in the one error shape, for the API, the login pages and the webhook alike.
    """

    def __init__(self, get_response: _GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        refusal = self.refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    @staticmethod
    def refusal(request: HttpRequest) -> JsonResponse | None:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not _LENGTH.fullmatch(length):
            return JsonResponse(error_body("malformed_request", "Malformed Content-Length."), status=400)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and int(length) > limit:
            return JsonResponse(payload_too_large_body(), status=413)
        if _CONTROL.search(request.path):
            return JsonResponse(error_body("not_found", "Not found."), status=404)
        if _CONTROL.search(unquote(request.META.get("QUERY_STRING", ""))):
            return JsonResponse(
                error_body("malformed_request", "Control characters are not allowed in the query string."),
                status=400,
            )
        return None


class TrailingSlashMiddleware:
    """One trailing-slash policy: no API path ends with a slash (`/api/v1/orders`, `/api/schema`,
    `/api/docs`). A GET or HEAD with one is redirected (308) to the path without it; any other method is
    refused with 404 `trailing_slash`, naming the right path, rather than followed with its body again."""

    def __init__(self, get_response: _GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if path.startswith("/api/") and path.endswith("/") and len(path) > len("/api/"):
            canonical = path.rstrip("/")
            try:
                resolve(canonical)
            except Resolver404:
                return self.get_response(request)
            if request.method in ("GET", "HEAD"):
                query = request.META.get("QUERY_STRING", "")
                response = HttpResponsePermanentRedirect(
                    request.META.get("SCRIPT_NAME", "") + canonical + (f"?{query}" if query else "")
                )
                response.status_code = 308
                return response
            return JsonResponse(
                error_body("trailing_slash", f"API paths have no trailing slash: {request.method} {canonical}"),
                status=404,
            )
        return self.get_response(request)


class ApiResponseHeadersMiddleware:
    """Every API answer is private to its credential: `Cache-Control: no-store` (no proxy or browser keeps
    a balance or a token) and `Vary` on the credential headers (no cache serves one caller's answer to
    another)."""

    PREFIX = "/api/v1/"
    CREDENTIAL_HEADERS = ("Authorization", "X-Api-Key", "Cookie")

    def __init__(self, get_response: _GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path.startswith(self.PREFIX):
            response["Cache-Control"] = "no-store"
            patch_vary_headers(response, self.CREDENTIAL_HEADERS)
        return response


class TenantContextMiddleware:
    """Each request runs in its own row-level-security scope (distribution.rls), which starts fail-closed:
    the request's authentication names the merchant from the credential. Operators in the Django admin
    (active staff users) work across merchants, under the bypass."""

    ADMIN_PREFIX = "/admin/"

    def __init__(self, get_response: _GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with rls.scope():
            if request.path.startswith(self.ADMIN_PREFIX) and _is_operator(request):
                with rls.bypass():
                    return self.get_response(request)
            return self.get_response(request)


def _is_operator(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)
