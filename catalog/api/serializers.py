from rest_framework import serializers

from catalog.models import Category, Product
from distribution import rates
from distribution.api.fields import IntegerField, MoneyField
from distribution.api.rates import CommissionRatesField
from distribution.api.serializers import ModelSerializer

CATEGORY_HELP = "The category's external id (null: no category)."


class CategoryOutput(ModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="external_id",
        read_only=True,
        allow_null=True,
        help_text="The parent's external id (null: a top-level category).",
    )

    class Meta:
        model = Category
        fields = ["id", "external_id", "name", "parent", "sort_order", "archived_at", "created_at", "updated_at"]
        read_only_fields = fields


class CategoryInput(serializers.Serializer):
    """One category, created or updated by `external_id`: the parent by its external id, a category of
    the same request or one synced before (null or left out: a top-level category)."""

    external_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100)
    parent = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="The parent's external id; null or left out: a top-level category.",
    )
    sort_order = IntegerField(
        min_value=-1_000_000, max_value=1_000_000, default=0, help_text="Lower first among its siblings."
    )


class CategoryBatchInput(serializers.Serializer):
    categories = CategoryInput(many=True, allow_empty=False, max_length=500)


class CategoryUpsertResult(serializers.Serializer):
    created = serializers.BooleanField()
    category = CategoryOutput()


class CategoryBatchOutput(serializers.Serializer):
    results = CategoryUpsertResult(many=True)


class ProductOutput(ModelSerializer):
    price = MoneyField()
    category = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, allow_null=True, help_text=CATEGORY_HELP
    )
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
            "category",
            "commission_rates",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProductInput(serializers.Serializer):
    """One product, created or updated by `external_id`. `commission_rates` overrides the level and program
    rates for the depths it lists, each depth with its own mode; leave it out to keep the product's
    current overrides, send `[]` to remove them. `category` works the same way: leave it out to keep the
    product's category, send null to remove it."""

    external_id = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=200)
    price = MoneyField(min_value=0)
    kind = serializers.ChoiceField(choices=Product.Kind.choices, default=Product.Kind.PHYSICAL)
    distribution_enabled = serializers.BooleanField(default=True)
    category = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="A category's external id (synced at /api/v1/categories); null removes the product's "
        "category, left out keeps it.",
    )
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
