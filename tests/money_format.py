"""Money is a decimal string in every request and response: the rule, for the schema and for answers.

A property is money when the OpenAPI schema gives it the money pattern. The schema walk refuses any
other property whose name says money (`amount`, `price`, `fee`, `balance`, …); the response walk, run on
every JSON answer the test suite produces (tests/conftest.py), refuses a money property holding anything
but a decimal string or null.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from distribution.api.fields import MONEY_PATTERN

MONEY_NAME = re.compile(
    r"(^|_)(amount|price|discount|fee|fees|tax|total|balance|pending|available|withdrawing|paid_out|receivable|"
    r"earned|reversed|clawed_back|withdrawn|paid|refunded|remaining_today)$"
)
# names that end like money but count things, or say when
NOT_MONEY = {
    "lines_total",
    "rows_total",
    "lines_done",
    "lines_reversed",
    "distributors_done",
    "chunks_done",
    "paid_at",
    "refunded_quantity",
}


def is_money_name(name: str) -> bool:
    return bool(MONEY_NAME.search(name)) and name not in NOT_MONEY


def _properties(node: Any, path: str = ""):
    """(path, name, schema) of every property anywhere in a schema tree."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{path}.{name}", name, prop
        for key, value in node.items():
            yield from _properties(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{path}[{i}]")


def _is_money_schema(prop: dict) -> bool:
    return prop.get("type") == "string" and prop.get("pattern") == MONEY_PATTERN


def schema_violations(schema: dict) -> list[str]:
    out = []
    for path, name, prop in _properties(schema):
        if not isinstance(prop, dict) or "$ref" in prop or "allOf" in prop or "oneOf" in prop:
            continue
        if is_money_name(name) and not _is_money_schema(prop) and prop.get("type") not in ("object", "boolean"):
            out.append(f"{path}: {prop.get('type')} (money must be a decimal string)")
    return out


@cache
def money_keys() -> frozenset[str]:
    """Every property name the schema types as money."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return frozenset(name for _, name, prop in _properties(schema) if isinstance(prop, dict) and _is_money_schema(prop))


_MONEY_VALUE = re.compile(MONEY_PATTERN)


def response_violations(body: Any, path: str = "$") -> list[str]:
    out = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key in money_keys() and key not in NOT_MONEY:
                if (
                    value is not None
                    and not isinstance(value, (dict, list, bool))
                    and not (isinstance(value, str) and _MONEY_VALUE.fullmatch(value))
                ):
                    out.append(f"{path}.{key} = {value!r}")
            out.extend(response_violations(value, f"{path}.{key}"))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            out.extend(response_violations(value, f"{path}[{i}]"))
    return out


def check_response(response) -> list[str]:
    content_type = response.get("Content-Type", "") if hasattr(response, "get") else ""
    if "json" not in content_type or not getattr(response, "content", b""):
        return []
    try:
        body = json.loads(response.content)
    except ValueError:
        return []
    if isinstance(body, dict) and "openapi" in body:  # the schema itself: its examples are checked above
        return []
    return [
        f"{response.wsgi_request.path if hasattr(response, 'wsgi_request') else '?'}: {v}"
        for v in response_violations(body)
    ]
