"""Keeping the rollups current: recompute the days that events touched, from the base tables, set-based.

A day's rows are a pure function of the base tables (the orders paid that day in the merchant's time zone,
their items and commission lines, the visits made that day), so recomputing a day is idempotent and can be
repeated at will: each refresh deletes a merchant's touched days and inserts them again in one transaction,
under a per-merchant advisory lock, so two refreshes never interleave and a reader sees either the old or the
new rows of a day, never half.

Which days are touched comes from three append-only id sequences, all written in the same transaction as the
change they record (see RefreshPass): order events (a payment, a shipment, a completion, a refund, a closing),
ledger transactions (a reversal, a clawback or a settlement of commission — a forfeit books reversals too)
and share visits. A pass reads everything past the ids of the newest pass that started at least LOOKBACK
earlier, so a transaction that committed after a later id was already seen is still picked up; a nightly
re-check (`recheck`) recomputes the last days anyway.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from analytics.models import (
    Buyer,
    DailyCategory,
    DailyChannel,
    DailyDistributor,
    DailyMerchant,
    DailyProduct,
    RefreshPass,
    RepurchaseSnapshot,
)
from commissions.models import CommissionLine
from distributors.models import ShareVisit
from ledger.models import LedgerTransaction
from merchants.models import Merchant
from orders.models import Order, OrderEvent, OrderItem

logger = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=2)
REPURCHASE_WINDOWS = (30, 90, 365)
PASS_HISTORY = timedelta(days=2)
_LOCK_NAMESPACE = 0x616E61  # "ana": advisory locks of the analytics refresh (the pass: key 0)

ORDERS = Order._meta.db_table
ITEMS = OrderItem._meta.db_table
LINES = CommissionLine._meta.db_table
VISITS = ShareVisit._meta.db_table
EVENTS = OrderEvent._meta.db_table
TXNS = LedgerTransaction._meta.db_table


# --- the day statements ------------------------------------------------------------------------------------
# The row sources, restricted to the touched local days (one index range from the first day's midnight to the
# last day's end, then the days themselves): o: the orders paid in those days; i: their items; c: their
# commission lines (with their item's product and category, joined by id); v: the visits made then.
_SOURCES = f"""
o AS (
    SELECT o.id, (o.paid_at AT TIME ZONE %(zone)s)::date AS day, o.distributor_id, o.customer_external_id,
           o.goods_amount, o.refunded_amount, o.status, o.channel, o.distributor_id IS NOT NULL AS distributed
      FROM {ORDERS} o
     WHERE o.merchant_id = %(merchant)s AND o.paid_at >= %(first)s AND o.paid_at < %(last)s
       AND (o.paid_at AT TIME ZONE %(zone)s)::date = ANY(%(days)s::date[])),
i AS (
    SELECT i.id, o.day, i.order_id, i.product_id, i.category_id, i.quantity, i.paid_amount, i.refunded_amount,
           i.refunded_quantity, o.distributed
      FROM {ITEMS} i JOIN o ON i.order_id = o.id
     WHERE i.merchant_id = %(merchant)s),
c AS (
    SELECT o.day, o.channel, l.beneficiary_id, it.product_id, it.category_id,
           CASE WHEN l.kind = 'commission' THEN l.amount ELSE 0 END AS accrued,
           CASE WHEN l.kind = 'commission' AND l.status = 'pending' THEN l.amount - l.reversed_amount ELSE 0 END
               AS pending,
           CASE WHEN l.kind = 'commission' AND l.status = 'confirmed' THEN l.amount - l.reversed_amount ELSE 0 END
               AS confirmed,
           CASE WHEN l.kind = 'commission' AND l.status = 'settled' THEN l.amount - l.reversed_amount ELSE 0 END
               AS settled,
           CASE WHEN l.kind = 'commission' THEN l.reversed_amount ELSE 0 END AS reversed,
           CASE WHEN l.kind = 'clawback' THEN -l.amount ELSE 0 END AS clawed_back
      FROM {LINES} l JOIN o ON l.order_id = o.id
      JOIN {ITEMS} it ON it.merchant_id = %(merchant)s AND it.id = l.order_item_id
     WHERE l.merchant_id = %(merchant)s),
v AS (
    SELECT (v.visited_at AT TIME ZONE %(zone)s)::date AS day, v.distributor_id
      FROM {VISITS} v
     WHERE v.merchant_id = %(merchant)s AND v.visited_at >= %(first)s AND v.visited_at < %(last)s
       AND (v.visited_at AT TIME ZONE %(zone)s)::date = ANY(%(days)s::date[]))"""  # noqa: S608

_ORDER_FIGURES = {
    "orders": "count(*)",
    "gmv": "sum(goods_amount)",
    "refunded": "sum(refunded_amount)",
}
_DISTRIBUTED_ORDER_FIGURES = {
    "distributed_orders": "count(*) FILTER (WHERE distributed)",
    "distributed_gmv": "coalesce(sum(goods_amount) FILTER (WHERE distributed), 0)",
    "distributed_refunded": "coalesce(sum(refunded_amount) FILTER (WHERE distributed), 0)",
}
_ITEM_FIGURES = {
    "orders": "count(DISTINCT order_id)",
    "gmv": "sum(paid_amount)",
    "refunded": "sum(refunded_amount)",
    "quantity": "sum(quantity)",
    "refunded_quantity": "sum(refunded_quantity)",
    "distributed_orders": "count(DISTINCT order_id) FILTER (WHERE distributed)",
    "distributed_gmv": "coalesce(sum(paid_amount) FILTER (WHERE distributed), 0)",
    "distributed_refunded": "coalesce(sum(refunded_amount) FILTER (WHERE distributed), 0)",
}
_COMMISSION_FIGURES = {
    f"commission_{name}": f"sum({name})"
    for name in ("accrued", "pending", "confirmed", "settled", "reversed", "clawed_back")
}


@dataclass(frozen=True)
class Part:
    """One source's contribution to a rollup: FROM which source, grouped by which key, which figures."""

    source: str
    key: str | None  # the dimension's expression in that source (None: the merchant rollup)
    figures: dict[str, str]
    where: str = ""


@dataclass(frozen=True)
class Rollup:
    model: type[models.Model]
    key_column: str | None
    parts: tuple[Part, ...]

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)

    @property
    def figures(self) -> list[str]:
        names: dict[str, None] = {}
        for part in self.parts:
            names.update(dict.fromkeys(part.figures))
        return list(names)

    @property
    def keys(self) -> list[str]:
        return ["day"] if self.key_column is None else ["day", self.key_column]

    def select(self) -> str:
        """The rows of the touched days, as the base tables say: merchant, day, key, figures."""
        figures = self.figures
        unions = []
        for part in self.parts:
            key = "" if part.key is None else f"{part.key} AS k, "
            columns = ", ".join(f"{part.figures.get(f, '0')} AS {f}" for f in figures)
            where = f" WHERE {part.where}" if part.where else ""
            group = "day" if part.key is None else "day, k"
            unions.append(f"SELECT day, {key}{columns} FROM {part.source}{where} GROUP BY {group}")  # noqa: S608
        key = "" if self.key_column is None else f"k AS {self.key_column}, "
        sums = ", ".join(f"sum({f})::bigint AS {f}" for f in figures)
        group = "day" if self.key_column is None else "day, k"
        return (
            f"WITH {_SOURCES} SELECT %(merchant)s::bigint AS merchant_id, day, {key}{sums} "  # noqa: S608
            f"FROM ({' UNION ALL '.join(unions)}) x GROUP BY {group}"
        )

    def columns(self) -> list[str]:
        return ["merchant_id", *self.keys, *self.figures]

    def insert(self) -> str:
        return f"INSERT INTO {self.table} ({', '.join(self.columns())}) {self.select()}"

    def delete(self) -> str:
        return f"DELETE FROM {self.table} WHERE merchant_id = %(merchant)s AND day = ANY(%(days)s::date[])"  # noqa: S608


ROLLUPS = (
    Rollup(
        DailyMerchant,
        None,
        (
            Part(
                "o",
                None,
                {
                    **_ORDER_FIGURES,
                    **_DISTRIBUTED_ORDER_FIGURES,
                    "buyers": "count(DISTINCT customer_external_id)",
                    "distributed_buyers": "count(DISTINCT customer_external_id) FILTER (WHERE distributed)",
                    "completed_orders": "count(*) FILTER (WHERE status = 'completed')",
                    "distributed_completed_orders": "count(*) FILTER (WHERE status = 'completed' AND distributed)",
                },
            ),
            Part("c", None, _COMMISSION_FIGURES),
            Part("v", None, {"visits": "count(*)"}),
        ),
    ),
    Rollup(
        DailyDistributor,
        "distributor_id",
        (
            Part(
                "o",
                "distributor_id",
                {
                    **_ORDER_FIGURES,
                    "buyers": "count(DISTINCT customer_external_id)",
                    "completed_orders": "count(*) FILTER (WHERE status = 'completed')",
                },
                where="distributed",
            ),
            Part("c", "beneficiary_id", _COMMISSION_FIGURES),
            Part("v", "distributor_id", {"visits": "count(*)"}),
        ),
    ),
    Rollup(
        DailyProduct,
        "product_id",
        (Part("i", "product_id", _ITEM_FIGURES), Part("c", "product_id", _COMMISSION_FIGURES)),
    ),
    Rollup(
        DailyCategory,
        "category_id",
        (Part("i", "category_id", _ITEM_FIGURES), Part("c", "category_id", _COMMISSION_FIGURES)),
    ),
    Rollup(
        DailyChannel,
        "channel",
        (
            Part("o", "channel", {**_ORDER_FIGURES, **_DISTRIBUTED_ORDER_FIGURES}),
            Part("c", "channel", _COMMISSION_FIGURES),
        ),
    ),
)


def day_ranges(days: Iterable[date], zone: ZoneInfo) -> dict[str, Any]:
    """The statements' parameters for these local days: the days, the zone, and the pay-time bounds around them."""
    ordered = sorted(set(days))
    return {
        "days": ordered,
        "zone": zone.key,
        "first": datetime.combine(ordered[0], time(), zone) if ordered else None,
        "last": datetime.combine(ordered[-1] + timedelta(days=1), time(), zone) if ordered else None,
    }


def _lock_merchant(cursor: CursorWrapper, merchant_id: int) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, merchant_id])


def refresh_days(merchant_id: int, days: Collection[date]) -> int:
    """Recompute every rollup of these local pay days of one merchant; returns how many days."""
    if not days:
        return 0
    merchant = Merchant.objects.get(pk=merchant_id)
    params: dict[str, Any] = {"merchant": merchant_id, **day_ranges(days, merchant.tz)}
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_merchant(cursor, merchant_id)
        for rollup in ROLLUPS:
            cursor.execute(rollup.delete(), params)
            cursor.execute(rollup.insert(), params)
    return len(params["days"])


def merchant_days(merchant_id: int, date_from: date | None = None, date_to: date | None = None) -> list[date]:
    """Every local day on which the merchant has an order paid or a visit made (within the bounds)."""
    merchant = Merchant.objects.get(pk=merchant_id)
    bounds, params = "", dict[str, Any](merchant=merchant_id, zone=merchant.timezone)
    if date_from is not None:
        bounds += " AND at >= %(lo)s"
        params["lo"] = datetime.combine(date_from, time(), merchant.tz)
    if date_to is not None:
        bounds += " AND at < %(hi)s"
        params["hi"] = datetime.combine(date_to + timedelta(days=1), time(), merchant.tz)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT (at AT TIME ZONE %(zone)s)::date FROM (
                    SELECT paid_at AS at FROM {ORDERS} WHERE merchant_id = %(merchant)s
                    UNION ALL SELECT visited_at FROM {VISITS} WHERE merchant_id = %(merchant)s) x
                 WHERE true{bounds}""",  # noqa: S608
            params,
        )
        return sorted(row[0] for row in cursor.fetchall())


def rebuild_merchant(merchant_id: int, date_from: date | None = None, date_to: date | None = None) -> int:
    """Recompute one merchant's rollups from scratch (within the bounds, when given), its buyer facts and its
    repurchase snapshot; days that no longer have any order or visit lose their rows. Returns the days."""
    merchant = Merchant.objects.get(pk=merchant_id)
    days = merchant_days(merchant_id, date_from, date_to)
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_merchant(cursor, merchant_id)
        for rollup in ROLLUPS:
            bounds, bounded = "", dict[str, Any](merchant=merchant_id)
            if date_from is not None:
                bounds += " AND day >= %(lo)s"
                bounded["lo"] = date_from
            if date_to is not None:
                bounds += " AND day <= %(hi)s"
                bounded["hi"] = date_to
            cursor.execute(f"DELETE FROM {rollup.table} WHERE merchant_id = %(merchant)s{bounds}", bounded)  # noqa: S608
        for chunk in _chunks(days, 62):
            params = {"merchant": merchant_id, **day_ranges(chunk, merchant.tz)}
            for rollup in ROLLUPS:
                cursor.execute(rollup.insert(), params)
    refresh_buyers(merchant_id)
    refresh_repurchase(merchant_id)
    return len(days)


def _chunks(items: Sequence[date], size: int) -> Iterable[Sequence[date]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- buyers ------------------------------------------------------------------------------------------------
_BUYERS = f"""
SELECT merchant_id, customer_external_id, min(paid_at) AS first_paid_at, max(paid_at) AS last_paid_at,
       count(*)::integer AS orders, sum(goods_amount)::bigint AS paid_amount,
       sum(refunded_amount)::bigint AS refunded_amount,
       coalesce((array_agg(province ORDER BY paid_at DESC, id DESC) FILTER (WHERE province <> ''))[1], '')
           AS province,
       coalesce((array_agg(city ORDER BY paid_at DESC, id DESC) FILTER (WHERE province <> ''))[1], '') AS city
  FROM {ORDERS}
 WHERE merchant_id = %(merchant)s {{customers}}
 GROUP BY merchant_id, customer_external_id"""  # noqa: S608
BUYER_COLUMNS = (
    "merchant_id, customer_external_id, first_paid_at, last_paid_at, orders, paid_amount, refunded_amount, "
    "province, city"
)


def buyers_select(customers: Collection[str] | None) -> str:
    return _BUYERS.format(customers="" if customers is None else "AND customer_external_id = ANY(%(customers)s)")


def refresh_buyers(merchant_id: int, customers: Collection[str] | None = None) -> int:
    """Recompute the buyer facts of these customers (None: all of the merchant's) from their orders."""
    if customers is not None and not customers:
        return 0
    params = {"merchant": merchant_id, "customers": sorted(customers) if customers is not None else None}
    update = ", ".join(
        f"{c} = EXCLUDED.{c}" for c in BUYER_COLUMNS.replace(" ", "").split(",")[2:]
    )  # every fact but the key
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_merchant(cursor, merchant_id)
        cursor.execute(
            f"INSERT INTO {Buyer._meta.db_table} ({BUYER_COLUMNS}) {buyers_select(customers)} "
            f"ON CONFLICT (merchant_id, customer_external_id) DO UPDATE SET {update}",
            params,
        )
        return int(cursor.rowcount)


# --- repurchase --------------------------------------------------------------------------------------------
def window(merchant: Merchant, days: int, as_of: date) -> tuple[datetime, datetime]:
    """The pay-time range of the `days` local days ending with `as_of` (inclusive)."""
    return (
        datetime.combine(as_of - timedelta(days=days - 1), time(), merchant.tz),
        datetime.combine(as_of + timedelta(days=1), time(), merchant.tz),
    )


def repurchase_counts(cursor: CursorWrapper, merchant_id: int, lo: datetime, hi: datetime) -> tuple[int, int]:
    """(buyers with at least one paid order in [lo, hi), those with two or more). Every paid order counts,
    whichever way the buyer came and whatever happened to it afterwards."""
    cursor.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE n >= 2) FROM (
                SELECT count(*) AS n FROM {ORDERS}
                 WHERE merchant_id = %s AND paid_at >= %s AND paid_at < %s GROUP BY customer_external_id) x""",  # noqa: S608
        [merchant_id, lo, hi],
    )
    buyers, repeat = cursor.fetchone()
    return int(buyers), int(repeat)


def refresh_repurchase(merchant_id: int, today: date | None = None) -> None:
    """The repurchase snapshot of each standard window ending today (the merchant's today by default)."""
    merchant = Merchant.objects.get(pk=merchant_id)
    now = timezone.now()
    as_of = today or now.astimezone(merchant.tz).date()
    with transaction.atomic(), connection.cursor() as cursor:
        for days in REPURCHASE_WINDOWS:
            buyers, repeat = repurchase_counts(cursor, merchant_id, *window(merchant, days, as_of))
            RepurchaseSnapshot.objects.update_or_create(
                merchant_id=merchant_id,
                window_days=days,
                defaults={"as_of": as_of, "buyers": buyers, "repeat_buyers": repeat, "refreshed_at": now},
            )


def refresh_repurchase_all() -> int:
    merchants = list(Merchant.objects.filter(status=Merchant.Status.ACTIVE).values_list("pk", flat=True))
    for merchant_id in merchants:
        refresh_repurchase(merchant_id)
    return len(merchants)


# --- the pass: what did events touch? ---------------------------------------------------------------------
@dataclass
class Touched:
    days: dict[int, set[date]]
    customers: dict[int, set[str]]


def _max_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608
        return int(cursor.fetchone()[0])


def touched_since(events: tuple[int, int], txns: tuple[int, int], visits: tuple[int, int]) -> Touched:
    """The merchants' local pay days (and customers) that changed with the events, ledger transactions and
    visits whose ids lie in these (from, to] ranges."""
    touched = Touched(days=defaultdict(set), customers=defaultdict(set))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH touched_orders (id) AS (
                    SELECT e.order_id FROM {EVENTS} e
                     WHERE e.id > %(e_lo)s AND e.id <= %(e_hi)s AND e.order_id IS NOT NULL
                    UNION
                    SELECT l.order_id
                      FROM {TXNS} t JOIN {LINES} l
                        ON l.merchant_id = t.merchant_id AND l.id = split_part(t.reference, ':', 2)::bigint
                     WHERE t.id > %(t_lo)s AND t.id <= %(t_hi)s AND t.kind IN ('reverse', 'clawback')
                    UNION
                    SELECT l.order_id
                      FROM {TXNS} t JOIN {LINES} l
                        ON l.merchant_id = t.merchant_id
                       AND l.beneficiary_id = split_part(t.reference, ':', 4)::bigint
                       AND l.status = 'settled'
                       AND l.settlement_run_id = split_part(t.reference, ':', 2)::bigint
                     WHERE t.id > %(t_lo)s AND t.id <= %(t_hi)s AND t.kind = 'settle')
                SELECT o.merchant_id, (o.paid_at AT TIME ZONE m.timezone)::date, o.customer_external_id
                  FROM touched_orders t JOIN {ORDERS} o ON o.id = t.id
                  JOIN {Merchant._meta.db_table} m ON m.id = o.merchant_id
                UNION ALL
                SELECT v.merchant_id, (v.visited_at AT TIME ZONE m.timezone)::date, NULL
                  FROM {VISITS} v JOIN {Merchant._meta.db_table} m ON m.id = v.merchant_id
                 WHERE v.id > %(v_lo)s AND v.id <= %(v_hi)s""",  # noqa: S608
            {
                "e_lo": events[0],
                "e_hi": events[1],
                "t_lo": txns[0],
                "t_hi": txns[1],
                "v_lo": visits[0],
                "v_hi": visits[1],
            },
        )
        for merchant_id, day, customer in cursor.fetchall():
            touched.days[merchant_id].add(day)
            if customer is not None:
                touched.customers[merchant_id].add(customer)
    return touched


def refresh_pass(now: datetime | None = None) -> RefreshPass | None:
    """One pass over every merchant: recompute what the events since the last pass (with the look-back)
    touched. None when another pass holds the lock (passes never overlap)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, 0)", [_LOCK_NAMESPACE])
        if not cursor.fetchone()[0]:
            return None
    try:
        return _refresh_pass(now)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, 0)", [_LOCK_NAMESPACE])


def _refresh_pass(now: datetime) -> RefreshPass:
    tops = current_tops()
    record = RefreshPass.objects.create(
        started_at=now,
        **dict(zip(("order_event_from", "ledger_transaction_from", "visit_from"), pass_start(now), strict=True)),
        order_event_to=tops[0],
        ledger_transaction_to=tops[1],
        visit_to=tops[2],
    )
    touched = touched_since(
        (record.order_event_from, tops[0]), (record.ledger_transaction_from, tops[1]), (record.visit_from, tops[2])
    )
    days = buyers = 0
    for merchant_id in sorted(touched.days):
        days += refresh_days(merchant_id, touched.days[merchant_id])
        buyers += refresh_buyers(merchant_id, touched.customers.get(merchant_id, set()))
    RefreshPass.objects.filter(pk=record.pk).update(finished_at=timezone.now(), days=days, buyers=buyers)
    RefreshPass.objects.filter(started_at__lt=now - PASS_HISTORY).delete()
    record.refresh_from_db()
    return record


def pass_start(now: datetime) -> tuple[int, int, int]:
    """Where a pass starting now rescans from: the ids the newest pass at least LOOKBACK old had seen; while
    every pass is younger, the lowest ids any of them started from (before the first pass ever: 0)."""
    finished = RefreshPass.objects.filter(finished_at__isnull=False)
    base = finished.filter(started_at__lte=now - LOOKBACK).order_by("-started_at").first()
    if base is not None:
        return (base.order_event_to, base.ledger_transaction_to, base.visit_to)
    lowest = finished.aggregate(
        e=models.Min("order_event_from"), t=models.Min("ledger_transaction_from"), v=models.Min("visit_from")
    )
    return (lowest["e"] or 0, lowest["t"] or 0, lowest["v"] or 0)


def record_rebuild(tops: tuple[int, int, int], started_at: datetime) -> None:
    """After a full rebuild of every merchant: a pass that saw everything up to `tops`, so that the passes of
    the next minutes rescan from there rather than from the start."""
    RefreshPass.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        order_event_from=tops[0],
        ledger_transaction_from=tops[1],
        visit_from=tops[2],
        order_event_to=tops[0],
        ledger_transaction_to=tops[1],
        visit_to=tops[2],
    )


def current_tops() -> tuple[int, int, int]:
    return (_max_id(EVENTS), _max_id(TXNS), _max_id(VISITS))


def recheck(days: int) -> int:
    """Rebuild the last `days` local days of every active merchant, with all their buyer facts (nightly)."""
    total = 0
    for merchant in Merchant.objects.filter(status=Merchant.Status.ACTIVE):
        today = timezone.now().astimezone(merchant.tz).date()
        total += rebuild_merchant(merchant.pk, today - timedelta(days=days - 1), today)
    return total
