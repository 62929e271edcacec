"""Money helpers: parsing, formatting, the one rounding rule and exact allocation."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distribution.money import MoneyFormatError, allocate, apply_bps, format_amount, parse_amount, round_minor


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("12.34", "CNY", 1234),
        ("0.01", "CNY", 1),
        ("-5", "CNY", -500),
        (Decimal("7.1"), "CNY", 710),
        (3, "CNY", 300),
        ("1200", "JPY", 1200),
        ("  8.00 ", "USD", 800),
    ],
)
def test_parse(value, currency, minor):
    assert parse_amount(value, currency) == minor


@pytest.mark.parametrize("value", ["1.005", "abc", "", "NaN", "Infinity", 1.5, True, "1e30", "1e999999999"])
def test_parse_refuses(value):
    with pytest.raises(MoneyFormatError):
        parse_amount(value, "CNY")


def test_parse_refuses_fractions_of_a_yen_and_unknown_currencies():
    with pytest.raises(MoneyFormatError):
        parse_amount("1.5", "JPY")
    with pytest.raises(MoneyFormatError):
        parse_amount("1", "XXX")


@pytest.mark.parametrize(("minor", "text"), [(1234, "12.34"), (5, "0.05"), (-5, "-0.05"), (0, "0.00"), (100, "1.00")])
def test_format(minor, text):
    assert format_amount(minor, "CNY") == text


def test_format_zero_exponent():
    assert format_amount(1200, "JPY") == "1200"


def test_rounding_is_half_up():
    assert round_minor(Decimal("2.5")) == 3
    assert round_minor(Decimal("2.4999")) == 2
    assert round_minor(Decimal("-2.5")) == -3
    assert apply_bps(1005, 1000) == 101  # 100.5 -> 101
    assert apply_bps(1004, 1000) == 100  # 100.4 -> 100


def test_allocate_examples():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(10, [0, 5]) == [0, 10]
    assert allocate(7, [2, 3, 5]) == [1, 2, 4]


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20).filter(lambda w: sum(w) > 0),
)
def test_allocate_always_adds_up_and_stays_proportional(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / weight_sum
        assert abs(Decimal(part) - exact) < 1
        if weight == 0:
            assert part == 0
