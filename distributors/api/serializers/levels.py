"""Levels (分销等级) and a distributor's level history."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from distribution.api.fields import IntegerField, MoneyField, merchant_from_context
from distribution.api.rates import CommissionRatesField
from distribution.api.serializers import ModelSerializer
from distribution.money import format_amount
from distributors.models import Level, LevelChange


class LevelSerializer(ModelSerializer):
    """Conditions left null are not conditions. `commission_rates` gives the level's rate per depth, each
    depth with its own mode; a depth left out uses the program's default."""

    min_sales_amount = MoneyField(min_value=0, required=False, allow_null=True)
    commission_rates = CommissionRatesField(required=False)
    window_days = IntegerField(min_value=1, max_value=3650, required=False, allow_null=True)
    rank = IntegerField(min_value=0, max_value=1000)
    min_order_count = IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    min_direct_recruits = IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    min_bound_customers = IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)

    class Meta:
        model = Level
        fields = [
            "id",
            "name",
            "rank",
            "is_default",
            "condition_mode",
            "window_days",
            "min_sales_amount",
            "min_order_count",
            "min_direct_recruits",
            "min_bound_customers",
            "commission_rates",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list = []  # uniqueness is the service's (and the database's) job


class LevelBrief(ModelSerializer):
    class Meta:
        model = Level
        fields = ["id", "name", "rank"]
        read_only_fields = fields


class LevelChangeOutput(ModelSerializer):
    distributor = IntegerField(source="distributor_id")
    old_level = LevelBrief(allow_null=True)
    new_level = LevelBrief(allow_null=True)
    run = IntegerField(source="run_id", allow_null=True)
    metrics = serializers.SerializerMethodField(
        help_text="The metrics that decided a recalculated change: `earned_rank`, and per window (`30d`, `all`) "
        "`sales_amount` (a decimal string), `order_count`, `direct_recruits`, `bound_customers`."
    )

    class Meta:
        model = LevelChange
        fields = ["id", "distributor", "old_level", "new_level", "direction", "metrics", "run", "reason", "created_at"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_metrics(self, change) -> dict:
        metrics = dict(change.metrics or {})
        currency = merchant_from_context(self.context).currency
        if isinstance(metrics.get("windows"), dict):
            metrics["windows"] = {
                name: {**values, "sales_amount": format_amount(values["sales_amount"], currency)}
                if isinstance(values.get("sales_amount"), int)
                else values
                for name, values in metrics["windows"].items()
            }
        return metrics
