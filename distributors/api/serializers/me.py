"""The distributor's own view of themselves: status, progress to the next level, invite links, customers."""

from rest_framework import serializers

from distribution.api.fields import IntegerField, merchant_from_context
from distribution.api.serializers import ModelSerializer
from distribution.money import format_amount
from distribution.pii import mask_name
from distributors.api.serializers.distributors import DistributorOutput, TeamCounts
from distributors.api.serializers.levels import LevelBrief
from distributors.models import CustomerBinding
from merchants.api.serializers import MerchantOutput


class ConditionProgress(serializers.Serializer):
    """One condition of the next level. `required` and `current` are strings in the condition's unit: an
    amount as a decimal string (`"3000.00"`) for `min_sales_amount`, a whole number (`"5"`) for the counts."""

    condition = serializers.CharField()
    unit = serializers.ChoiceField(choices=["amount", "count"])
    required = serializers.CharField()
    current = serializers.CharField()
    met = serializers.BooleanField()

    def to_representation(self, instance):
        is_amount = instance["condition"] == "min_sales_amount"
        currency = merchant_from_context(self.context).currency
        shown = (lambda v: format_amount(v, currency)) if is_amount else str
        return {
            "condition": instance["condition"],
            "unit": "amount" if is_amount else "count",
            "required": shown(instance["required"]),
            "current": shown(instance["current"]),
            "met": instance["met"],
        }


class LevelProgressOutput(serializers.Serializer):
    current_level = LevelBrief(allow_null=True)
    next_level = LevelBrief(allow_null=True)
    condition_mode = serializers.CharField(allow_null=True)
    window_days = IntegerField(allow_null=True)
    conditions = ConditionProgress(many=True)
    qualifies = serializers.BooleanField()


class DistributorMeOutput(serializers.Serializer):
    external_user_id = serializers.CharField()
    merchant = MerchantOutput()
    status = serializers.CharField(help_text="'none' when the person has not applied.")
    distributor = DistributorOutput(allow_null=True)
    team = TeamCounts(allow_null=True)
    progress = LevelProgressOutput(allow_null=True)


class InviteOutput(serializers.Serializer):
    invite_code = serializers.CharField()
    invite_link = serializers.CharField(allow_null=True)
    share_link = serializers.CharField(allow_null=True)


class MyCustomerOutput(ModelSerializer):
    customer = serializers.SerializerMethodField()

    class Meta:
        model = CustomerBinding
        fields = ["id", "customer", "source", "bound_at", "expires_at"]
        read_only_fields = fields

    def get_customer(self, binding) -> str:
        value = binding.customer_external_id
        return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:] if len(value) > 4 else mask_name(value)
