"""Money: integer minor units in the database, decimal strings in the API, never a float.

The one rounding rule of the product lives here: amounts computed from rates are exact `Decimal`s
rounded once, half up (四舍五入), to the currency's minor unit by `round_minor`. Splits of an amount
over several parts use `allocate`, whose parts always add up to exactly the amount split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents for the currencies we accept.
CURRENCY_EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "MYR": 2,
    "THB": 2,
    "AUD": 2,
    "CAD": 2,
    "JPY": 0,
    "KRW": 0,
}
CURRENCY_CHOICES = [(code, code) for code in sorted(CURRENCY_EXPONENTS)]
BASIS_POINTS = 10_000
# The largest amount any API field accepts, in minor units (10 trillion yuan): far below bigint's limit,
# so sums of many amounts cannot overflow either.
MAX_AMOUNT = 10**15


_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class MoneyFormatError(ValueError):
    pass


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyFormatError(f"unsupported currency {currency!r}") from None


def parse_amount(value: str | int | Decimal, currency: str) -> int:
    """'12.34' (or Decimal('12.34'), or 12) in major units -> 1234 minor units. Refuses floats and
    more decimal places than the currency has."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyFormatError("amounts must be decimal strings, not floating-point numbers")
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value.strip()):
        # Decimal() itself also reads "1e3", "1_000", "+5" and digits of other scripts ("１２")
        raise MoneyFormatError(f"{value!r} is not a decimal amount in ASCII digits")
    try:
        dec = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyFormatError(f"{value!r} is not a decimal amount") from None
    if not dec.is_finite():
        raise MoneyFormatError("amounts must be finite")
    if dec.adjusted() > 18:  # refuse before scaling: 1e999999999 must not become a billion-digit int
        raise MoneyFormatError("amount too large")
    exp = exponent(currency)
    minor = dec.scaleb(exp)
    if minor != minor.to_integral_value():
        raise MoneyFormatError(f"{currency} amounts have at most {exp} decimal places")
    return int(minor)


def format_amount(minor: int, currency: str) -> str:
    """1234 -> '12.34' (CNY); -5 -> '-0.05'."""
    exp = exponent(currency)
    if exp == 0:
        return str(int(minor))
    return str(Decimal(int(minor)).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)))


def round_minor(value: Decimal) -> int:
    """The product's rounding rule: half up, to a whole minor unit."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def apply_bps(amount: int, bps: int) -> int:
    """amount × bps / 10,000, rounded by the one rule."""
    return round_minor(Decimal(amount) * Decimal(bps) / BASIS_POINTS)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to non-negative integer `weights` (largest remainder method).

    The parts add up to `total` exactly; ties go to the earlier part, so the result is deterministic.
    """
    if not weights:
        raise ValueError("allocate() needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    short = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:short]:
        floors[i] += 1
    return [sign * part for part in floors]
