"""One error shape for every 4xx and 5xx: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from distribution.errors import ApplicationError

logger = logging.getLogger("distribution.api")


class IdempotentReplay(Exception):
    """Raised when a request repeats an earlier one: the stored response is answered again."""

    def __init__(self, status: int | None, body: Any) -> None:
        self.status = status
        self.body = body


def error_body(code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


# DRF's own codes are kept (permission_denied, not_authenticated, throttled, ...), except these.
_RENAMED_CODES = {"parse_error": "malformed_request", "error": "bad_request"}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, IdempotentReplay):
        return Response(exc.body, status=exc.status, headers={"Idempotent-Replayed": "true"})

    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields, **exc.extra), status=exc.status_code)

    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return Response(error_body("not_found", "Not found."), status=404)

    if isinstance(exc, RequestDataTooBig):
        return Response(payload_too_large_body(), status=413)

    if isinstance(exc, SuspiciousOperation):  # too many fields, a malformed multipart body, …
        return Response(error_body("bad_request", "Bad request."), status=400)

    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("permission_denied", "You do not have permission to do this."), status=403)

    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_body("invalid", "Some fields are invalid.", fields), status=400)

    if isinstance(exc, drf.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = _flatten(detail)
        else:
            fields = {"non_field_errors": _flatten(detail if isinstance(detail, list) else [detail])}
        return Response(error_body("invalid", "Some fields are invalid.", fields), status=400)

    if isinstance(exc, drf.APIException):
        code = getattr(exc.detail, "code", None) or exc.default_code
        code = _RENAMED_CODES.get(code, code)
        headers = {}
        auth_header = getattr(exc, "auth_header", None)  # the challenge DRF sets on a 401
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)  # a throttle's seconds to wait
        if wait is not None:
            headers["Retry-After"] = str(int(wait))
        message = exc.detail if isinstance(exc.detail, str) else "The request is invalid."
        return Response(error_body(code, str(message)), status=exc.status_code, headers=headers)

    logger.exception("unhandled error in %s", context.get("view").__class__.__name__ if context else "?")
    return Response(error_body("internal_error", "An internal error occurred."), status=500)


def payload_too_large_body() -> dict[str, Any]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_body("payload_too_large", f"The request body is larger than {limit} bytes.")


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("internal_error", "An internal error occurred."), status=500)


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(payload_too_large_body(), status=413)
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "You do not have permission to do this."), status=403)
