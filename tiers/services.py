"""Tier recalculation (等级升降): every distributor's level from their metrics, in set-based SQL.

A run evaluates, as of a time, every active distributor whose level is not locked: the metrics of each
level's conditions (sales amount, order count, direct recruits, bound customers, over the level's window
or cumulative: the same definitions as `tiers.progress`) are aggregated per chunk of distributors
in one statement, which also picks the level each one has earned (the highest whose conditions hold; the
default level is the floor), moves them and writes their level history. Upgrades happen at once.
Downgrades happen only when the program enables them, in the first run of a new evaluation period, one
level at a time, and not within the grace days after the distributor's last change, so nobody bounces.

The outcome depends only on the data and `as_of`, so a run that dies and is resumed, or a run repeated,
ends with the levels a clean run gives; a chunk commits whole or not at all (a leased run:
distribution.runs).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from distribution.runs import RunEngine
from distributors.models import CustomerBinding, Distributor, Level, LevelChange
from merchants.models import DistributionProgram, Merchant
from orders.models import Order
from tiers.models import TierRun

R = TierRun.Status
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "cumulative": since the beginning
CONDITION_COLUMNS = {
    "min_sales_amount": "sales",
    "min_order_count": "orders",
    "min_direct_recruits": "recruits",
    "min_bound_customers": "customers",
}


def period_key(merchant: Merchant, at: datetime, months: int) -> str:
    local = at.astimezone(merchant.tz)
    return f"{local.year}-{months}m{(local.month - 1) // months}"


@transaction.atomic
def tier_request(*, merchant: Merchant, as_of: datetime | None = None, trigger: str = "schedule") -> TierRun:
    """A run for the merchant (the worker executes it after commit); one pending or running at a time."""
    as_of = as_of or timezone.now()
    program = DistributionProgram.objects.for_merchant(merchant).get()
    period = period_key(merchant, as_of, program.level_evaluation_months)
    # Downgrades wait for the first run of a new evaluation period: the run before it (if any) was in an
    # earlier period, and no run has closed this one yet. (A merchant who turns downgrades on mid-period
    # therefore sees the first ones at the start of the next period, not the next night.)
    previous = TierRun.objects.for_merchant(merchant).filter(as_of__lt=as_of).order_by("-as_of").first()
    closes_period = (
        program.level_downgrade_enabled
        and previous is not None
        and period_key(merchant, previous.as_of, program.level_evaluation_months) != period
        and not TierRun.objects.for_merchant(merchant).filter(downgrades=True, period=period).exists()
    )
    try:
        with transaction.atomic():
            run = TierRun.objects.create(
                merchant=merchant,
                as_of=as_of,
                trigger=trigger,
                downgrades=closes_period,
                period=period if closes_period else "",
            )
    except IntegrityError:
        return TierRun.objects.for_merchant(merchant).get(status__in=[R.PENDING, R.RUNNING])
    TIER_RUNS.enqueue(run.pk)
    return run


def tier_execute(
    run_id: int,
    *,
    worker: str | None = None,
    chunk_size: int | None = None,
    lease: timedelta | None = None,
    max_chunks: int | None = None,
) -> TierRun | None:
    """Work through the run (distribution.runs.RunEngine.execute: worker, chunk_size, lease, max_chunks)."""
    return TIER_RUNS.execute(run_id, worker=worker, chunk_size=chunk_size, lease=lease, max_chunks=max_chunks)


def tier_resume_stale() -> list[int]:
    """Runs whose worker stopped renewing its lease: queued again by task name (through the outbox)."""
    return TIER_RUNS.resume_stale()


def _conditions_sql(level: Level, window_index: int, params: dict[str, Any]) -> str | None:
    parts = []
    for field, column in CONDITION_COLUMNS.items():
        value = getattr(level, field)
        if value is None:
            continue
        name = f"l{level.pk}_{column}"
        params[name] = value
        parts.append(f"m.{column}_{window_index} >= %({name})s")
    if not parts:
        return None
    joiner = " AND " if level.condition_mode == Level.ConditionMode.ALL else " OR "
    return "(" + joiner.join(parts) + ")"


def _step(run: TierRun, chunk_size: int) -> bool:
    """Recalculate the next chunk of distributors (in the engine's chunk transaction); False when none is
    left."""
    levels = list(Level.objects.for_merchant(run.merchant_id).order_by("-rank"))
    default = next((lv for lv in levels if lv.is_default), None)
    if default is None:
        return False
    with connection.cursor() as cursor:  # the chunk's id range first, so the planner sees real bounds
        cursor.execute(
            f"""SELECT min(id), max(id) FROM (
                   SELECT id FROM {Distributor._meta.db_table}
                    WHERE merchant_id = %s AND id >= %s AND status = 'active' AND NOT level_locked
                    ORDER BY id LIMIT %s) chunk""",  # noqa: S608 - a table name from its model
            [run.merchant_id, run.cursor, chunk_size],
        )
        low, high = cursor.fetchone()
    if low is None:
        return False
    program = DistributionProgram.objects.for_merchant(run.merchant_id).get()
    windows = sorted({lv.window_days for lv in levels if lv.conditions}, key=lambda w: -1 if w is None else w)
    windows = windows or [None]
    params: dict[str, Any] = {  # the statement's bound values
        "m": run.merchant_id,
        "lo": low,
        "hi": high,
        "as_of": run.as_of,
        "run": run.pk,
        "default_rank": default.rank,
        "downgrades": run.downgrades,
        "grace_before": run.as_of - timedelta(days=program.level_downgrade_grace_days),
    }
    since = {}
    for i, window in enumerate(windows):
        since[i] = f"since_{i}"
        params[f"since_{i}"] = run.as_of - timedelta(days=window) if window else EPOCH
    params["min_since"] = min(params[v] for v in since.values())
    cases = []
    for level in levels:  # highest rank first: the first level whose conditions hold is the one earned
        condition = _conditions_sql(level, windows.index(level.window_days) if level.conditions else 0, params)
        if condition is not None:
            params[f"rank_{level.pk}"] = level.rank
            cases.append(f"WHEN {condition} THEN %(rank_{level.pk})s")
    earned = f"CASE {' '.join(cases)} ELSE %(default_rank)s END" if cases else "%(default_rank)s"
    sales = ", ".join(
        f"sum(goods_amount - refunded_amount) FILTER (WHERE paid_at >= %({s})s) AS sales_{i}, "
        f"count(*) FILTER (WHERE paid_at >= %({s})s) AS orders_{i}"
        for i, s in since.items()
    )
    recruits = ", ".join(f"count(*) FILTER (WHERE activated_at >= %({s})s) AS recruits_{i}" for i, s in since.items())
    customers = ", ".join(f"count(*) FILTER (WHERE bound_at >= %({s})s) AS customers_{i}" for i, s in since.items())
    metrics = ", ".join(
        f"coalesce(o.sales_{i}, 0) AS sales_{i}, coalesce(o.orders_{i}, 0) AS orders_{i}, "
        f"coalesce(r.recruits_{i}, 0) AS recruits_{i}, coalesce(c.customers_{i}, 0) AS customers_{i}"
        for i in since
    )
    windows_json = ", ".join(
        f"'{f'{windows[i]}d' if windows[i] else 'all'}', jsonb_build_object("
        f"'sales_amount', sales_{i}, 'order_count', orders_{i}, "
        f"'direct_recruits', recruits_{i}, 'bound_customers', customers_{i})"
        for i in since
    )
    evidence = f"'earned_rank', earned, 'windows', jsonb_build_object({windows_json})"
    orders = Order._meta.db_table
    distributors, level_table = Distributor._meta.db_table, Level._meta.db_table
    bindings, history = CustomerBinding._meta.db_table, LevelChange._meta.db_table
    sql = f"""
    WITH d AS (
        SELECT id, level_id, level_changed_at FROM {distributors}
         WHERE merchant_id = %(m)s AND id BETWEEN %(lo)s AND %(hi)s AND status = 'active' AND NOT level_locked),
    o AS (
        SELECT distributor_id AS id, {sales} FROM {orders}
         WHERE merchant_id = %(m)s AND distributor_id BETWEEN %(lo)s AND %(hi)s
           AND status IN ('paid', 'shipped', 'completed') AND goods_amount > refunded_amount
           AND paid_at >= %(min_since)s AND paid_at <= %(as_of)s
         GROUP BY 1),
    r AS (
        SELECT inviter_id AS id, {recruits} FROM {distributors}
         WHERE merchant_id = %(m)s AND inviter_id BETWEEN %(lo)s AND %(hi)s AND status IN ('active', 'frozen')
           AND activated_at <= %(as_of)s
         GROUP BY 1),
    c AS (
        SELECT distributor_id AS id, {customers} FROM {bindings}
         WHERE merchant_id = %(m)s AND distributor_id BETWEEN %(lo)s AND %(hi)s AND status = 'active'
           AND bound_at <= %(as_of)s AND (expires_at IS NULL OR expires_at > %(as_of)s)
         GROUP BY 1),
    m AS (
        SELECT d.id, d.level_id, d.level_changed_at, coalesce(cur.rank, -1) AS cur_rank, {metrics}
          FROM d LEFT JOIN o ON o.id = d.id LEFT JOIN r ON r.id = d.id LEFT JOIN c ON c.id = d.id
          LEFT JOIN {level_table} cur ON cur.id = d.level_id),
    e AS (SELECT m.*, {earned} AS earned FROM m),
    t AS MATERIALIZED (  -- evaluate the conditions once per distributor
        SELECT e.*, CASE
            WHEN e.earned > e.cur_rank THEN e.earned
            WHEN %(downgrades)s AND e.earned < e.cur_rank
                 AND (e.level_changed_at IS NULL OR e.level_changed_at <= %(grace_before)s)
                THEN greatest(e.earned, (SELECT max(rank) FROM {level_table}
                                          WHERE merchant_id = %(m)s AND rank < e.cur_rank))
            ELSE e.cur_rank END AS target
          FROM e),
    changed AS MATERIALIZED (
        SELECT t.*, (SELECT lv.id FROM {level_table} lv WHERE lv.merchant_id = %(m)s AND lv.rank = t.target)
                    AS target_level
          FROM t WHERE t.target <> t.cur_rank),
    u AS (
        UPDATE {distributors} x SET level_id = changed.target_level, level_changed_at = %(as_of)s,
                                              updated_at = now()
          FROM changed WHERE x.merchant_id = %(m)s AND x.id BETWEEN %(lo)s AND %(hi)s AND x.id = changed.id),
    h AS (
        INSERT INTO {history} (merchant_id, distributor_id, old_level_id, new_level_id, direction,
                                              metrics, run_id, reason, created_at)
        SELECT %(m)s, id, level_id, target_level, CASE WHEN target > cur_rank THEN 'up' ELSE 'down' END,
               jsonb_build_object({evidence}), %(run)s, '', now()
          FROM changed
        ON CONFLICT DO NOTHING)
    SELECT (SELECT count(*) FROM d),
           (SELECT count(*) FROM changed WHERE target > cur_rank),
           (SELECT count(*) FROM changed WHERE target < cur_rank)
    """  # noqa: S608 - only numbers and our own identifiers are formatted in; values are bound
    with connection.cursor() as cursor:
        # The joined aggregates' row estimates are far too high, so PostgreSQL would JIT-compile this
        # statement, which takes longer (seconds) than running it: not for a chunk this size.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        evaluated, upgraded, downgraded = cursor.fetchone()
    TierRun.objects.unscoped().filter(pk=run.pk).update(
        cursor=high + 1,
        heartbeat_at=timezone.now(),
        evaluated=F("evaluated") + evaluated,
        upgraded=F("upgraded") + upgraded,
        downgraded=F("downgraded") + downgraded,
    )
    return True


TIER_RUNS = RunEngine(
    model=TierRun,
    task="tiers.execute_run",
    step=_step,
    default_chunk=lambda: settings.TIER_CHUNK_SIZE,
)
