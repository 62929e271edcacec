"""Level conditions: a distributor's metrics, and how far they are from the next level.

Metrics over a level's window (the last `window_days` days, or all time when it has none):
* sales amount: what the distributor's own attributed orders were paid, net of refunds (closed
  orders excluded), in minor units;
* order count: those orders that still have a positive net amount;
* direct recruits: distributors they invited who became active in the window (and are active or frozen now);
* bound customers: customers bound to them now whose binding started in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from django.db.models import F, Sum
from django.utils import timezone

from distributors.models import Distributor, Level
from distributors.selectors import TEAM_STATUSES
from distributors.services.bindings import live_bindings
from orders.models import Order


class ConditionProgress(TypedDict):
    condition: str  # a level's condition field: min_sales_amount, …
    required: int
    current: int
    met: bool


class LevelProgress(TypedDict):
    current_level: Level | None
    next_level: Level | None
    condition_mode: str | None
    window_days: int | None
    conditions: list[ConditionProgress]
    qualifies: bool


@dataclass(frozen=True)
class Metrics:
    sales_amount: int
    order_count: int
    direct_recruits: int
    bound_customers: int

    def value(self, condition: str) -> int:
        return {
            "min_sales_amount": self.sales_amount,
            "min_order_count": self.order_count,
            "min_direct_recruits": self.direct_recruits,
            "min_bound_customers": self.bound_customers,
        }[condition]


def distributor_metrics(distributor: Distributor, *, window_days: int | None, now: datetime | None = None) -> Metrics:
    now = now or timezone.now()
    since = now - timedelta(days=window_days) if window_days else None
    orders = Order.objects.for_merchant(distributor.merchant_id).filter(
        distributor=distributor, status__in=Order.COUNTED_STATUSES
    )
    recruits = Distributor.objects.for_merchant(distributor.merchant_id).filter(
        inviter=distributor, status__in=TEAM_STATUSES
    )
    customers = live_bindings(distributor.merchant_id, now).filter(distributor=distributor)
    if since is not None:
        orders = orders.filter(paid_at__gte=since)
        recruits = recruits.filter(activated_at__gte=since)
        customers = customers.filter(bound_at__gte=since)
    net = orders.annotate(net=F("goods_amount") - F("refunded_amount")).filter(net__gt=0)
    totals = net.aggregate(amount=Sum("net"))
    return Metrics(
        sales_amount=totals["amount"] or 0,
        order_count=net.count(),
        direct_recruits=recruits.count(),
        bound_customers=customers.count(),
    )


def evaluate(level: Level, metrics: Metrics) -> tuple[bool, list[ConditionProgress]]:
    """Whether `metrics` meet `level`'s conditions (any or all of the ones set), with each condition's
    progress. A level without conditions is never reached automatically."""
    rows: list[ConditionProgress] = [
        {
            "condition": name,
            "required": required,
            "current": metrics.value(name),
            "met": metrics.value(name) >= required,
        }
        for name, required in level.conditions.items()
    ]
    if not rows:
        return False, rows
    met = [r["met"] for r in rows]
    qualifies = all(met) if level.condition_mode == Level.ConditionMode.ALL else any(met)
    return qualifies, rows


def next_level(distributor: Distributor) -> Level | None:
    levels = Level.objects.for_merchant(distributor.merchant_id).order_by("rank")
    if distributor.level_id is not None:
        current_rank = (
            Level.objects.for_merchant(distributor.merchant_id)
            .filter(pk=distributor.level_id)
            .values_list("rank", flat=True)
            .first()
        )
        levels = levels.filter(rank__gt=current_rank)
    return levels.first()


def level_progress(distributor: Distributor, *, now: datetime | None = None) -> LevelProgress:
    """Progress toward the next level up: each condition's requirement and current value."""
    upcoming = next_level(distributor)
    body: LevelProgress = {
        "current_level": distributor.level,
        "next_level": upcoming,
        "condition_mode": None,
        "window_days": None,
        "conditions": [],
        "qualifies": False,
    }
    if upcoming is None:
        return body
    metrics = distributor_metrics(distributor, window_days=upcoming.window_days, now=now)
    qualifies, rows = evaluate(upcoming, metrics)
    body.update(
        {
            "condition_mode": upcoming.condition_mode,
            "window_days": upcoming.window_days,
            "conditions": rows,
            "qualifies": qualifies,
        }
    )
    return body
