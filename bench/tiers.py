"""Tier recalculation: the product's tier run next to the same aggregate and update in one SQL statement.

    .venv/bin/python bench/tiers.py --scale small|full

On the generated merchant (bench/generate.py: full scale is 100,000 distributors over 2,000,000 orders,
four levels with conditions over 30 days, 90 days and cumulative), every distributor starts on the
default level with no history, then:

* ours: `tier_request` + `tier_execute`, as the `tiers` worker runs it: chunks of TIER_CHUNK_SIZE
  distributors, each one statement that aggregates the metrics of every level's window (sales, orders,
  direct recruits, bound customers), picks the level earned, moves the distributors and writes their
  level history with the metrics, then advances the run's cursor and counters (no pause between chunks);
* raw: one hand-written statement over all distributors at once: the same aggregates, the same level
  choice (the conditions written out by hand), the same update and the same history rows.

Both start from the same state (levels reset between them) and must end with every distributor on the
same level, which the benchmark checks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.db import transaction
from django.test import override_settings
from django.utils import timezone

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate
from bench.common import owner_connect, report, row, setup_django

RAW_RECALCULATE = """
WITH o AS (
    SELECT distributor_id AS id,
           sum(goods_amount - refunded_amount) AS sales_all, count(*) AS orders_all,
           sum(goods_amount - refunded_amount) FILTER (WHERE paid_at >= %(d30)s) AS sales_30,
           count(*) FILTER (WHERE paid_at >= %(d30)s) AS orders_30,
           sum(goods_amount - refunded_amount) FILTER (WHERE paid_at >= %(d90)s) AS sales_90,
           count(*) FILTER (WHERE paid_at >= %(d90)s) AS orders_90
      FROM orders_order
     WHERE merchant_id = %(m)s AND distributor_id IS NOT NULL AND status IN ('paid', 'shipped', 'completed')
       AND goods_amount > refunded_amount AND paid_at <= %(as_of)s
     GROUP BY 1),
r AS (
    SELECT inviter_id AS id, count(*) AS recruits_all,
           count(*) FILTER (WHERE activated_at >= %(d30)s) AS recruits_30,
           count(*) FILTER (WHERE activated_at >= %(d90)s) AS recruits_90
      FROM distributors_distributor
     WHERE merchant_id = %(m)s AND inviter_id IS NOT NULL AND status IN ('active', 'frozen')
       AND activated_at <= %(as_of)s
     GROUP BY 1),
c AS (
    SELECT distributor_id AS id, count(*) AS customers_all,
           count(*) FILTER (WHERE bound_at >= %(d30)s) AS customers_30,
           count(*) FILTER (WHERE bound_at >= %(d90)s) AS customers_90
      FROM distributors_customerbinding
     WHERE merchant_id = %(m)s AND status = 'active' AND bound_at <= %(as_of)s
       AND (expires_at IS NULL OR expires_at > %(as_of)s)
     GROUP BY 1),
e AS (
    SELECT d.id, d.level_id, cur.rank AS cur_rank,
           coalesce(sales_all, 0) AS sales_all, coalesce(orders_all, 0) AS orders_all,
           coalesce(recruits_all, 0) AS recruits_all, coalesce(customers_all, 0) AS customers_all,
           coalesce(sales_30, 0) AS sales_30, coalesce(orders_30, 0) AS orders_30,
           coalesce(recruits_30, 0) AS recruits_30, coalesce(customers_30, 0) AS customers_30,
           coalesce(sales_90, 0) AS sales_90, coalesce(orders_90, 0) AS orders_90,
           coalesce(recruits_90, 0) AS recruits_90, coalesce(customers_90, 0) AS customers_90
      FROM distributors_distributor d
      JOIN distributors_level cur ON cur.id = d.level_id
      LEFT JOIN o ON o.id = d.id LEFT JOIN r ON r.id = d.id LEFT JOIN c ON c.id = d.id
     WHERE d.merchant_id = %(m)s AND d.status = 'active' AND NOT d.level_locked),
earned AS (
    SELECT e.*, CASE WHEN sales_all >= 20000000 AND customers_all >= 200 THEN 3
                     WHEN sales_90 >= 3000000 OR recruits_90 >= 5 THEN 2
                     WHEN sales_30 >= 300000 OR orders_30 >= 20 THEN 1
                     ELSE 0 END AS rank
      FROM e),
changed AS (
    SELECT earned.*, lv.id AS target_level FROM earned
      JOIN distributors_level lv ON lv.merchant_id = %(m)s AND lv.rank = earned.rank
     WHERE earned.rank > earned.cur_rank),
u AS (
    UPDATE distributors_distributor x SET level_id = changed.target_level, level_changed_at = %(as_of)s,
                                          updated_at = now()
      FROM changed WHERE x.id = changed.id),
h AS (
    INSERT INTO distributors_levelchange (merchant_id, distributor_id, old_level_id, new_level_id, direction, metrics,
                                          run_id, reason, created_at)
    SELECT %(m)s, id, level_id, target_level, 'up', jsonb_build_object(
               'earned_rank', rank, 'windows', jsonb_build_object(
                   'all', jsonb_build_object('sales_amount', sales_all, 'order_count', orders_all,
                                             'direct_recruits', recruits_all, 'bound_customers', customers_all),
                   '30d', jsonb_build_object('sales_amount', sales_30, 'order_count', orders_30,
                                             'direct_recruits', recruits_30, 'bound_customers', customers_30),
                   '90d', jsonb_build_object('sales_amount', sales_90, 'order_count', orders_90,
                                             'direct_recruits', recruits_90, 'bound_customers', customers_90))),
           NULL, 'bench raw', now()
      FROM changed)
SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM changed)
"""


def reset(merchant_id: int) -> None:
    """Everyone back on the default level, no history, no runs."""
    # after setup_django(): app modules need Django's apps loaded
    from distributors.models import Distributor, Level, LevelChange
    from tiers.models import TierRun

    with transaction.atomic():
        LevelChange.objects.for_merchant(merchant_id).delete()
        TierRun.objects.for_merchant(merchant_id).delete()
        default = Level.objects.for_merchant(merchant_id).get(is_default=True)
        Distributor.objects.for_merchant(merchant_id).update(level=default, level_changed_at=None)


def levels(merchant_id: int) -> dict[int, int]:
    from distributors.models import Distributor  # after setup_django(): app modules need Django's apps loaded

    return dict(Distributor.objects.for_merchant(merchant_id).values_list("id", "level__rank"))


def ours(merchant, as_of) -> tuple[float, dict]:
    # after setup_django(): app modules need Django's apps loaded
    from distribution import outbox, rls
    from tiers import services as tiers

    start = time.perf_counter()
    # as the tiers worker runs it: the application's role, in the merchant's row-level-security context
    with mock.patch.object(outbox, "publish"), override_settings(RUN_CHUNK_PAUSE_MS=0), rls.merchant(merchant.pk):
        run = tiers.tier_request(merchant=merchant, as_of=as_of, trigger="manual")
        run = tiers.tier_execute(run.pk)
    elapsed = time.perf_counter() - start
    assert run.status == "completed", run.status
    return elapsed, {"evaluated": run.evaluated, "upgraded": run.upgraded}


def raw(merchant, as_of) -> tuple[float, dict]:
    with owner_connect() as conn:  # by hand, as the tables' owner: no policies
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as c:
            c.execute("SET LOCAL statement_timeout = 0")
            c.execute("SET LOCAL jit = off")  # as the product does: compiling it costs more than it saves
            c.execute(
                RAW_RECALCULATE,
                {
                    "m": merchant.pk,
                    "as_of": as_of,
                    "d30": as_of - timedelta(days=30),
                    "d90": as_of - timedelta(days=90),
                },
            )
            evaluated, upgraded = c.fetchone()
        return time.perf_counter() - start, {"evaluated": evaluated, "upgraded": upgraded}


def measure(merchant, *, repeat: int = 1) -> list[dict]:
    # after setup_django(): app modules need Django's apps loaded
    from distributors.models import Distributor, LevelChange
    from orders.models import Order

    as_of = timezone.now()
    ours_times, raw_times = [], []
    for _ in range(repeat):
        reset(merchant.pk)
        elapsed, ours_counts = ours(merchant, as_of)
        ours_times.append(elapsed)
        ours_levels = levels(merchant.pk)
        ours_history = sorted(LevelChange.objects.for_merchant(merchant).values_list("distributor_id", "metrics"))
        reset(merchant.pk)
        elapsed, raw_counts = raw(merchant, as_of)
        raw_times.append(elapsed)
        raw_history = sorted(LevelChange.objects.for_merchant(merchant).values_list("distributor_id", "metrics"))
        assert ours_counts == raw_counts, (ours_counts, raw_counts)
        assert levels(merchant.pk) == ours_levels, "the raw statement and the tier run disagree on some level"
        assert ours_history == raw_history, "the raw statement and the tier run wrote different evidence"
    distributors = Distributor.objects.for_merchant(merchant).count()
    orders = Order.objects.for_merchant(merchant).count()
    counts = ", ".join(f"{rank}: {sum(1 for v in ours_levels.values() if v == rank)}" for rank in range(4))
    print(
        f"tiers: {distributors:,} distributors, {orders:,} orders; {ours_counts['upgraded']:,} upgrades "
        f"(by rank {counts}); ours {statistics.median(ours_times):.2f}s, raw {statistics.median(raw_times):.2f}s"
    )
    return [
        row(
            f"tier recalculation ({distributors:,} distributors, {orders:,} orders)",
            ours_times,
            raw_times,
            target=0.70,
        )
    ]


def run(scale: str = "small") -> list[dict]:
    merchant = generate.generate(scale)
    return measure(merchant, repeat=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["tiny", "small", "full", "huge"], default="small")
    args = parser.parse_args()
    setup_django()
    report("tiers", run(args.scale), {"scale": args.scale})


if __name__ == "__main__":
    main()
