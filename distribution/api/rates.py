"""Commission rates per depth in the API: `[{"depth", "mode", "rate_bps", "amount"}]` (see distribution.rates)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from distribution import rates
from distribution.api.fields import BasisPointsField, IntegerField, MoneyField


class CommissionRateSerializer(serializers.Serializer):
    """One depth's rate. `percent`: `rate_bps` basis points of the item's paid amount (1000 = 10.00%);
    `fixed`: `amount` per unit bought, a decimal string. The value the mode does not use is null."""

    depth = IntegerField(min_value=1, max_value=3)
    mode = serializers.ChoiceField(choices=rates.MODE_CHOICES)
    rate_bps = BasisPointsField(required=False, allow_null=True, default=None)
    amount = MoneyField(min_value=0, required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["mode"] == rates.PERCENT:
            if attrs["rate_bps"] is None:
                raise serializers.ValidationError({"rate_bps": "Required for a percent rate."})
            if attrs["amount"] is not None:
                raise serializers.ValidationError({"amount": "A percent rate has no amount: leave it null."})
        else:
            if attrs["amount"] is None:
                raise serializers.ValidationError({"amount": "Required for a fixed rate."})
            if attrs["rate_bps"] is not None:
                raise serializers.ValidationError({"rate_bps": "A fixed rate has no rate_bps: leave it null."})
        return attrs


class CommissionRatesField(serializers.ListField):
    """A rate for each depth that has one (each depth at most once); the depths left out fall back."""

    child = CommissionRateSerializer()

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", len(rates.DEPTHS))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        value = super().to_internal_value(data)
        depths = [rate["depth"] for rate in value]
        if len(depths) != len(set(depths)):
            raise serializers.ValidationError("Each depth at most once.")
        return sorted(value, key=lambda rate: rate["depth"])
