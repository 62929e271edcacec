"""Numbers and months as the API accepts them: ASCII digits only.

Python's own parsers are generous: `int()` takes '１２', '٢٦', ' 12', '+12' and '1_000'; `str.isdigit()`
is true for '²', which `int()` then refuses. The API promises less and keeps it: a whole number is an
optional minus and ASCII digits, a month is YYYY-MM, and anything else is a 400 with a field error.
Every hand-written parse of a number from a request goes through here.
"""

from __future__ import annotations

import re

from distribution.errors import ValidationFailed

ASCII_INTEGER = re.compile(r"-?[0-9]{1,18}")
MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
FIRST_MONTH, LAST_MONTH = "2000-01", "2999-12"


def is_ascii_integer(raw: object) -> bool:
    return isinstance(raw, str) and ASCII_INTEGER.fullmatch(raw) is not None


def parse_int(
    raw: str, *, field: str, minimum: int | None = None, maximum: int | None = None, code: str = "invalid"
) -> int:
    """`raw` as an int within [minimum, maximum], or a 400 naming `field`."""
    if is_ascii_integer(raw):
        value = int(raw)
        if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
            return value
    bounds = f" from {minimum}" if minimum is not None else ""
    bounds += f" to {maximum}" if maximum is not None else ""
    raise ValidationFailed(code=code, fields={field: [f"A whole number{bounds}, in ASCII digits."]})


def parse_month(raw: str, *, field: str = "month") -> tuple[int, int]:
    """'2026-12' -> (2026, 12); anything else (another shape, other digits, out of range) is a 400."""
    match = MONTH.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or not FIRST_MONTH <= raw <= LAST_MONTH:
        raise ValidationFailed(fields={field: [f"A month as YYYY-MM, from {FIRST_MONTH} to {LAST_MONTH}."]})
    return int(match.group(1)), int(match.group(2))
