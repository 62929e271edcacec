"""Risk rules that need history, each one set-based SQL over a merchant's data. Each returns hits:
(subject, distributor id or None, evidence)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from distribution.money import format_amount
from distributors.models import CustomerBinding, Distributor
from merchants.models import Merchant
from orders.models import Order

# other apps' tables, by their models' names for them
ORDERS, DISTRIBUTORS = Order._meta.db_table, Distributor._meta.db_table
BINDINGS, MERCHANTS = CustomerBinding._meta.db_table, Merchant._meta.db_table

# Thresholds: a refund rate is suspicious at 3× the merchant's normal and at least 30 points above it,
# over at least 5 orders in 90 days; 5 self-purchases within a day; 3 switches of one customer in 30 days.
REFUND_WINDOW_DAYS = 90
REFUND_MULTIPLIER = 3
REFUND_MIN_GAP_BPS = 3000
REFUND_MIN_ORDERS = 5
SELF_PURCHASE_BURST = 5
SELF_PURCHASE_WINDOW = timedelta(hours=24)
SELF_PURCHASE_LOOKBACK_DAYS = 7
SWITCHES = 3
SWITCH_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Hit:
    subject: str
    distributor_id: int | None
    evidence: dict[str, Any]  # JSON, stored on the flag


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def shared_identity(merchant_id: int, now: datetime) -> list[Hit]:
    """One phone or ID number (by keyed hash) on several live distributors: a hit for each of them."""
    hits = []
    for kind, column, masked in (
        ("phone", "phone_hash", "phone_masked"),
        ("id_number", "id_number_hash", "id_number_masked"),
    ):
        for value_hash, ids, shown in _rows(
            f"""SELECT {column}, array_agg(id ORDER BY id), min({masked}) FROM {DISTRIBUTORS}
                 WHERE merchant_id = %(m)s AND {column} <> '' AND status IN ('applied', 'active', 'frozen')
                 GROUP BY 1 HAVING count(*) > 1""",  # noqa: S608 - columns are ours
            {"m": merchant_id},
        ):
            for distributor_id in ids:
                hits.append(
                    Hit(
                        f"{kind}:{value_hash[:16]}:d{distributor_id}",
                        distributor_id,
                        {"shared": kind, "value": shown, "distributors": ids},
                    )
                )
    return hits


def refund_rate(merchant_id: int, now: datetime) -> list[Hit]:
    """Distributors whose orders are refunded far more than the merchant's orders are on average."""
    since = now - timedelta(days=REFUND_WINDOW_DAYS)
    rows = _rows(
        f"""WITH per AS (
               SELECT distributor_id, count(*) AS orders, sum(goods_amount)::bigint AS paid,
                      sum(refunded_amount)::bigint AS refunded
                 FROM {ORDERS} WHERE merchant_id = %(m)s AND paid_at >= %(since)s AND paid_at <= %(now)s
                  AND goods_amount > 0 GROUP BY 1),
           normal AS (SELECT sum(refunded)::numeric / nullif(sum(paid), 0) AS rate FROM per)
           SELECT per.distributor_id, per.orders, per.paid, per.refunded,
                  (per.refunded * 10000 / per.paid)::bigint, (normal.rate * 10000)::bigint, m.currency
             FROM per, normal, {MERCHANTS} m
            WHERE m.id = %(m)s AND per.distributor_id IS NOT NULL AND per.orders >= %(min_orders)s
              AND per.refunded::numeric / per.paid >= normal.rate * %(mult)s
              AND per.refunded * 10000 >= per.paid * (normal.rate * 10000 + %(gap)s)""",  # noqa: S608
        {
            "m": merchant_id,
            "since": since,
            "now": now,
            "min_orders": REFUND_MIN_ORDERS,
            "mult": REFUND_MULTIPLIER,
            "gap": REFUND_MIN_GAP_BPS,
        },
    )
    return [
        Hit(
            f"d{d}",
            d,
            {
                "orders": n,
                "paid": format_amount(paid, currency),
                "refunded": format_amount(refunded, currency),
                "refund_rate_bps": rate,
                "merchant_rate_bps": normal,
                "window_days": REFUND_WINDOW_DAYS,
            },
        )
        for d, n, paid, refunded, rate, normal, currency in rows
    ]


def self_purchase_burst(merchant_id: int, now: datetime) -> list[Hit]:
    """Many self-purchases by one distributor within a day (in the last week)."""
    rows = _rows(
        f"""SELECT distributor_id, max(burst), array_agg(external_id ORDER BY paid_at, external_id)
             FROM (
               SELECT distributor_id, external_id, paid_at,
                      count(*) OVER (PARTITION BY distributor_id ORDER BY paid_at
                                     RANGE BETWEEN %(window)s PRECEDING AND CURRENT ROW) AS burst
                 FROM {ORDERS}
                WHERE merchant_id = %(m)s AND self_purchase AND paid_at >= %(since)s AND paid_at <= %(now)s) w
            GROUP BY 1 HAVING max(burst) >= %(n)s""",  # noqa: S608
        {
            "m": merchant_id,
            "since": now - timedelta(days=SELF_PURCHASE_LOOKBACK_DAYS),
            "now": now,
            "window": SELF_PURCHASE_WINDOW,
            "n": SELF_PURCHASE_BURST,
        },
    )
    return [
        Hit(f"d{d}", d, {"max_in_24h": burst, "self_purchases": orders, "lookback_days": SELF_PURCHASE_LOOKBACK_DAYS})
        for d, burst, orders in rows
    ]


def customer_switching(merchant_id: int, now: datetime) -> list[Hit]:
    """A customer whose binding moved between distributors again and again."""
    rows = _rows(
        f"""SELECT customer_external_id, count(*) FILTER (WHERE status = 'ended' AND end_reason IN ('replaced',
                                                                                              'transferred')),
                  array_agg(DISTINCT distributor_id)
             FROM {BINDINGS}
            WHERE merchant_id = %(m)s AND bound_at >= %(since)s AND bound_at <= %(now)s
            GROUP BY 1
           HAVING count(*) FILTER (WHERE status = 'ended' AND end_reason IN ('replaced', 'transferred')) >= %(n)s""",  # noqa: S608
        {"m": merchant_id, "since": now - timedelta(days=SWITCH_WINDOW_DAYS), "now": now, "n": SWITCHES},
    )
    return [
        Hit(
            f"customer:{customer}",
            None,
            {
                "customer": customer,
                "switches": switches,
                "distributors": sorted(ids),
                "window_days": SWITCH_WINDOW_DAYS,
            },
        )
        for customer, switches, ids in rows
    ]


PERIODIC_RULES = {
    "shared_identity": shared_identity,
    "refund_rate": refund_rate,
    "self_purchase_burst": self_purchase_burst,
    "customer_switching": customer_switching,
}
