"""Validating a request body: unknown fields are refused at every depth, not ignored.

DRF drops keys a serializer does not declare, so `{"items": [{"evil": 1}]}` or a `merchant` inside a
product would pass unseen. Here every key of every object in the body must name a writable field of the
serializer (or nested serializer) that reads it; otherwise the request is a 400 `unknown_field` whose
`fields` name each one by path (`items[0].evil`). Views call it through `BaseApi.validate_input`; other
entrances (the signed webhook, the ingest task) call `validate()` directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from distribution.errors import ValidationFailed

MAX_REPORTED = 50


def unknown_fields(serializer: serializers.BaseSerializer, payload: Any, prefix: str = "") -> list[str]:
    """The paths of the keys in `payload` that `serializer` does not read."""
    if not isinstance(payload, Mapping) or not hasattr(serializer, "fields"):
        return []
    writable = {name: field for name, field in serializer.fields.items() if not field.read_only}
    found: list[str] = []
    for key, value in payload.items():
        path = f"{prefix}{key}"
        field = writable.get(key)
        if field is None:
            found.append(path)
        else:
            found.extend(_nested_unknown(field, value, path))
        if len(found) >= MAX_REPORTED:
            break
    return found[:MAX_REPORTED]


def _nested_unknown(field: serializers.Field, value: Any, path: str) -> list[str]:
    child = getattr(field, "child", None)
    if isinstance(field, (serializers.ListSerializer, serializers.ListField)) and isinstance(value, list):
        if not isinstance(child, serializers.BaseSerializer):
            return []
        found: list[str] = []
        for index, item in enumerate(value):
            found.extend(unknown_fields(child, item, f"{path}[{index}]."))
            if len(found) >= MAX_REPORTED:
                break
        return found
    if isinstance(field, serializers.BaseSerializer) and isinstance(value, Mapping):
        return unknown_fields(field, value, f"{path}.")
    return []


def refuse_unknown_fields(serializer: serializers.BaseSerializer, payload: Any) -> None:
    unknown = unknown_fields(serializer, payload)
    if unknown:
        raise ValidationFailed(
            "Unknown fields in the request.",
            code="unknown_field",
            fields={path: ["Unknown field."] for path in unknown},
        )


def validate(
    serializer_class: type[serializers.Serializer],
    data: Any,
    *,
    context: dict[str, Any],
    partial: bool = False,
    allow_unknown: bool = False,
) -> dict[str, Any]:
    """`data` validated by `serializer_class`: its validated data, or a 400 in the one error shape."""
    serializer = serializer_class(data=data, context=context, partial=partial)
    if not allow_unknown:
        refuse_unknown_fields(serializer, data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
