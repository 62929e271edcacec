from rest_framework import serializers

from commissions.models import CommissionLine
from distribution.api.fields import IntegerField, MoneyField
from distribution.api.serializers import ModelSerializer


class BeneficiaryRef(serializers.Serializer):
    id = IntegerField()
    display_name = serializers.CharField()
    invite_code = serializers.CharField()


class CommissionLineOutput(ModelSerializer):
    """One line with its explanation: base × rate (from `rate_source`), capped, minus what refunds took."""

    order = serializers.CharField(source="order.external_id")
    order_item = serializers.CharField(source="order_item.line_id")
    beneficiary = BeneficiaryRef()
    base_amount = MoneyField()
    uncapped_amount = MoneyField()
    amount = MoneyField()
    reversed_amount = MoneyField()
    net_amount = MoneyField()
    rate_mode = serializers.CharField(help_text="percent or fixed")
    rate_bps = IntegerField(allow_null=True, help_text="A percent rate, in basis points (null for a fixed rate).")
    rate_amount = MoneyField(allow_null=True, help_text="A fixed rate per unit (null for a percent rate).")

    class Meta:
        model = CommissionLine
        fields = [
            "id",
            "order",
            "order_item",
            "depth",
            "kind",
            "beneficiary",
            "status",
            "base_amount",
            "rate_source",
            "rate_mode",
            "rate_bps",
            "rate_amount",
            "uncapped_amount",
            "amount",
            "reversed_amount",
            "net_amount",
            "unlock_at",
            "confirmed_at",
            "settled_at",
            "reversed_at",
            "created_at",
        ]
        read_only_fields = fields


class MyCommissionLineOutput(CommissionLineOutput):
    """A distributor's view: no beneficiary (it is them), the expected unlock date."""

    class Meta(CommissionLineOutput.Meta):
        fields = [f for f in CommissionLineOutput.Meta.fields if f != "beneficiary"]
        read_only_fields = fields


class Bucket(serializers.Serializer):
    count = IntegerField()
    amount = MoneyField()
    reversed = MoneyField()
    net = MoneyField()


class TotalsOutput(serializers.Serializer):
    currency = serializers.CharField()
    by_status = serializers.DictField(child=Bucket(), help_text="pending, confirmed, settled, reversed, clawback")
    net = MoneyField(help_text="Everything earned, minus reversals and clawbacks.")


class ForfeitOutput(serializers.Serializer):
    lines_reversed = IntegerField()
    unsettled = MoneyField(help_text="Unsettled commission reversed, in minor units.")
    available = MoneyField(help_text="Available balance returned to the merchant, in minor units.")
