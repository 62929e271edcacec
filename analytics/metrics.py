"""Every figure the analytics answer with: its unit, its one written definition and its formula.

A formula reads `Totals`: sums of the daily rollups over a range (`analytics.models`, keyed by the day the
order was paid in the merchant's time zone) and the counts that are exact queries on the base tables. The
summary, the time series and the OpenAPI descriptions all use this table; docs/analytics.md repeats each
definition word for word (a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from distribution import money

MONEY, COUNT, RATIO = "money", "count", "ratio"
UNITS = [MONEY, COUNT, RATIO]
RATIO_PLACES = 4
_QUANTUM = Decimal(1).scaleb(-RATIO_PLACES)

Totals = dict[str, int]
Value = int | Decimal | None


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """numerator ÷ denominator to 4 decimal places (half up); None when the denominator is zero."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def per(amount: int, count: int) -> int | None:
    """An amount per unit, in minor units rounded by the one rule; None when there is nothing to divide by."""
    if not count:
        return None
    return money.round_minor(Decimal(amount) / Decimal(count))


def change(value: Value, previous: Value) -> Decimal | None:
    """环比: (value − previous) ÷ |previous|, to 4 places; None when either is missing or previous is zero."""
    if value is None or previous is None or previous == 0:
        return None
    return (Decimal(value - previous) / abs(Decimal(previous))).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def net_commission(t: Totals) -> int:
    return t["commission_accrued"] - t["commission_reversed"] - t["commission_clawed_back"]


def net_gmv(t: Totals) -> int:
    return t["distributed_gmv"] - t["distributed_refunded"]


@dataclass(frozen=True)
class Metric:
    unit: str
    definition: str
    formula: Callable[[Totals], Value]
    #: the Totals keys beyond the rollup sums that the formula needs (each an exact query)
    needs: tuple[str, ...] = ()
    #: offered as a time series (its inputs can be counted per day, week and month)
    series: bool = True

    @property
    def read(self) -> str:
        """exact: counted on the base tables per request; rollup: summed from the daily rollups."""
        return "exact" if set(self.needs) - {"active_distributors"} else "rollup"


def _sum(key: str) -> Callable[[Totals], Value]:
    return lambda t: t[key]


METRICS: dict[str, Metric] = {
    "gmv": Metric(
        MONEY,
        "GMV through distribution: the goods amount (items after discounts, no shipping) of orders attributed "
        "to a distributor and paid in the range, before refunds.",
        _sum("distributed_gmv"),
    ),
    "net_gmv": Metric(
        MONEY,
        "gmv − what has been refunded on those orders so far (whenever it was refunded).",
        net_gmv,
    ),
    "orders": Metric(COUNT, "Orders attributed to a distributor and paid in the range.", _sum("distributed_orders")),
    "all_gmv": Metric(
        MONEY, "The goods amount of every order paid in the range, distributed or not, before refunds.", _sum("gmv")
    ),
    "all_orders": Metric(COUNT, "Every order paid in the range, distributed or not.", _sum("orders")),
    "refunded": Metric(
        MONEY, "What has been refunded so far on the orders counted in gmv.", _sum("distributed_refunded")
    ),
    "buyers": Metric(
        COUNT,
        "Distinct customers with at least one distributed order paid in the range (exact, from the orders).",
        _sum("buyers"),
        needs=("buyers",),
    ),
    "all_buyers": Metric(
        COUNT,
        "Distinct customers with at least one order of any kind paid in the range (exact, from the orders).",
        _sum("all_buyers"),
        needs=("all_buyers",),
    ),
    "aov_per_order": Metric(
        MONEY,
        "gmv ÷ orders, rounded half up to the minor unit; null without orders.",
        lambda t: per(t["distributed_gmv"], t["distributed_orders"]),
    ),
    "aov_per_buyer": Metric(
        MONEY,
        "gmv ÷ buyers, rounded half up to the minor unit; null without buyers.",
        lambda t: per(t["distributed_gmv"], t["buyers"]),
        needs=("buyers",),
    ),
    "commission_accrued": Metric(
        MONEY,
        "Commission the range's orders earned when they were paid, before any refund.",
        _sum("commission_accrued"),
    ),
    "commission_pending": Metric(
        MONEY, "Of commission_accrued, what is still pending (order open), net of refunds.", _sum("commission_pending")
    ),
    "commission_confirmed": Metric(
        MONEY,
        "Of commission_accrued, what is confirmed (order completed, after-sales window running), net of refunds.",
        _sum("commission_confirmed"),
    ),
    "commission_settled": Metric(
        MONEY,
        "Of commission_accrued, what has been settled to the distributors, net of refunds.",
        _sum("commission_settled"),
    ),
    "commission_reversed": Metric(
        MONEY, "Of commission_accrued, what refunds took back before settlement.", _sum("commission_reversed")
    ),
    "commission_clawed_back": Metric(
        MONEY,
        "What refunds after settlement took back from settled commission (a positive amount).",
        _sum("commission_clawed_back"),
    ),
    "net_commission": Metric(
        MONEY,
        "commission_accrued − commission_reversed − commission_clawed_back: what the distributors keep.",
        net_commission,
    ),
    "commission_ratio": Metric(
        RATIO, "net_commission ÷ net_gmv; null when net_gmv is zero.", lambda t: ratio(net_commission(t), net_gmv(t))
    ),
    "refund_rate": Metric(
        RATIO,
        "refunded ÷ gmv; null when gmv is zero.",
        lambda t: ratio(t["distributed_refunded"], t["distributed_gmv"]),
    ),
    "completed_orders": Metric(
        COUNT, "Of the orders counted in orders, those completed so far.", _sum("distributed_completed_orders")
    ),
    "visits": Metric(COUNT, "Visits through distributors' share links made in the range.", _sum("visits")),
    "conversion": Metric(
        RATIO, "orders ÷ visits; null without visits.", lambda t: ratio(t["distributed_orders"], t["visits"])
    ),
    "earnings_per_click": Metric(
        MONEY,
        "net_commission ÷ visits, rounded half up to the minor unit; null without visits.",
        lambda t: per(net_commission(t), t["visits"]),
    ),
    "new_buyers": Metric(
        COUNT,
        "Customers whose first paid order (Buyer.first_paid_at, any order) falls in the range.",
        _sum("new_buyers"),
        needs=("new_buyers",),
        series=False,
    ),
    "returning_buyers": Metric(
        COUNT,
        "Distinct customers with an order paid in the range whose first paid order was before the range.",
        _sum("returning_buyers"),
        needs=("returning_buyers",),
        series=False,
    ),
    "new_distributors": Metric(
        COUNT,
        "Distributors activated (approved) in the range, whatever their status now.",
        _sum("new_distributors"),
        needs=("new_distributors",),
        series=False,
    ),
    "active_distributors": Metric(
        COUNT,
        "Distinct distributors with at least one attributed order paid in the range (from the daily rollup).",
        _sum("active_distributors"),
        needs=("active_distributors",),
        series=False,
    ),
    "applications": Metric(
        COUNT,
        "Applications to become a distributor submitted in the range.",
        _sum("applications"),
        needs=("applications",),
        series=False,
    ),
    "approval_rate": Metric(
        RATIO,
        "Of the applications submitted in the range and decided so far, approved ÷ (approved + rejected); null "
        "when none is decided.",
        lambda t: ratio(t["approved"], t["approved"] + t["rejected"]),
        needs=("applications",),
        series=False,
    ),
}

SERIES_METRICS = tuple(name for name, metric in METRICS.items() if metric.series)


def markdown_table() -> str:
    """The metrics as docs/analytics.md lists them (a test keeps the page equal to this)."""
    lines = ["| metric | unit | definition | read | series |", "|---|---|---|---|---|"]
    for name, m in METRICS.items():
        lines.append(f"| `{name}` | {m.unit} | {m.definition} | {m.read} | {'yes' if m.series else 'no'} |")
    return "\n".join(lines)
