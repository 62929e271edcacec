"""OpenAPI generation: the error shape on every operation, the Idempotency-Key header on writes,
and the security schemes of our authentication classes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import Direction, OpenApiParameter
from rest_framework import serializers

from distribution.api.summaries import DESCRIPTIONS, SUMMARIES
from distribution.catalogue import codes_for
from distribution.idempotency import HEADER


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.JSONField())  # type: ignore[assignment]  # a field, not .fields


class ErrorResponse(serializers.Serializer):
    error = ErrorDetail()


# Any request can be refused before its view runs: a malformed query string (400), a body over
# MAX_REQUEST_BODY_BYTES (413), a login lock-out or a throttle (429).
_ERROR_STATUSES = {
    "GET": ("400", "401", "403", "404", "413", "429"),
    "POST": ("400", "401", "403", "404", "409", "413", "422", "429"),
    "PATCH": ("400", "401", "403", "404", "409", "413", "422", "429"),
    "PUT": ("400", "401", "403", "404", "409", "413", "422", "429"),
    "DELETE": ("400", "401", "403", "404", "409", "413", "429"),
}


ERROR_STATUS_CODES = {str(status) for status in range(400, 600)}


class AutoSchema(BaseAutoSchema):
    def get_summary(self) -> str | None:
        return SUMMARIES.get((self.method.lower(), self.path))

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature, not DRF's
        """The method's docstring, else the view's own (never one inherited from a base class)."""
        method = getattr(self.view, self.method.lower(), None)
        own = type(self.view).__dict__.get("__doc__")
        return (
            (get_doc(method) if method is not None and method.__doc__ else "")
            or (get_doc(type(self.view)) if own else "")
            or DESCRIPTIONS.get((self.method.lower(), self.path), "")
        )

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method in getattr(self.view, "idempotent_methods", ()) and self.view.get_authenticators():
            params.append(
                OpenApiParameter(
                    HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    required=getattr(self.view, "idempotency_required", False),
                    description="Makes the request safe to retry: the same key and body replay the first "
                    "response; the same key with a different body is refused (422).",
                )
            )
        return params

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction=direction)
        for code in _ERROR_STATUSES.get(self.method, ()):
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorResponse, code)
        app = type(self.view).__module__.split(".")[0]  # the kernel's codes and those of the view's app
        for code, response in responses.items():
            if code in ERROR_STATUS_CODES:
                codes = codes_for(app, int(code))
                if codes:
                    response["description"] = (
                        "Error codes: " + ", ".join(f"`{c}`" for c in codes) + " (docs/errors.md)."
                    )
        return responses


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.authentication.StaffTokenAuthentication"
    name = "StaffToken"

    def get_security_definition(self, auto_schema: BaseAutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer"}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.authentication.MerchantAPIKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: BaseAutoSchema) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": "X-Api-Key"}


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema: BaseAutoSchema) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class PlatformKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.authentication.PlatformKeyAuthentication"
    name = "PlatformKey"

    def get_security_definition(self, auto_schema: BaseAutoSchema) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": "X-Platform-Key"}


class DistributorTokenScheme(OpenApiAuthenticationExtension):
    target_class = "distributors.authentication.DistributorTokenAuthentication"
    name = "DistributorToken"

    def get_security_definition(self, auto_schema: BaseAutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer"}


class TenantRelatedFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "distribution.api.fields.TenantRelatedField"

    def map_serializer_field(self, auto_schema: BaseAutoSchema, direction: Direction) -> dict[str, Any]:
        if self.target.slug_field == "pk":
            return {"type": "integer", "description": "An id of the caller's merchant."}
        return {"type": "string", "description": f"A {self.target.slug_field} of the caller's merchant."}
