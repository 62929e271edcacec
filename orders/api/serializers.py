from rest_framework import serializers

from distribution.api.fields import MoneyField
from orders.models import Product


class ProductOutput(serializers.ModelSerializer):
    price = MoneyField()

    class Meta:
        model = Product
        fields = [
            "id",
            "external_id",
            "title",
            "price",
            "kind",
            "distribution_enabled",
            "commission_mode",
            "commission_depth1",
            "commission_depth2",
            "commission_depth3",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProductInput(serializers.Serializer):
    """One product. `commission_depthN` is basis points when `commission_mode` is percent, minor units
    when it is fixed; leave a depth empty to fall back to the level and program rates."""

    external_id = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=200)
    price = MoneyField(min_value=0)
    kind = serializers.ChoiceField(choices=Product.Kind.choices, default=Product.Kind.PHYSICAL)
    distribution_enabled = serializers.BooleanField(default=True)
    commission_mode = serializers.ChoiceField(
        choices=Product.CommissionMode.choices, allow_null=True, required=False, default=None
    )
    commission_depth1 = serializers.IntegerField(min_value=0, allow_null=True, required=False, default=None)
    commission_depth2 = serializers.IntegerField(min_value=0, allow_null=True, required=False, default=None)
    commission_depth3 = serializers.IntegerField(min_value=0, allow_null=True, required=False, default=None)

    def validate(self, attrs):
        depths = {f"commission_depth{d}": attrs.get(f"commission_depth{d}") for d in (1, 2, 3)}
        mode = attrs.get("commission_mode")
        if mode is None and any(v is not None for v in depths.values()):
            raise serializers.ValidationError({"commission_mode": "Required when a depth override is given."})
        if mode == Product.CommissionMode.PERCENT:
            errors = {k: "At most 10000 basis points." for k, v in depths.items() if v is not None and v > 10_000}
            if errors:
                raise serializers.ValidationError(errors)
        if mode == Product.CommissionMode.FIXED:
            errors = {
                k: "A fixed commission cannot exceed the price."
                for k, v in depths.items()
                if v is not None and v > attrs["price"]
            }
            if errors:
                raise serializers.ValidationError(errors)
        return attrs


class ProductBatchInput(serializers.Serializer):
    products = ProductInput(many=True, allow_empty=False, max_length=500)


class ProductUpsertResult(serializers.Serializer):
    created = serializers.BooleanField()
    product = ProductOutput()


class ProductBatchOutput(serializers.Serializer):
    results = ProductUpsertResult(many=True)
