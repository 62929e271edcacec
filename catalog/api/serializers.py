from rest_framework import serializers

from catalog.models import Product
from distribution import rates
from distribution.api.fields import MoneyField
from distribution.api.rates import CommissionRatesField
from distribution.api.serializers import ModelSerializer


class ProductOutput(ModelSerializer):
    price = MoneyField()
    commission_rates = CommissionRatesField(
        read_only=True, help_text="The product's own rate per depth; depths left out use the level and program rates."
    )

    class Meta:
        model = Product
        fields = [
            "id",
            "external_id",
            "title",
            "price",
            "kind",
            "distribution_enabled",
            "commission_rates",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProductInput(serializers.Serializer):
    """One product, created or updated by `external_id`. `commission_rates` overrides the level and program
    rates for the depths it lists, each depth with its own mode; leave it out to keep the product's
    current overrides, send `[]` to remove them."""

    external_id = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=200)
    price = MoneyField(min_value=0)
    kind = serializers.ChoiceField(choices=Product.Kind.choices, default=Product.Kind.PHYSICAL)
    distribution_enabled = serializers.BooleanField(default=True)
    commission_rates = CommissionRatesField(required=False)

    def validate(self, attrs):
        too_high = [
            rate["depth"]
            for rate in attrs.get("commission_rates", [])
            if rate["mode"] == rates.FIXED and rate["amount"] > attrs["price"]
        ]
        if too_high:
            raise serializers.ValidationError(
                {"commission_rates": [f"A fixed commission cannot exceed the price (depth {too_high[0]})."]}
            )
        return attrs


class ProductBatchInput(serializers.Serializer):
    products = ProductInput(many=True, allow_empty=False, max_length=500)


class ProductUpsertResult(serializers.Serializer):
    created = serializers.BooleanField()
    product = ProductOutput()


class ProductBatchOutput(serializers.Serializer):
    results = ProductUpsertResult(many=True)
