"""Commission rates per depth, as products and levels set them.

A rate is for one depth (1 = the seller, 2 = their inviter, 3 = the next one up) and has its own mode:
`percent` of the item's paid amount, in basis points (`rate_bps`: 1000 = 10.00%), or `fixed`, an amount
per unit bought (`amount`, minor units inside, a decimal string in the API). A depth without a rate falls
back to the next source (product → level → program). Inside the models a rate is two columns per depth,
its mode and its value; everywhere else it is a list of dicts:

    [{"depth": 1, "mode": "fixed", "amount": 500}, {"depth": 2, "mode": "percent", "rate_bps": 400}]
"""

from __future__ import annotations

from typing import Any

PERCENT, FIXED = "percent", "fixed"
MODES = (PERCENT, FIXED)
DEPTHS = (1, 2, 3)
MODE_CHOICES = [(PERCENT, "Percent of the paid amount (basis points)"), (FIXED, "Fixed amount per unit")]


def to_columns(rates: list[dict[str, Any]] | None, *, mode: str, value: str) -> dict[str, Any]:
    """The model's columns for `rates` (every depth: the ones not given become null). `mode` and `value` are
    column names with `{}` for the depth, e.g. "commission_depth{}_mode" and "commission_depth{}"."""
    by_depth = {rate["depth"]: rate for rate in rates or []}
    columns: dict[str, Any] = {}
    for depth in DEPTHS:
        rate = by_depth.get(depth)
        columns[mode.format(depth)] = rate["mode"] if rate else None
        columns[value.format(depth)] = (
            (rate["rate_bps"] if rate["mode"] == PERCENT else rate["amount"]) if rate else None
        )
    return columns


def with_columns(data: dict[str, Any], *, mode: str, value: str) -> dict[str, Any]:
    """A copy of `data` (a service's input) with its `commission_rates`, when given, as the model's columns."""
    data = dict(data)
    if "commission_rates" in data:
        data.update(to_columns(data.pop("commission_rates"), mode=mode, value=value))
    return data


def from_columns(obj: Any, *, mode: str, value: str) -> list[dict[str, Any]]:
    """The rates an object's columns hold, by depth."""
    out = []
    for depth in DEPTHS:
        rate_mode, rate_value = getattr(obj, mode.format(depth)), getattr(obj, value.format(depth))
        if rate_mode is None or rate_value is None:
            continue
        out.append(rate(depth, rate_mode, rate_value))
    return out


def rate(depth: int, mode: str, value: int) -> dict[str, Any]:
    """One rate in its list form, with both value keys (the one its mode does not use is None)."""
    return {
        "depth": depth,
        "mode": mode,
        "rate_bps": value if mode == PERCENT else None,
        "amount": value if mode == FIXED else None,
    }


def by_depth(rates: list[dict[str, Any]]) -> dict[int, tuple[str, int]]:
    """depth -> (mode, value), as the commission engine takes them."""
    return {r["depth"]: (r["mode"], r["rate_bps"] if r["mode"] == PERCENT else r["amount"]) for r in rates}
