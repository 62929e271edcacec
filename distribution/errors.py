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
