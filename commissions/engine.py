"""The commission engine's arithmetic: pure functions, no database.

For each item and each depth up to the program's depth (at most 3), the beneficiary is the attributed
distributor (depth 1), their inviter (2), and the next (3). The base is the item's paid amount after
discounts, without shipping. The rate is, in this order: the product's override for that depth, the
beneficiary's level rate for that depth, the program's default; percent (basis points of the base) or
fixed (minor units per unit bought). Inactive beneficiaries earn nothing (their depth is skipped, not
passed up); a distributor's own purchase earns depth 1 only when the program allows it.

Amounts: percent rates are rounded once, half up, to the minor unit (`distribution.money`). The total of
an item's lines never exceeds its base × cap (the program's cap, and never more than 100%): when it
would, the cap amount (rounded down) is split over the lines in proportion to what they would have
earned, exactly (`allocate`).

Refunds: a line keeps `amount × (paid − refunded) / paid`, rounded half up; the rest is reversed. That
is monotonic in what was refunded and exactly zero after a full refund, whatever the order of partial
refunds or how often they are replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from distribution.money import BASIS_POINTS, allocate, apply_bps, round_minor

PRODUCT, LEVEL, PROGRAM = "product_override", "level", "program_default"
PERCENT, FIXED = "percent", "fixed"


@dataclass(frozen=True)
class Beneficiary:
    id: int
    active: bool
    level_rates: dict[int, tuple[str, int]]  # depth -> (mode, value), only the depths the level sets


@dataclass(frozen=True)
class Item:
    id: int
    paid_amount: int
    quantity: int
    distribution_enabled: bool
    overrides: dict[int, tuple[str, int]]  # depth -> (mode, value) from the product


@dataclass(frozen=True)
class Draft:
    item_id: int
    depth: int
    beneficiary_id: int
    base_amount: int
    rate_source: str
    rate_mode: str
    rate_value: int
    uncapped_amount: int
    amount: int


def rate_for(item: Item, beneficiary: Beneficiary, depth: int, program_rates: dict[int, int]) -> tuple[str, str, int]:
    if depth in item.overrides:
        return (PRODUCT, *item.overrides[depth])
    if depth in beneficiary.level_rates:
        return (LEVEL, *beneficiary.level_rates[depth])
    return PROGRAM, PERCENT, program_rates.get(depth, 0)


def earned(mode: str, value: int, item: Item) -> int:
    if mode == PERCENT:
        return apply_bps(item.paid_amount, value)
    return value * item.quantity


def cap_amount(base: int, cap_bps: int | None) -> int:
    bps = BASIS_POINTS if cap_bps is None else min(cap_bps, BASIS_POINTS)
    return base * bps // BASIS_POINTS


def calculate(
    items: list[Item],
    beneficiaries: list[Beneficiary | None],
    *,
    program_rates: dict[int, int],
    cap_bps: int | None,
    self_purchase: bool,
    self_purchase_allowed: bool,
) -> list[Draft]:
    """The lines an order earns. `beneficiaries[0]` is depth 1; a None or inactive one earns nothing."""
    drafts: list[Draft] = []
    for item in items:
        if not item.distribution_enabled or item.paid_amount <= 0:
            continue
        rows = []
        for depth, beneficiary in enumerate(beneficiaries, start=1):
            if beneficiary is None or not beneficiary.active:
                continue
            if depth == 1 and self_purchase and not self_purchase_allowed:
                continue
            source, mode, value = rate_for(item, beneficiary, depth, program_rates)
            amount = earned(mode, value, item)
            if amount > 0:
                rows.append((depth, beneficiary.id, source, mode, value, amount))
        if not rows:
            continue
        limit = cap_amount(item.paid_amount, cap_bps)
        uncapped = [r[5] for r in rows]
        capped = allocate(limit, uncapped) if sum(uncapped) > limit else uncapped
        for (depth, beneficiary_id, source, mode, value, before), after in zip(rows, capped, strict=True):
            if after > 0:
                drafts.append(
                    Draft(item.id, depth, beneficiary_id, item.paid_amount, source, mode, value, before, after)
                )
    return drafts


def kept_after_refund(amount: int, paid: int, refunded: int) -> int:
    """What a line of `amount` keeps once `refunded` of the item's `paid` amount has been refunded."""
    if paid <= 0 or refunded >= paid:
        return 0
    return round_minor(Decimal(amount) * (paid - refunded) / paid)
