"""Serializer fields for money, rates and merchant-scoped relations."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from distribution import money


def _merchant_from(context: dict):
    merchant = context.get("merchant")
    if merchant is None:
        request = context.get("request")
        merchant = getattr(getattr(request, "auth", None), "merchant", None)
    return merchant


@extend_schema_field({"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$", "example": "12.34"})
class MoneyField(serializers.Field):
    """A decimal string ("12.34") in the API, integer minor units (1234) inside.

    The currency is the caller's merchant's (or `currency` in the serializer context).
    """

    default_error_messages = {
        "invalid": 'Enter an amount as a decimal string such as "12.34".',
        "min_value": "Must be at least {min_value}.",
        "max_value": "Must be at most {max_value}.",
    }

    def __init__(self, *, min_value: int | None = None, max_value: int | None = money.MAX_AMOUNT, **kwargs):
        self.min_value = min_value
        self.max_value = max_value
        super().__init__(**kwargs)

    def _currency(self) -> str:
        currency = self.context.get("currency")
        if currency:
            return currency
        merchant = _merchant_from(self.context)
        return merchant.currency if merchant is not None else "CNY"

    def to_internal_value(self, data) -> int:
        currency = self._currency()
        if isinstance(data, (bool, float)):
            self.fail("invalid")
        try:
            minor = money.parse_amount(data, currency)
        except money.MoneyFormatError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None
        if abs(minor) > money.MAX_AMOUNT:
            self.fail("max_value", max_value=money.format_amount(money.MAX_AMOUNT, currency))
        if self.min_value is not None and minor < self.min_value:
            self.fail("min_value", min_value=money.format_amount(self.min_value, currency))
        if self.max_value is not None and minor > self.max_value:
            self.fail("max_value", max_value=money.format_amount(self.max_value, currency))
        return minor

    def to_representation(self, value: int) -> str:
        return money.format_amount(value, self._currency())


@extend_schema_field(OpenApiTypes.INT)
class BasisPointsField(serializers.IntegerField):
    """A rate in basis points: 1000 = 10%."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", money.BASIS_POINTS)
        super().__init__(**kwargs)


class TenantRelatedField(serializers.RelatedField):
    """A related object named in a request body, looked up only inside the caller's merchant.

    A foreign merchant's id gets the same answer as a missing one. `slug_field` picks the lookup
    (default the primary key).
    """

    default_error_messages = {
        "does_not_exist": "No such object.",
        "incorrect_type": "Incorrect type.",
    }

    def __init__(self, *, model, slug_field: str = "pk", **kwargs):
        self.model = model
        self.slug_field = slug_field
        kwargs["queryset"] = model.objects.none()  # DRF wants one; get_queryset() scopes the real one
        super().__init__(**kwargs)

    def get_queryset(self):
        merchant = _merchant_from(self.context)
        if merchant is None:
            raise ImproperlyConfigured("TenantRelatedField needs the merchant in the serializer context")
        return self.model.objects.for_merchant(merchant)

    def to_internal_value(self, data):
        if isinstance(data, (bool, dict, list)) or data is None:
            self.fail("incorrect_type")
        try:
            return self.get_queryset().get(**{self.slug_field: data})
        except (self.model.DoesNotExist, ValueError, TypeError):
            self.fail("does_not_exist")

    def to_representation(self, value):
        return getattr(value, self.slug_field)
