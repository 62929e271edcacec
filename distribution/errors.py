"""Application errors: raised by services, rendered by one exception handler.

Every error has a stable machine-readable `code`, a human message and, where it concerns input,
the offending `fields`. Apps declare their own codes next to their services (`<app>/errors.py`).
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    code = "invalid_request"
    default_message = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        status_code: int | None = None,
        extra: dict[str, Any] | None = None,
    ):
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "invalid"
    default_message = "Some fields are invalid."


class Unprocessable(ApplicationError):
    """Well-formed input that the business rules refuse."""

    status_code = 422
    code = "unprocessable"
    default_message = "The request cannot be processed."


class NotFound(ApplicationError):
    """Missing and "belongs to another merchant" are the same answer."""

    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, *, entity: str, current: str, target: str, message: str | None = None):
        super().__init__(
            message or f"A {entity} in state '{current}' cannot become '{target}'.",
            extra={"current_status": current, "target_status": target},
        )


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to do this."


# Codes the kernel answers with that are not classes above: raised with `code=`, or answered by DRF, the
# middleware and the error handlers (distribution/api/errors.py). Every error code is in a catalogue: this
# table and the classes of each app's errors.py (docs/errors.md lists them all; tests keep it complete).
CODES: dict[str, tuple[int, str]] = {
    "invalid": (400, "Some fields are invalid: `fields` names each one with its problems."),
    "unknown_field": (400, "The body has a field the operation does not read (at any depth): `fields` names it."),
    "invalid_json": (400, "The body is not JSON, is nested too deeply, or holds a lone surrogate."),
    "malformed_request": (400, "The request itself is malformed: its Content-Length, query string or encoding."),
    "bad_request": (400, "The request cannot be read (too many fields, a broken multipart body)."),
    "invalid_cursor": (400, "The `cursor` is not one this API issued: use the `next` or `previous` link as given."),
    "invalid_limit": (400, "`limit` is not a whole number from 1 to 200."),
    "idempotency_key_required": (400, "This operation needs an `Idempotency-Key` header."),
    "invalid_idempotency_key": (400, "The `Idempotency-Key` is empty, too long or not printable ASCII."),
    "not_authenticated": (401, "No credential was given."),
    "authentication_failed": (401, "The credential is unknown, expired, revoked or malformed."),
    "permission_denied": (403, "The credential's role lacks the permission this needs (named in the answer)."),
    "merchant_suspended": (403, "The merchant is suspended: its credentials stop working until it is reactivated."),
    "not_found": (404, "No such object for this merchant (another merchant's object is a 404 too), or no such path."),
    "trailing_slash": (404, "API paths have no trailing slash: the answer names the right one."),
    "method_not_allowed": (405, "The path does not take this method."),
    "not_acceptable": (406, "The Accept header asks for a format this operation does not answer in."),
    "payload_too_large": (413, "The body is larger than MAX_REQUEST_BODY_BYTES."),
    "unsupported_media_type": (415, "The body is not `application/json`."),
    "idempotency_key_reused": (422, "This `Idempotency-Key` was used with a different body."),
    "throttled": (429, "Too many requests for this credential: `Retry-After` says when to try again."),
    "login_locked": (429, "Too many failed logins for this username or address: locked for LOGIN_LOCKOUT_MINUTES."),
    "internal_error": (500, "A bug: the request id in the answer's `X-Request-ID` finds it in the logs."),
}
