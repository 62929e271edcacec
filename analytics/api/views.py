"""The figures: the merchant's analytics (`/api/v1/analytics/…`, every staff role that reads orders) and a
distributor's own figures and leaderboard (`/api/v1/distributor/…`). Definitions: docs/analytics.md."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from analytics import selectors
from analytics.api import serializers as s
from analytics.inputs import date_range
from distribution.api.views import MerchantApi
from distributors.api.views.base import MyApi
from distributors.models import Distributor
from distributors.services.lifecycle import distributor_set_leaderboard_opt_in

TAGS = ["analytics"]
RANGE_RULES = (
    " Days are the merchant's time zone's; `date_from`/`date_to` default to the last 30 days including today, "
    "cover at most 731 days and never a day after today (`invalid_date_range`, `date_range_too_long`, "
    "`date_in_future`). Orders count on the day they were paid: a later refund, completion or settlement "
    "changes the figures of that pay day (docs/analytics.md)."
)


class _FiguresMixin:
    """What the analytics views share: the validated range and the answer with the currency."""

    def validated(self, serializer_class):
        """The query, and its date range with the defaults filled in (refused with a code when invalid)."""
        query = self.validate_query(serializer_class)
        return query, date_range(self.merchant, query.get("date_from"), query.get("date_to"))

    def answer(self, serializer_class, data: dict[str, Any]) -> Response:
        body = {"currency": self.merchant.currency, **data}
        return Response(serializer_class(body, context=self.get_serializer_context()).data)


class _AnalyticsApi(_FiguresMixin, MerchantApi):
    pass


@extend_schema(tags=TAGS)
class SummaryApi(_AnalyticsApi):
    __doc__ = (
        "KPI cards over the range, each with its value, the value over the equal-length period just before "
        "(`previous`) and the change (环比) = (value − previous) ÷ |previous| as a 4-place decimal string, null "
        "when previous is zero (shown as “—”, never as 0). Each metric's formula is in its field's description. "
        "Rollup reads (DailyMerchant) except buyers, all_buyers, new/returning buyers, new distributors and "
        "applications, which are exact queries." + RANGE_RULES
    )

    @extend_schema(parameters=[s.RangeQuery], responses={200: s.SummaryOutput})
    def get(self, request: Any) -> Response:
        _, rng = self.validated(s.RangeQuery)
        return self.answer(
            s.SummaryOutput, {"time_zone": self.merchant.timezone, **selectors.summary(self.merchant, rng)}
        )


@extend_schema(tags=TAGS)
class TimeseriesApi(_AnalyticsApi):
    __doc__ = (
        "One metric per day, week (Monday to Sunday) or month, every bucket present (zero-filled). Metrics: "
        + ", ".join(selectors.SERIES_METRICS)
        + " (their formulas: the summary's). Sums come from the DailyMerchant rollup; buyers and all_buyers "
        "are counted distinct per bucket on the orders, never summed over days (`unknown_metric` otherwise)."
        + RANGE_RULES
    )

    @extend_schema(parameters=[s.TimeseriesQuery], responses={200: s.TimeseriesOutput})
    def get(self, request: Any) -> Response:
        query, rng = self.validated(s.TimeseriesQuery)
        return self.answer(
            s.TimeseriesOutput, selectors.timeseries(self.merchant, query["metric"], rng, query["interval"])
        )


@extend_schema(tags=TAGS)
class LeaderboardApi(_AnalyticsApi):
    __doc__ = (
        "The top distributors, products, categories or channels over the range (rollup reads), best first, ties "
        "broken by id (channels: by code). gmv and orders are the distributed orders' (distributors: the orders "
        "attributed to them), commission is net_commission, conversion = orders ÷ visits (distributors only), "
        "all_gmv / all_orders count every order (products, categories, channels). Another combination is "
        "`unsupported_ranking`." + RANGE_RULES
    )

    @extend_schema(parameters=[s.LeaderboardQuery], responses={200: s.LeaderboardOutput})
    def get(self, request: Any) -> Response:
        query, rng = self.validated(s.LeaderboardQuery)
        data = selectors.leaderboard(self.merchant, query["dimension"], query["by"], rng, query["limit"])
        return self.answer(s.LeaderboardOutput, data)


@extend_schema(tags=TAGS)
class FunnelApi(_AnalyticsApi):
    __doc__ = (
        "Share visits → distributed orders → those orders completed so far, with each step's rate (this step ÷ "
        "the one before) and the overall rate (completed ÷ visits); a rate without a denominator is null. "
        "Rollup read (DailyMerchant)." + RANGE_RULES
    )

    @extend_schema(parameters=[s.RangeQuery], responses={200: s.FunnelOutput})
    def get(self, request: Any) -> Response:
        _, rng = self.validated(s.RangeQuery)
        return self.answer(s.FunnelOutput, selectors.funnel(self.merchant, rng))


@extend_schema(tags=TAGS)
class RepurchaseApi(_AnalyticsApi):
    """Repurchase (复购) over the last 30, 90 and 365 days: repeat_buyers (two or more paid orders in the window)
    ÷ buyers (at least one). Without `date_to`, the snapshot refreshed every few minutes (`basis`: snapshot,
    with its `as_of` and `refreshed_at`; a window not refreshed yet is null). With `date_to`, counted exactly
    now on the orders, for the windows ending on that day (`basis`: exact)."""

    @extend_schema(parameters=[s.RepurchaseQuery], responses={200: s.RepurchaseOutput})
    def get(self, request: Any) -> Response:
        query = self.validate_query(s.RepurchaseQuery)
        if query.get("date_to") is None:
            return self.answer(
                s.RepurchaseOutput, {"basis": "snapshot", "windows": selectors.repurchase_snapshot(self.merchant)}
            )
        as_of = date_range(self.merchant, date_to=query["date_to"]).date_to  # no day after today
        return self.answer(
            s.RepurchaseOutput, {"basis": "exact", "windows": selectors.repurchase_exact(self.merchant, as_of)}
        )


@extend_schema(tags=TAGS)
class BuyersApi(_AnalyticsApi):
    __doc__ = (
        "The shop's buyers over the range (every order, distributed or not; exact queries): all_buyers, new_buyers "
        "(first paid order in the range, by the buyer facts), returning_buyers (an order in the range, the first "
        "one before it), and the top regions (the orders' province and city) by distinct buyers and by GMV."
        + RANGE_RULES
    )

    @extend_schema(parameters=[s.BuyersQuery], responses={200: s.BuyersOutput})
    def get(self, request: Any) -> Response:
        query, rng = self.validated(s.BuyersQuery)
        return self.answer(s.BuyersOutput, selectors.buyer_overview(self.merchant, rng, query["limit"]))


@extend_schema(tags=TAGS)
class DistributorActivityApi(_AnalyticsApi):
    __doc__ = (
        "Distributors: active (at least one attributed order paid in the range; rollup read), new (activated in "
        "the range), dormant (status active, no attributed order in the last `dormant_days` days up to today), "
        "and the same by level. By-level counts use each distributor's level now, not the level it had when it "
        "sold." + RANGE_RULES
    )

    @extend_schema(parameters=[s.ActivityQuery], responses={200: s.ActivityOutput})
    def get(self, request: Any) -> Response:
        query, rng = self.validated(s.ActivityQuery)
        data = selectors.distributor_activity(self.merchant, rng, query["dormant_days"])
        return self.answer(s.ActivityOutput, data)


@extend_schema(tags=TAGS)
class TeamPerformanceApi(_AnalyticsApi):
    __doc__ = (
        "A distributor's own figures and their team's by relative depth (1 = direct recruits): members now, "
        "active members, attributed orders, GMV, refunded and the commission the members earned (DailyDistributor "
        "rollup; the team is the invite tree as it is now). Another merchant's distributor is a 404." + RANGE_RULES
    )

    model = Distributor

    @extend_schema(parameters=[s.RangeQuery], responses={200: s.TeamOutput})
    def get(self, request: Any, pk: int) -> Response:
        distributor = self.get_object()
        _, rng = self.validated(s.RangeQuery)
        return self.answer(s.TeamOutput, selectors.team_performance(self.merchant, distributor, rng))


# --- the distributor's own -----------------------------------------------------------------------------


class _MyFiguresApi(_FiguresMixin, MyApi):
    pass


@extend_schema(tags=["distributor API"])
class MyStatsApi(_MyFiguresApi):
    """My attributed orders, their GMV and refunds, and my net commission: today, the last 7 and 30 days and by
    month over the last 12 months (days in the merchant's time zone; an order counts on the day it was paid),
    and my team's figures by depth over the last 30 days."""

    @extend_schema(responses={200: s.MyStatsOutput})
    def get(self, request: Any) -> Response:
        return self.answer(s.MyStatsOutput, selectors.my_stats(self.merchant, self.me()))


@extend_schema(tags=["distributor API"])
class MyLeaderboardApi(_MyFiguresApi):
    __doc__ = (
        "The distributors' leaderboard by GMV or orders: only active distributors who opted in (see "
        "leaderboard/participation) and sold in the range, names masked (张**), ties broken by id; and my own "
        "rank among them, shown whether or not I opted in (null when I sold nothing)." + RANGE_RULES
    )

    @extend_schema(parameters=[s.MyLeaderboardQuery], responses={200: s.MyLeaderboardOutput})
    def get(self, request: Any) -> Response:
        query, rng = self.validated(s.MyLeaderboardQuery)
        data = selectors.masked_leaderboard(self.merchant, self.me(), query["by"], rng, query["limit"])
        return self.answer(s.MyLeaderboardOutput, data)


@extend_schema(tags=["distributor API"])
class MyLeaderboardParticipationApi(_MyFiguresApi):
    """Whether I appear (name masked) on the distributors' leaderboard; POST opts in or out. Off until I opt in."""

    @extend_schema(responses={200: s.ParticipationOutput})
    def get(self, request: Any) -> Response:
        return Response(s.ParticipationOutput({"opted_in": self.me().leaderboard_opt_in}).data)

    @extend_schema(request=s.ParticipationInput, responses={200: s.ParticipationOutput})
    def post(self, request: Any) -> Response:
        me = self.me()
        data = self.validate_input(s.ParticipationInput)
        me = distributor_set_leaderboard_opt_in(
            merchant=self.merchant, actor=self.actor, distributor_id=me.pk, opted_in=data["opted_in"]
        )
        return Response(s.ParticipationOutput({"opted_in": me.leaderboard_opt_in}).data)
