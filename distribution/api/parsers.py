import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any, NoReturn

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any body the API reads (an order's items are depth 3); 10,000 nested arrays must be a 400, not
# a RecursionError in the decoder, in the serializers or in the idempotency fingerprint.
MAX_DEPTH = 32


def _invalid(message: str) -> ParseError:
    return ParseError(message, code="invalid_json")


class JSONParser(parsers.JSONParser):
    """JSON with numbers that have a fraction parsed as `Decimal`: a float never reaches money code. A body
    that is not JSON, or nests deeper than MAX_DEPTH, is a 400 `invalid_json`."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        return loads(stream.read(), encoding=encoding)


def loads(raw: bytes, *, encoding: str = "utf-8") -> Any:
    """The one JSON decoding of request bodies (the API and the signed webhook)."""
    try:
        data = json.loads(raw.decode(encoding), parse_float=Decimal, parse_constant=_refuse)
    except RecursionError:
        raise _invalid(f"Malformed JSON: nested deeper than {MAX_DEPTH} levels.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(f"Malformed JSON: {exc}") from None
    problem = _shape_problem(data, MAX_DEPTH)
    if problem:
        raise _invalid(f"Malformed JSON: {problem}.")
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def _shape_problem(data: Any, limit: int) -> str | None:
    """Nesting deeper than `limit`, or a lone surrogate (`"\\ud800"`) in a string or a key: JSON allows the
    escape, but it is no character, and no database, log or answer can hold it."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return "a string holds a lone surrogate (\\ud800-\\udfff), which is not a character"
            continue
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return f"nested deeper than {limit} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def _refuse(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")
