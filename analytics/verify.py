"""Are the rollups what the base tables say? Recompute every figure from scratch and list the differences.

The refresh maintains the rollups incrementally; this recomputes all of them (every day of every rollup,
every buyer, every repurchase snapshot at its own `as_of`) with the same definitions and compares row by
row. Run by `manage.py check_rollups` (CI, after the suite and on the demo) and usable from a nightly job.
"""

from __future__ import annotations

from django.db import connection

from analytics.models import Buyer, RepurchaseSnapshot
from analytics.refresh import (
    BUYER_COLUMNS,
    ROLLUPS,
    buyers_select,
    day_ranges,
    merchant_days,
    repurchase_counts,
    window,
)
from merchants.models import Merchant

MAX_SHOWN = 20  # differences listed per rollup and merchant


def _compare(expected_sql: str, table: str, columns: str, merchant_id: int, params: dict) -> list[tuple]:
    sql = f"""
        WITH expected AS ({expected_sql}),
             stored AS (SELECT {columns} FROM {table} WHERE merchant_id = %(merchant)s)
        (SELECT 'missing or different', * FROM (SELECT {columns} FROM expected EXCEPT ALL SELECT * FROM stored) a)
        UNION ALL
        (SELECT 'stored but not expected', * FROM (SELECT * FROM stored EXCEPT ALL SELECT {columns} FROM expected) b)
        LIMIT {MAX_SHOWN * 2}"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "merchant": merchant_id})
        return cursor.fetchall()


def rollup_problems(merchant_id: int | None = None) -> list[str]:
    merchants = Merchant.objects.all() if merchant_id is None else Merchant.objects.filter(pk=merchant_id)
    problems: list[str] = []
    for merchant in merchants.order_by("pk"):
        params = day_ranges(merchant_days(merchant.pk), merchant.tz)
        for rollup in ROLLUPS:
            for row in _compare(rollup.select(), rollup.table, ", ".join(rollup.columns()), merchant.pk, params):
                problems.append(f"merchant {merchant.pk} {rollup.table}: {row[0]}: {row[1:]}")
        for row in _compare(buyers_select(None), Buyer._meta.db_table, BUYER_COLUMNS, merchant.pk, {}):
            problems.append(f"merchant {merchant.pk} {Buyer._meta.db_table}: {row[0]}: {row[1:]}")
        with connection.cursor() as cursor:
            for snap in RepurchaseSnapshot.objects.for_merchant(merchant):
                counts = repurchase_counts(cursor, merchant.pk, *window(merchant, snap.window_days, snap.as_of))
                if counts != (snap.buyers, snap.repeat_buyers):
                    problems.append(
                        f"merchant {merchant.pk} repurchase {snap.window_days}d as of {snap.as_of}: "
                        f"stored {(snap.buyers, snap.repeat_buyers)}, expected {counts}"
                    )
    return problems
