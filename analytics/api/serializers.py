"""The analytics' query parameters and answers. Money is a decimal string, counts are integers, ratios are
decimal strings with 4 places ("0.1250" = 12.5%); a ratio without a denominator is null, never 0."""

from __future__ import annotations

from datetime import date
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.inputs import INTERVALS
from analytics.metrics import COUNT, METRICS, MONEY, RATIO_PLACES, UNITS
from analytics.selectors import DIMENSIONS, RANKINGS
from distribution import money
from distribution.api.fields import MONEY_PATTERN, DateTimeField, IntegerField, MoneyField
from distributors.api.serializers.distributors import DistributorBrief

REPURCHASE_BASES = ["snapshot", "exact"]
RATIO_PATTERN = rf"^-?[0-9]+\.[0-9]{{{RATIO_PLACES}}}$"
RATIO_SCHEMA = {"type": "string", "pattern": RATIO_PATTERN, "example": "0.1250", "nullable": True}


class DateField(serializers.DateField):
    """A day as YYYY-MM-DD in ASCII digits, from 2000-01-01 to 2099-12-31."""

    default_error_messages = {"ascii": "Use a date as YYYY-MM-DD in ASCII digits.", "range": "Must be in 2000-2099."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> date:
        if isinstance(value, str) and (not value.isascii() or len(value) != 10):
            self.fail("ascii")
        parsed = super().to_internal_value(value)
        if not 2000 <= parsed.year <= 2099:
            self.fail("range")
        return parsed


# --- queries -------------------------------------------------------------------------------------------


class RangeQuery(serializers.Serializer):
    date_from = DateField(
        required=False, help_text="First day (merchant's time zone), included. Default: 29 days before date_to."
    )
    date_to = DateField(required=False, help_text="Last day (merchant's time zone), included. Default: today.")


class TimeseriesQuery(RangeQuery):
    metric = serializers.CharField(
        max_length=40, default="gmv", help_text="One of the summary's metrics offered as a series (default gmv)."
    )
    interval = serializers.ChoiceField(choices=INTERVALS, default="day", help_text="Weeks start on Monday.")


class LeaderboardQuery(RangeQuery):
    dimension = serializers.ChoiceField(choices=list(DIMENSIONS), default="distributors")
    by = serializers.ChoiceField(
        choices=RANKINGS, default="gmv", help_text="conversion ranks distributors only; all_* other dimensions."
    )
    limit = IntegerField(min_value=1, max_value=100, default=20)


class BuyersQuery(RangeQuery):
    limit = IntegerField(min_value=1, max_value=100, default=10, help_text="How many regions in each list.")


class ActivityQuery(RangeQuery):
    dormant_days = IntegerField(
        min_value=1, max_value=365, default=30, help_text="Dormant: no attributed order in this many days."
    )


class RepurchaseQuery(serializers.Serializer):
    date_to = DateField(required=False, help_text="Count exactly, now, the windows ending on this day.")


class MyLeaderboardQuery(RangeQuery):
    by = serializers.ChoiceField(choices=["gmv", "orders"], default="gmv")
    limit = IntegerField(min_value=1, max_value=100, default=20)


class ParticipationInput(serializers.Serializer):
    opted_in = serializers.BooleanField(help_text="true: show me (masked) on the leaderboard; false: hide me.")


# --- answers -------------------------------------------------------------------------------------------


@extend_schema_field(RATIO_SCHEMA)
class RatioField(serializers.Field):
    def to_representation(self, value: Any) -> str:
        return str(value)


def render(unit: str, value: Any, currency: str) -> Any:
    if value is None or unit == COUNT:
        return value
    if unit == MONEY:
        return money.format_amount(value, currency)
    return str(value)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": MONEY_PATTERN, "description": "money"},
            {"type": "integer", "description": "count"},
            {"type": "string", "pattern": RATIO_PATTERN, "description": "ratio"},
        ],
        "nullable": True,
    }
)
class FigureField(serializers.Field):
    """A figure in its metric's unit (money: a decimal string; count: an integer; ratio: 4 places)."""

    def __init__(self, key: str, **kwargs: Any) -> None:
        self.key = key
        super().__init__(source="*", **kwargs)

    def to_representation(self, value: Any) -> Any:
        currency = self.context.get("currency", "CNY")
        if isinstance(value, dict):
            return render(value["unit"], value[self.key], currency)
        return render(value.unit, getattr(value, self.key), currency)


class RangeOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()


class MetricCard(serializers.Serializer):
    unit = serializers.ChoiceField(choices=UNITS)
    value = FigureField("value")
    previous = FigureField("previous", help_text="The same figure over the equal-length period just before.")
    change = RatioField(
        allow_null=True, help_text="环比: (value − previous) ÷ |previous|; null when previous is zero or null."
    )


SummaryMetrics = type(
    "SummaryMetrics",
    (serializers.Serializer,),
    {name: MetricCard(help_text=f"({metric.unit}) {metric.definition}") for name, metric in METRICS.items()},
)


class SummaryOutput(serializers.Serializer):
    currency = serializers.CharField()
    time_zone = serializers.CharField()
    range = RangeOutput()
    previous_range = RangeOutput()
    metrics = SummaryMetrics()


class PointOutput(serializers.Serializer):
    start = serializers.DateField(help_text="The bucket's natural start: the day, the Monday, the 1st.")
    date_from = serializers.DateField(help_text="The first day of the range in this bucket.")
    date_to = serializers.DateField(help_text="The last day of the range in this bucket.")
    value = FigureField("value")


class TimeseriesOutput(serializers.Serializer):
    metric = serializers.CharField()
    unit = serializers.ChoiceField(choices=UNITS)
    interval = serializers.ChoiceField(choices=INTERVALS)
    currency = serializers.CharField()
    range = RangeOutput()
    points = PointOutput(many=True)


class LeaderboardEntryOutput(serializers.Serializer):
    rank = IntegerField(help_text="Position, 1 first; ties are broken by the key, never shared.")
    key = serializers.CharField(help_text="The distributor's, product's or category's id, or the channel's code.")
    name = serializers.CharField(help_text="Display name, product title, category name, channel label.")
    gmv = MoneyField()
    orders = IntegerField()
    refunded = MoneyField()
    commission = MoneyField(help_text="net_commission of these orders (distributors: what they earned).")
    visits = IntegerField(allow_null=True, help_text="Distributors only.")
    conversion = RatioField(allow_null=True, help_text="Distributors only: orders ÷ visits.")
    all_gmv = MoneyField(allow_null=True, help_text="Products, categories, channels: every order's goods amount.")
    all_orders = IntegerField(allow_null=True, help_text="Products, categories, channels.")


class LeaderboardOutput(serializers.Serializer):
    dimension = serializers.CharField()
    by = serializers.CharField()
    currency = serializers.CharField()
    range = RangeOutput()
    entries = LeaderboardEntryOutput(many=True)


class FunnelStepOutput(serializers.Serializer):
    step = serializers.ChoiceField(choices=["visits", "orders", "completed_orders"])
    count = IntegerField()
    rate = RatioField(allow_null=True, help_text="This step ÷ the step before; null for the first step.")


class FunnelOutput(serializers.Serializer):
    range = RangeOutput()
    steps = FunnelStepOutput(many=True)
    overall_rate = RatioField(allow_null=True, help_text="completed_orders ÷ visits.")


class RepurchaseWindowOutput(serializers.Serializer):
    window_days = IntegerField()
    buyers = IntegerField(allow_null=True, help_text="Paid at least once in the window.")
    repeat_buyers = IntegerField(allow_null=True, help_text="Paid at least twice in the window.")
    rate = RatioField(allow_null=True, help_text="repeat_buyers ÷ buyers.")
    as_of = serializers.DateField(allow_null=True, help_text="The window's last day (included).")
    refreshed_at = DateTimeField(allow_null=True, help_text="When the snapshot was taken; null if exact.")


class RepurchaseOutput(serializers.Serializer):
    basis = serializers.ChoiceField(
        choices=REPURCHASE_BASES, help_text="snapshot: as last refreshed; exact: counted now on the orders."
    )
    windows = RepurchaseWindowOutput(many=True)


class RegionOutput(serializers.Serializer):
    province = serializers.CharField(help_text="Empty: the orders carried no region.")
    city = serializers.CharField()
    all_buyers = IntegerField()
    all_orders = IntegerField()
    all_gmv = MoneyField()


class BuyersOutput(serializers.Serializer):
    currency = serializers.CharField()
    range = RangeOutput()
    all_buyers = IntegerField()
    new_buyers = IntegerField()
    returning_buyers = IntegerField()
    regions_by_buyers = RegionOutput(many=True)
    regions_by_gmv = RegionOutput(many=True)


class LevelRef(serializers.Serializer):
    id = IntegerField()
    name = serializers.CharField()
    rank = IntegerField()


class ActivityCounts(serializers.Serializer):
    distributors = IntegerField(help_text="Distributors whose status is active now.")
    active = IntegerField(help_text="With at least one attributed order paid in the range.")
    new = IntegerField(help_text="Activated in the range.")
    dormant = IntegerField(help_text="Status active, no attributed order in the last dormant_days days.")


class ActivityByLevel(ActivityCounts):
    level = LevelRef(allow_null=True, help_text="The distributors' current level; null: no level.")


class ActivityOutput(ActivityCounts):
    range = RangeOutput()
    dormant_days = IntegerField()
    by_level = ActivityByLevel(many=True)


class PerformanceOutput(serializers.Serializer):
    orders = IntegerField(help_text="Attributed orders paid in the period.")
    gmv = MoneyField(help_text="Their goods amount, before refunds.")
    refunded = MoneyField(help_text="Refunded on them so far.")
    commission = MoneyField(help_text="Net commission earned (accrued − reversed − clawed back).")


class TeamDepthOutput(PerformanceOutput):
    depth = IntegerField(help_text="Relative depth: 1 = direct recruits.")
    members = IntegerField(help_text="Team members at this depth now.")
    active_members = IntegerField(help_text="Of them, those with an attributed order in the period.")


class TeamTotalOutput(PerformanceOutput):
    members = IntegerField()
    active_members = IntegerField()


class TeamOutput(serializers.Serializer):
    distributor = DistributorBrief()
    currency = serializers.CharField()
    range = RangeOutput()
    own = PerformanceOutput()
    depths = TeamDepthOutput(many=True)
    team = TeamTotalOutput()


class PeriodOutput(PerformanceOutput):
    range = RangeOutput()


class MyPeriodsOutput(serializers.Serializer):
    today = PeriodOutput()
    last_7_days = PeriodOutput()
    last_30_days = PeriodOutput()


class MonthOutput(PerformanceOutput):
    month = serializers.DateField(help_text="The month's first day.")


class MyTeamOutput(serializers.Serializer):
    depths = TeamDepthOutput(many=True)
    total = TeamTotalOutput()


class MyStatsOutput(serializers.Serializer):
    currency = serializers.CharField()
    periods = MyPeriodsOutput()
    months = MonthOutput(many=True)
    team = MyTeamOutput(help_text="My team over the last 30 days.")


class MaskedEntryOutput(serializers.Serializer):
    rank = IntegerField()
    name = serializers.CharField(help_text="Masked: the first character and asterisks.")
    gmv = MoneyField()
    orders = IntegerField()
    me = serializers.BooleanField()


class MyRankOutput(serializers.Serializer):
    rank = IntegerField(allow_null=True, help_text="Where I stand among those shown; null at zero.")
    gmv = MoneyField()
    orders = IntegerField()
    opted_in = serializers.BooleanField()


class MyLeaderboardOutput(serializers.Serializer):
    by = serializers.CharField()
    currency = serializers.CharField()
    range = RangeOutput()
    entries = MaskedEntryOutput(many=True)
    me = MyRankOutput()


class ParticipationOutput(serializers.Serializer):
    opted_in = serializers.BooleanField()
