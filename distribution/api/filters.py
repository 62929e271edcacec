"""django-filter, strict: a filter value that does not parse is a 400, never silently ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend

from distribution.inputs import is_ascii_integer
from distribution.tenancy import TenantModel

if TYPE_CHECKING:
    from rest_framework.request import Request


class StrictBooleanField(forms.NullBooleanField):
    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # None too, as NullBooleanField
        if value in (None, ""):
            return None
        if value in (True, "true", "True", "1"):
            return True
        if value in (False, "false", "False", "0"):
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")

    def validate(self, value: Any) -> None:
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 with any offset, handed to the database in UTC (PostgreSQL refuses offsets past ±15:59)."""

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str) and not value.isascii():
            raise forms.ValidationError("Use an ISO 8601 date and time in ASCII digits.", code="invalid")
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Date out of range.", code="invalid") from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class AsciiIntegerField(forms.IntegerField):
    """A whole number in ASCII digits (forms.IntegerField also reads "１２", " 12" and "1_000")."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if not is_ascii_integer(value):
            raise forms.ValidationError("A whole number in ASCII digits.", code="invalid")
        return super().to_python(value)


class IntegerFilter(django_filters.NumberFilter):
    field_class = AsciiIntegerField


class ScopedModelChoiceField(forms.ModelChoiceField):
    """An object's id, looked up in the caller's merchant only: another merchant's id and an id that does
    not exist get the same answer (a 400 naming the filter)."""

    def to_python(self, value: Any) -> models.Model | None:
        if value in self.empty_values:
            return None
        if not is_ascii_integer(value):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class ScopedModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ScopedModelChoiceField

    def __init__(self, *args: Any, model: type[models.Model], **kwargs: Any) -> None:
        def scoped(request: Request | None) -> models.QuerySet[Any]:
            merchant = getattr(getattr(request, "auth", None), "merchant", None)
            # no caller (schema generation), or not a tenant's model: nothing to choose from
            if merchant is not None and issubclass(model, TenantModel):
                return model.objects.for_merchant(merchant)
            return model.objects.none()  # type: ignore[attr-defined]  # a related model is concrete: it has objects

        kwargs["queryset"] = scoped
        super().__init__(*args, **kwargs)


_RELATED = {"filter_class": ScopedModelChoiceFilter, "extra": lambda field: {"model": field.related_model}}
_INTEGER = {"filter_class": IntegerFilter}


class FilterSet(django_filters.FilterSet):
    """Strict filters: booleans, ASCII whole numbers, UTC times, and related ids inside the merchant."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.NullBooleanField: {"filter_class": StrictBooleanFilter},
        models.DateTimeField: {"filter_class": DateTimeFilter},
        models.ForeignKey: _RELATED,
        models.OneToOneField: _RELATED,
        models.AutoField: _INTEGER,
        models.BigAutoField: _INTEGER,
        models.IntegerField: _INTEGER,
        models.SmallIntegerField: _INTEGER,
        models.BigIntegerField: _INTEGER,
        models.PositiveIntegerField: _INTEGER,
        models.PositiveSmallIntegerField: _INTEGER,
        models.PositiveBigIntegerField: _INTEGER,
    }


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet
