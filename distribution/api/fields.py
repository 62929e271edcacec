"""Serializer fields for money, rates and merchant-scoped relations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from distribution import identifiers, money
from distribution.inputs import is_ascii_integer

if TYPE_CHECKING:
    from distribution.tenancy import Tenant, TenantModel, TenantQuerySet


def merchant_from_context(context: Mapping[str, Any]) -> Tenant | None:
    merchant = context.get("merchant")
    if merchant is None:
        request = context.get("request")
        merchant = getattr(getattr(request, "auth", None), "merchant", None)
    return merchant


MONEY_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$"
MONEY_STRING = re.compile(MONEY_PATTERN[1:-1])


@extend_schema_field({"type": "string", "pattern": MONEY_PATTERN, "example": "12.34"})
class MoneyField(serializers.Field):
    """A decimal string ("12.34") in the API, integer minor units (1234) inside.

    The currency is the caller's merchant's (or `currency` in the serializer context).
    """

    default_error_messages = {
        "invalid": 'Enter an amount as a decimal string such as "12.34".',
        "min_value": "Must be at least {min_value}.",
        "max_value": "Must be at most {max_value}.",
    }

    def __init__(
        self, *, min_value: int | None = None, max_value: int | None = money.MAX_AMOUNT, **kwargs: Any
    ) -> None:
        self.min_value = min_value
        self.max_value = max_value
        super().__init__(**kwargs)

    def _currency(self) -> str:
        currency = self.context.get("currency")
        if currency:
            return currency
        merchant = merchant_from_context(self.context)
        return merchant.currency if merchant is not None else "CNY"

    def to_internal_value(self, data: Any) -> int:
        # A string in the documented shape, ASCII digits only: no JSON number ("1E-999999999", 12.5), no
        # exponent, sign, underscore, padding or other digits ("1e3", "+12", "1_000.00", " 12", "１２").
        if not isinstance(data, str) or not MONEY_STRING.fullmatch(data):
            self.fail("invalid")
        currency = self._currency()
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


class IntegerField(serializers.IntegerField):
    """A whole number: a JSON integer or a string of ASCII digits ("12", "-3"). DRF's own field also takes
    12.0, " 12", "+12", "1_000" and "１２" (int() does); this one refuses them."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (isinstance(data, int) or is_ascii_integer(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


class DateTimeField(serializers.DateTimeField):
    """ISO 8601 in ASCII, between the years 2000 and 2100 (a year 7606 is a typo, not a plan).

    `future_limit`, when given, refuses times later than now plus that much ("as of", "paid at")."""

    default_error_messages = {
        "ascii": "Use an ISO 8601 date and time in ASCII digits.",
        "range": "Must be between 2000-01-01 and 2100-01-01.",
        "future": "Cannot be in the future.",
    }
    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
    LATEST = datetime(2100, 1, 1, tzinfo=UTC)

    def __init__(self, *, future_limit: timedelta | None = None, **kwargs: Any) -> None:
        self.future_limit = future_limit
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str) and (not value.isascii() or len(value) > 64):
            self.fail("ascii")
        parsed = super().to_internal_value(value)
        if not self.EARLIEST <= parsed < self.LATEST:
            self.fail("range")
        if self.future_limit is not None and parsed > timezone.now() + self.future_limit:
            self.fail("future")
        return parsed


class PhoneField(serializers.CharField):
    """A phone number in any usual spelling ('+86 137-0000-1111', full-width or other digits), returned in
    its canonical form ('13700001111', distribution.identifiers)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value == "":
            return value
        problem = identifiers.phone_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="invalid")
        return identifiers.canonical_phone(value)


@extend_schema_field(OpenApiTypes.INT)
class BasisPointsField(IntegerField):
    """A rate in basis points: 1000 = 10%."""

    def __init__(self, **kwargs: Any) -> None:
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

    def __init__(self, *, model: type[TenantModel], slug_field: str = "pk", **kwargs: Any) -> None:
        self.model = model
        self.slug_field = slug_field
        kwargs["queryset"] = model.objects.none()  # DRF wants one; get_queryset() scopes the real one
        super().__init__(**kwargs)

    def get_queryset(self) -> TenantQuerySet[Any]:
        merchant = merchant_from_context(self.context)
        if merchant is None:
            raise ImproperlyConfigured("TenantRelatedField needs the merchant in the serializer context")
        return self.model.objects.for_merchant(merchant)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, (bool, dict, list)) or data is None:
            self.fail("incorrect_type")
        if self.slug_field == "pk":
            # an id is a whole JSON number or its ASCII digits, within bigint: never a float or a decimal
            # such as 1E+999999999, whose int() would build a billion-digit number before any query
            if isinstance(data, str) and is_ascii_integer(data) and len(data) <= 19:
                data = int(data)
            if not isinstance(data, int) or not 0 < data < 2**63:
                self.fail("does_not_exist" if isinstance(data, (int, str)) else "incorrect_type")
        elif not isinstance(data, str):
            self.fail("incorrect_type")
        if isinstance(data, str) and "\x00" in data:  # no object is named so (and PostgreSQL refuses it)
            self.fail("does_not_exist")
        try:
            return self.get_queryset().get(**{self.slug_field: data})
        except (self.model.DoesNotExist, ValueError, TypeError):
            self.fail("does_not_exist")

    def to_representation(self, value: Any) -> Any:
        return getattr(value, self.slug_field)


class SecretField(serializers.CharField):
    """A credential (API key, token, signing secret) shown once, in the response that made it.

    Only its hash is kept. The response is never stored with it either: when the request carried an
    Idempotency-Key, the copy kept for replays has this field null and `secret_withheld` true
    (distribution.idempotency.storable), so a replay returns the object and says the secret is not repeated.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


@extend_schema_field(
    {
        "type": "boolean",
        "description": "True on a replay of this response (same Idempotency-Key): the secret is not repeated "
        "and is null; it was shown once, in the first response.",
    }
)
class SecretWithheldField(serializers.ReadOnlyField):
    """False in the response that shows a secret; true (with the secret null) in its stored replay."""

    def get_attribute(self, instance: Any) -> bool:
        return False
