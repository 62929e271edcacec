"""The figures' reads. Every query goes through `analytics.db.reads()` (the replica when there is one).

Two kinds of read, and each answer says which it is:
- rollup reads sum the daily rollups (DailyMerchant, DailyDistributor, DailyProduct, DailyCategory,
  DailyChannel), keyed by the day the order was paid in the merchant's time zone: a refund, a completion or
  a settlement later counts on the day its order was paid (the cohort rule);
- exact reads count on the base tables (orders, buyer facts, distributors, applications), for figures that do
  not add up over days: distinct buyers, new and returning buyers, new distributors, applications, regions,
  repurchase over a chosen day.
The repurchase snapshot (RepurchaseSnapshot) is the one figure read as it was last refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import connections
from django.db.models import Count, DateField, DecimalField, F, Q, QuerySet, Sum
from django.db.models.functions import Cast, Coalesce, NullIf, Trunc

from analytics.db import reads
from analytics.errors import UnknownMetric, UnsupportedRanking
from analytics.inputs import DateRange, bucket_start, buckets, last_days, merchant_today
from analytics.metrics import METRICS, SERIES_METRICS, Totals, Value, change, net_commission, ratio
from analytics.models import (
    Buyer,
    DailyCategory,
    DailyChannel,
    DailyDistributor,
    DailyMerchant,
    DailyProduct,
    RepurchaseSnapshot,
)
from analytics.refresh import REPURCHASE_WINDOWS, repurchase_counts, window
from catalog.models import Category, Product
from distribution.pii import mask_name
from distributors.models import Application, Distributor, Level
from merchants.models import Merchant
from orders.models import Order

FIGURES = (
    "orders",
    "gmv",
    "refunded",
    "commission_accrued",
    "commission_pending",
    "commission_confirmed",
    "commission_settled",
    "commission_reversed",
    "commission_clawed_back",
)
MERCHANT_SUMS = (
    *FIGURES,
    "distributed_orders",
    "distributed_gmv",
    "distributed_refunded",
    "completed_orders",
    "distributed_completed_orders",
    "visits",
)
DISTRIBUTOR_SUMS = (*FIGURES, "completed_orders", "visits")


def _sums(fields: Iterable[str]) -> dict[str, Any]:
    return {f: Coalesce(Sum(f), 0) for f in fields}


def _in_days(queryset: QuerySet[Any], rng: DateRange) -> QuerySet[Any]:
    return queryset.filter(day__gte=rng.date_from, day__lte=rng.date_to)


def _paid_in(merchant: Merchant, rng: DateRange) -> QuerySet[Order]:
    start, end = rng.bounds(merchant.tz)
    return Order.objects.for_merchant(merchant).using(reads()).filter(paid_at__gte=start, paid_at__lt=end)


def _distinct_customers(orders: QuerySet[Order]) -> int:
    return int(orders.aggregate(n=Count("customer_external_id", distinct=True))["n"])


# --- totals over a range ---------------------------------------------------------------------------------


def merchant_sums(merchant: Merchant, rng: DateRange) -> Totals:
    """The DailyMerchant rollup summed over the range's pay days."""
    rows = _in_days(DailyMerchant.objects.for_merchant(merchant).using(reads()), rng)
    return {k: int(v) for k, v in rows.aggregate(**_sums(MERCHANT_SUMS)).items()}


def _exact(merchant: Merchant, rng: DateRange, needs: set[str]) -> Totals:
    """The exact counts the metrics in `needs` read, each one query on the base tables."""
    out: Totals = {}
    start, end = rng.bounds(merchant.tz)
    if "returning_buyers" in needs:  # every buyer of the range is new (first paid order in it) or returning
        needs = needs | {"all_buyers", "new_buyers"}
    if "buyers" in needs:
        out["buyers"] = _distinct_customers(_paid_in(merchant, rng).filter(distributor__isnull=False))
    if "all_buyers" in needs:
        out["all_buyers"] = _distinct_customers(_paid_in(merchant, rng))
    if "new_buyers" in needs:
        out["new_buyers"] = (
            Buyer.objects.for_merchant(merchant)
            .using(reads())
            .filter(first_paid_at__gte=start, first_paid_at__lt=end)
            .count()
        )
    if "returning_buyers" in needs:
        out["returning_buyers"] = out["all_buyers"] - out["new_buyers"]
    if "new_distributors" in needs:
        out["new_distributors"] = (
            Distributor.objects.for_merchant(merchant)
            .using(reads())
            .filter(activated_at__gte=start, activated_at__lt=end)
            .count()
        )
    if "active_distributors" in needs:
        out["active_distributors"] = (
            _in_days(DailyDistributor.objects.for_merchant(merchant).using(reads()), rng)
            .filter(orders__gt=0)
            .values("distributor_id")
            .distinct()
            .count()
        )
    if "applications" in needs:
        A = Application.Status
        counts = (
            Application.objects.for_merchant(merchant)
            .using(reads())
            .filter(created_at__gte=start, created_at__lt=end)
            .aggregate(
                applications=Count("id"),
                approved=Count("id", filter=Q(status=A.APPROVED)),
                rejected=Count("id", filter=Q(status=A.REJECTED)),
            )
        )
        out.update({k: int(v) for k, v in counts.items()})
    return out


def totals(merchant: Merchant, rng: DateRange, metrics: Iterable[str]) -> Totals:
    needs = {need for name in metrics for need in METRICS[name].needs}
    return {**merchant_sums(merchant, rng), **_exact(merchant, rng, needs)}


# --- summary -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    unit: str
    value: Value
    previous: Value
    change: Value


def summary(merchant: Merchant, rng: DateRange) -> dict[str, Any]:
    """Every metric over the range, with the equal-length period just before it and the 环比 between them."""
    names = list(METRICS)
    now, before = totals(merchant, rng, names), totals(merchant, rng.previous(), names)
    cards = {}
    for name, metric in METRICS.items():
        value, previous = metric.formula(now), metric.formula(before)
        cards[name] = Card(metric.unit, value, previous, change(value, previous))
    return {"range": rng, "previous_range": rng.previous(), "metrics": cards}


# --- time series ---------------------------------------------------------------------------------------


def _bucketed_customers(orders: QuerySet[Order], interval: str, merchant: Merchant) -> dict[date, int]:
    rows = (
        orders.annotate(bucket=Trunc("paid_at", interval, output_field=DateField(), tzinfo=merchant.tz))
        .values("bucket")
        .annotate(n=Count("customer_external_id", distinct=True))
    )
    return {row["bucket"]: int(row["n"]) for row in rows}


def timeseries(merchant: Merchant, metric_name: str, rng: DateRange, interval: str) -> dict[str, Any]:
    """One point per day, week (from Monday) or month touching the range, zero-filled. Sums come from the
    DailyMerchant rollup per bucket; buyers are counted distinct per bucket on the orders (not summed)."""
    if metric_name not in SERIES_METRICS:
        raise UnknownMetric(fields={"metric": [f"One of {', '.join(SERIES_METRICS)}."]})
    metric = METRICS[metric_name]
    rows = (
        _in_days(DailyMerchant.objects.for_merchant(merchant).using(reads()), rng)
        .annotate(bucket=Trunc("day", interval, output_field=DateField()))
        .values("bucket")
        .annotate(**_sums(MERCHANT_SUMS))
    )
    by_bucket: dict[date, Totals] = {row.pop("bucket"): {k: int(v) for k, v in row.items()} for row in rows}
    exact: dict[str, dict[date, int]] = {}
    if "buyers" in metric.needs:
        exact["buyers"] = _bucketed_customers(
            _paid_in(merchant, rng).filter(distributor__isnull=False), interval, merchant
        )
    if "all_buyers" in metric.needs:
        exact["all_buyers"] = _bucketed_customers(_paid_in(merchant, rng), interval, merchant)
    zero = dict.fromkeys(MERCHANT_SUMS, 0)
    points = []
    for start, covered in buckets(rng, interval):
        t = {**zero, **by_bucket.get(start, {})}
        t.update({key: counts.get(start, 0) for key, counts in exact.items()})
        points.append(
            {
                "start": start,
                "date_from": covered.date_from,
                "date_to": covered.date_to,
                "unit": metric.unit,
                "value": metric.formula(t),
            }
        )
    return {"metric": metric_name, "unit": metric.unit, "interval": interval, "range": rng, "points": points}


# --- leaderboards --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    model: type[Any]
    key: str
    gmv: str  # the rollup column that is "gmv" (GMV through distribution) for this dimension
    orders: str
    rankings: tuple[str, ...]


DIMENSIONS = {
    "distributors": Dimension(
        DailyDistributor, "distributor", "gmv", "orders", ("gmv", "orders", "commission", "conversion")
    ),
    "products": Dimension(
        DailyProduct,
        "product",
        "distributed_gmv",
        "distributed_orders",
        ("gmv", "orders", "commission", "all_gmv", "all_orders"),
    ),
    "categories": Dimension(
        DailyCategory,
        "category",
        "distributed_gmv",
        "distributed_orders",
        ("gmv", "orders", "commission", "all_gmv", "all_orders"),
    ),
    "channels": Dimension(
        DailyChannel,
        "channel",
        "distributed_gmv",
        "distributed_orders",
        ("gmv", "orders", "commission", "all_gmv", "all_orders"),
    ),
}
RANKINGS = ("gmv", "orders", "commission", "conversion", "all_gmv", "all_orders")


def _ranked(dimension: Dimension, rows: QuerySet[Any], by: str) -> QuerySet[Any]:
    """Rows grouped by the dimension's key with their figures, best first by `by`, ties by the key."""
    figures: dict[str, Any] = {
        "gmv_sum": Coalesce(Sum(dimension.gmv), 0),
        "orders_sum": Coalesce(Sum(dimension.orders), 0),
        "refunded_sum": Coalesce(Sum("refunded" if dimension.key == "distributor" else "distributed_refunded"), 0),
        "commission_sum": Coalesce(
            Sum("commission_accrued") - Sum("commission_reversed") - Sum("commission_clawed_back"), 0
        ),
    }
    if dimension.key == "distributor":
        figures["visits_sum"] = Coalesce(Sum("visits"), 0)
        figures["conversion_value"] = Cast(Sum("orders"), DecimalField(max_digits=30, decimal_places=10)) / NullIf(
            Sum("visits"), 0
        )
    else:
        figures["all_gmv_sum"] = Coalesce(Sum("gmv"), 0)
        figures["all_orders_sum"] = Coalesce(Sum("orders"), 0)
    order = {
        "gmv": "gmv_sum",
        "orders": "orders_sum",
        "commission": "commission_sum",
        "conversion": "conversion_value",
        "all_gmv": "all_gmv_sum",
        "all_orders": "all_orders_sum",
    }[by]
    return (
        rows.values(dimension.key)
        .annotate(**figures)
        .order_by(F(order).desc(nulls_last=True), F(dimension.key).asc(nulls_last=True))
    )


def _names(dimension: Dimension, merchant: Merchant, keys: list[Any]) -> dict[Any, str]:
    if dimension.key == "channel":
        return {key: str(Order.Channel(key).label) for key in keys}
    model, field = {
        "distributor": (Distributor, "display_name"),
        "product": (Product, "title"),
        "category": (Category, "name"),
    }[dimension.key]
    names = dict(model.objects.for_merchant(merchant).using(reads()).filter(pk__in=keys).values_list("pk", field))
    return {key: names.get(key, "") if key is not None else "" for key in keys}


def leaderboard(merchant: Merchant, dimension_name: str, by: str, rng: DateRange, limit: int) -> dict[str, Any]:
    """The top `limit` of a dimension over the range (rollup read). Ranks are positions: ties are broken by
    the key (the id; the channel's code), so a rank is never shared."""
    dimension = DIMENSIONS[dimension_name]
    if by not in dimension.rankings:
        raise UnsupportedRanking(fields={"by": [f"{dimension_name} rank by one of {', '.join(dimension.rankings)}."]})
    rows = _in_days(dimension.model.objects.for_merchant(merchant).using(reads()), rng)
    top = list(_ranked(dimension, rows, by)[:limit])
    names = _names(dimension, merchant, [row[dimension.key] for row in top])
    entries = []
    for rank, row in enumerate(top, start=1):
        key = row[dimension.key]
        entry = {
            "rank": rank,
            "key": "" if key is None else str(key),
            "name": names[key],
            "gmv": row["gmv_sum"],
            "orders": row["orders_sum"],
            "refunded": row["refunded_sum"],
            "commission": row["commission_sum"],
            "visits": row.get("visits_sum"),
            "conversion": ratio(row["orders_sum"], row["visits_sum"]) if "visits_sum" in row else None,
            "all_gmv": row.get("all_gmv_sum"),
            "all_orders": row.get("all_orders_sum"),
        }
        entries.append(entry)
    return {"dimension": dimension_name, "by": by, "range": rng, "entries": entries}


# --- funnel --------------------------------------------------------------------------------------------


def funnel(merchant: Merchant, rng: DateRange) -> dict[str, Any]:
    """Share visits → distributed orders → those orders completed, over the range (rollup read)."""
    t = merchant_sums(merchant, rng)
    visits, orders, completed = t["visits"], t["distributed_orders"], t["distributed_completed_orders"]
    return {
        "range": rng,
        "steps": [
            {"step": "visits", "count": visits, "rate": None},
            {"step": "orders", "count": orders, "rate": ratio(orders, visits)},
            {"step": "completed_orders", "count": completed, "rate": ratio(completed, orders)},
        ],
        "overall_rate": ratio(completed, visits),
    }


# --- repurchase ----------------------------------------------------------------------------------------


def repurchase_snapshot(merchant: Merchant) -> list[dict[str, Any]]:
    """The standard windows as last refreshed (RepurchaseSnapshot); a window not refreshed yet has nulls."""
    rows = {
        r.window_days: r
        for r in RepurchaseSnapshot.objects.for_merchant(merchant)
        .using(reads())
        .filter(window_days__in=REPURCHASE_WINDOWS)
    }
    out = []
    for days in REPURCHASE_WINDOWS:
        row = rows.get(days)
        out.append(
            {
                "window_days": days,
                "buyers": row.buyers if row else None,
                "repeat_buyers": row.repeat_buyers if row else None,
                "rate": ratio(row.repeat_buyers, row.buyers) if row else None,
                "as_of": row.as_of if row else None,
                "refreshed_at": row.refreshed_at if row else None,
            }
        )
    return out


def repurchase_exact(merchant: Merchant, as_of: date) -> list[dict[str, Any]]:
    """The standard windows ending on `as_of` (included), counted now on the orders, by the snapshot's own
    definition (analytics.refresh.repurchase_counts)."""
    out = []
    with connections[reads()].cursor() as cursor:
        for days in REPURCHASE_WINDOWS:
            buyers, repeat = repurchase_counts(cursor, merchant.pk, *window(merchant, days, as_of))
            out.append(
                {
                    "window_days": days,
                    "buyers": buyers,
                    "repeat_buyers": repeat,
                    "rate": ratio(repeat, buyers),
                    "as_of": as_of,
                    "refreshed_at": None,
                }
            )
    return out


# --- buyers --------------------------------------------------------------------------------------------


def buyer_overview(merchant: Merchant, rng: DateRange, limit: int) -> dict[str, Any]:
    """New and returning buyers over the range, and the top regions (province, city) of the orders paid in
    it by distinct buyers and by GMV (exact reads; every order, distributed or not)."""
    t = _exact(merchant, rng, {"all_buyers", "new_buyers", "returning_buyers"})
    regions = (
        _paid_in(merchant, rng)
        .values("province", "city")
        .annotate(
            all_buyers=Count("customer_external_id", distinct=True), all_gmv=Sum("goods_amount"), all_orders=Count("id")
        )
    )
    return {
        "range": rng,
        "all_buyers": t["all_buyers"],
        "new_buyers": t["new_buyers"],
        "returning_buyers": t["returning_buyers"],
        "regions_by_buyers": list(regions.order_by("-all_buyers", "-all_gmv", "province", "city")[:limit]),
        "regions_by_gmv": list(regions.order_by("-all_gmv", "-all_buyers", "province", "city")[:limit]),
    }


# --- distributors --------------------------------------------------------------------------------------


def _sellers(merchant: Merchant, rng: DateRange) -> QuerySet[Any]:
    """Ids of distributors with at least one attributed order paid in the range (rollup read)."""
    rows = _in_days(DailyDistributor.objects.for_merchant(merchant).using(reads()), rng)
    return rows.filter(orders__gt=0).values("distributor_id")


def distributor_activity(merchant: Merchant, rng: DateRange, dormant_days: int) -> dict[str, Any]:
    """Active (sold in the range), new (activated in the range) and dormant (status active, no attributed
    order in the last `dormant_days` days up to today) distributors, in all and by their current level."""
    start, end = rng.bounds(merchant.tz)
    S = Distributor.Status
    recent = _sellers(merchant, last_days(merchant, dormant_days))
    rows = (
        Distributor.objects.for_merchant(merchant)
        .using(reads())
        .values("level_id")
        .annotate(
            distributors=Count("id", filter=Q(status=S.ACTIVE)),
            active=Count("id", filter=Q(pk__in=_sellers(merchant, rng))),
            new=Count("id", filter=Q(activated_at__gte=start, activated_at__lt=end)),
            dormant=Count("id", filter=Q(status=S.ACTIVE) & ~Q(pk__in=recent)),
        )
    )
    keys = ("distributors", "active", "new", "dormant")
    counted: dict[int | None, dict[str, int]] = {
        row["level_id"]: {
            "distributors": row["distributors"],
            "active": row["active"],
            "new": row["new"],
            "dormant": row["dormant"],
        }
        for row in rows
    }
    zero = dict.fromkeys(keys, 0)
    levels = Level.objects.for_merchant(merchant).using(reads()).order_by("rank")
    by_level = [{"level": {"id": lv.pk, "name": lv.name, "rank": lv.rank}, **counted.get(lv.pk, zero)} for lv in levels]
    if None in counted:
        by_level.append({"level": None, **counted[None]})
    total = {key: sum(row[key] for row in counted.values()) for key in keys}
    return {"range": rng, "dormant_days": dormant_days, **total, "by_level": by_level}


def _distributor_sums(rows: QuerySet[Any]) -> dict[str, int]:
    sums = rows.aggregate(**_sums(DISTRIBUTOR_SUMS))
    return {k: int(v) for k, v in sums.items()}


def _performance(t: dict[str, int]) -> dict[str, Any]:
    return {
        "orders": t["orders"],
        "gmv": t["gmv"],
        "refunded": t["refunded"],
        "commission": net_commission(t),
    }


def team_performance(merchant: Merchant, anchor: Distributor, rng: DateRange) -> dict[str, Any]:
    """A distributor's own figures and their team's by relative depth (1 = direct recruits), over the range:
    members now at each depth, how many sold, their attributed orders and GMV and the commission they earned
    (DailyDistributor rollup; the team is the invite tree as it is now)."""
    team = Distributor.objects.for_merchant(merchant).using(reads()).filter(ancestor_ids__contains=[anchor.pk])
    members = dict(
        team.annotate(relative=F("depth") - anchor.depth)
        .values("relative")
        .annotate(n=Count("id"))
        .values_list("relative", "n")
    )
    daily = _in_days(DailyDistributor.objects.for_merchant(merchant).using(reads()), rng)
    rows = (
        daily.filter(distributor__ancestor_ids__contains=[anchor.pk])
        .annotate(relative=F("distributor__depth") - anchor.depth)
        .values("relative")
        .annotate(active=Count("distributor_id", distinct=True, filter=Q(orders__gt=0)), **_sums(DISTRIBUTOR_SUMS))
    )
    figures = {row.pop("relative"): row for row in rows}
    depths = []
    for depth in sorted(set(members) | set(figures)):
        t = {k: int(v) for k, v in figures.get(depth, {}).items()}
        t = {**dict.fromkeys(("active", *DISTRIBUTOR_SUMS), 0), **t}
        depths.append(
            {"depth": depth, "members": members.get(depth, 0), "active_members": t["active"], **_performance(t)}
        )
    total = {
        "members": sum(d["members"] for d in depths),
        "active_members": sum(d["active_members"] for d in depths),
        **{k: sum(d[k] for d in depths) for k in ("orders", "gmv", "refunded", "commission")},
    }
    own = _performance(_distributor_sums(daily.filter(distributor=anchor)))
    return {"distributor": anchor, "range": rng, "own": own, "depths": depths, "team": total}


# --- the distributor's own figures ---------------------------------------------------------------------


def my_stats(merchant: Merchant, me: Distributor) -> dict[str, Any]:
    """My attributed sales and my commission today, over the last 7 and 30 days and by month for the last
    12 months (this month included), and my team's over the last 30 days (DailyDistributor rollup)."""
    mine = DailyDistributor.objects.for_merchant(merchant).using(reads()).filter(distributor=me)
    periods = {
        name: {"range": rng, **_performance(_distributor_sums(_in_days(mine, rng)))}
        for name, rng in (
            ("today", last_days(merchant, 1)),
            ("last_7_days", last_days(merchant, 7)),
            ("last_30_days", last_days(merchant, 30)),
        )
    }
    today = merchant_today(merchant)
    first = bucket_start(today, "month")
    for _ in range(11):
        first = bucket_start(first - timedelta(days=1), "month")
    year = DateRange(first, today)
    rows = (
        _in_days(mine, year)
        .annotate(month=Trunc("day", "month", output_field=DateField()))
        .values("month")
        .annotate(**_sums(DISTRIBUTOR_SUMS))
    )
    by_month = {row.pop("month"): {k: int(v) for k, v in row.items()} for row in rows}
    zero = dict.fromkeys(DISTRIBUTOR_SUMS, 0)
    months = [{"month": start, **_performance(by_month.get(start, zero))} for start, _ in buckets(year, "month")]
    team = team_performance(merchant, me, last_days(merchant, 30))
    return {"periods": periods, "months": months, "team": {"depths": team["depths"], "total": team["team"]}}


def masked_leaderboard(merchant: Merchant, me: Distributor, by: str, rng: DateRange, limit: int) -> dict[str, Any]:
    """The distributors' own leaderboard (rollup read): only active distributors who opted in, with a figure
    above zero, best first (ties by id), names masked. My rank is where I stand among them, whether or not I
    opted in (ahead of me: a higher figure, or the same figure and a lower id); null when my figure is zero."""
    column = {"gmv": "gmv_sum", "orders": "orders_sum"}[by]
    daily = _in_days(DailyDistributor.objects.for_merchant(merchant).using(reads()), rng)
    grouped = daily.values("distributor").annotate(
        gmv_sum=Coalesce(Sum("gmv"), 0), orders_sum=Coalesce(Sum("orders"), 0)
    )
    board = grouped.filter(
        distributor__leaderboard_opt_in=True, distributor__status=Distributor.Status.ACTIVE, **{f"{column}__gt": 0}
    )
    top = list(board.order_by(F(column).desc(), "distributor")[:limit])
    others = board.exclude(distributor=me)
    mine = next(iter(grouped.filter(distributor=me)), {"gmv_sum": 0, "orders_sum": 0})
    names = _names(DIMENSIONS["distributors"], merchant, [row["distributor"] for row in top])
    my_rank = None
    if mine[column] > 0:
        higher = others.filter(**{f"{column}__gt": mine[column]}).count()
        tied_before = others.filter(**{column: mine[column]}).filter(distributor__lt=me.pk).count()
        my_rank = higher + tied_before + 1
    return {
        "by": by,
        "range": rng,
        "entries": [
            {
                "rank": rank,
                "name": mask_name(names[row["distributor"]]),
                "gmv": int(row["gmv_sum"]),
                "orders": int(row["orders_sum"]),
                "me": row["distributor"] == me.pk,
            }
            for rank, row in enumerate(top, start=1)
        ],
        "me": {
            "rank": my_rank,
            "gmv": int(mine["gmv_sum"]),
            "orders": int(mine["orders_sum"]),
            "opted_in": me.leaderboard_opt_in,
        },
    }
