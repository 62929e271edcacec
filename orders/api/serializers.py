from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from distribution import rates
from distribution.api.fields import DateTimeField, IntegerField, MoneyField, SecretField, SecretWithheldField
from distribution.api.serializers import ModelSerializer
from distribution.money import format_amount
from orders.models import Order, OrderItem


# --- orders (the paid-order body is orders.inputs.OrderPaidInput) -------------------------------------------
class RefundLineInput(serializers.Serializer):
    line_id = serializers.CharField(max_length=64)
    amount = MoneyField(min_value=0)
    quantity = IntegerField(min_value=0, max_value=1_000_000, default=0)


class OrderEventInput(serializers.Serializer):
    """shipped, completed, closed; or refunded with `refund_id` and either `items` or an `amount`
    (spread over the items in proportion to what remains refundable on each)."""

    type = serializers.ChoiceField(choices=["shipped", "completed", "refunded", "closed"])
    event_id = serializers.CharField(
        max_length=100, required=False, help_text="Default: order:<id>:<type>, or order:<id>:refund:<refund_id>."
    )
    occurred_at = DateTimeField(required=False)
    refund_id = serializers.CharField(max_length=64, required=False)
    items = RefundLineInput(many=True, required=False, max_length=500)
    amount = MoneyField(min_value=1, required=False)

    def validate(self, attrs):
        if attrs["type"] == "refunded":
            if not attrs.get("refund_id"):
                raise serializers.ValidationError({"refund_id": "Required for a refund."})
            if bool(attrs.get("items")) == bool(attrs.get("amount")):
                raise serializers.ValidationError({"amount": "Give either items or an amount."})
        elif any(attrs.get(k) for k in ("refund_id", "items", "amount")):
            raise serializers.ValidationError({"type": "Only a refund carries refund_id, items or amount."})
        occurred = attrs.get("occurred_at")
        if occurred and occurred > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError({"occurred_at": "Cannot be in the future."})
        return attrs


class OrderItemOutput(ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    category = serializers.SlugRelatedField(
        slug_field="external_id",
        read_only=True,
        allow_null=True,
        help_text="The external id of the category the product was in when the order was paid (null: none).",
    )
    unit_price = MoneyField()
    discount = MoneyField()
    paid_amount = MoneyField()
    refunded_amount = MoneyField()

    class Meta:
        model = OrderItem
        fields = [
            "line_id",
            "product",
            "category",
            "quantity",
            "unit_price",
            "discount",
            "paid_amount",
            "refunded_amount",
            "refunded_quantity",
        ]
        read_only_fields = fields


class DistributorRef(serializers.Serializer):
    id = IntegerField()
    display_name = serializers.CharField()
    invite_code = serializers.CharField()


class OrderOutput(ModelSerializer):
    goods_amount = MoneyField()
    shipping_amount = MoneyField()
    refunded_amount = MoneyField()
    distributor = DistributorRef(allow_null=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "external_id",
            "customer_external_id",
            "share_code",
            "payment_transaction_id",
            "kind",
            "currency",
            "status",
            "goods_amount",
            "shipping_amount",
            "refunded_amount",
            "distributor",
            "attribution",
            "self_purchase",
            "channel",
            "province",
            "city",
            "paid_at",
            "shipped_at",
            "completed_at",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "channel": {
                "help_text": "How the buyer came: as the shop sent it, else share_link when the order has a share "
                "code, else group_buy for a group-buy order, else direct."
            },
            "province": {"help_text": "The delivery province as the shop sent it (empty: not sent)."},
            "city": {"help_text": "The delivery city as the shop sent it (empty: not sent)."},
        }


class CommissionBreakdown(serializers.Serializer):
    id = IntegerField()
    order_item = serializers.CharField(source="order_item.line_id")
    depth = IntegerField()
    kind = serializers.CharField()
    beneficiary = DistributorRef()
    status = serializers.CharField()
    base_amount = MoneyField()
    rate_source = serializers.CharField()
    rate_mode = serializers.ChoiceField(choices=rates.MODE_CHOICES)
    rate_bps = IntegerField(allow_null=True, help_text="A percent rate, in basis points (null for a fixed rate).")
    rate_amount = MoneyField(allow_null=True, help_text="A fixed rate per unit (null for a percent rate).")
    uncapped_amount = MoneyField()
    amount = MoneyField()
    reversed_amount = MoneyField()
    unlock_at = DateTimeField(allow_null=True)


class OrderDetailOutput(OrderOutput):
    items = OrderItemOutput(many=True)
    commission_lines = CommissionBreakdown(many=True, source="commission_lines_list")

    class Meta(OrderOutput.Meta):
        fields = [*OrderOutput.Meta.fields, "items", "commission_lines"]
        read_only_fields = fields


_DATETIME = DateTimeField()  # holds no state: formats as the serializers' datetime fields do


def _when(value):
    return _DATETIME.to_representation(value)


def _distributor_ref(distributor) -> dict | None:
    if distributor is None:
        return None
    return {"id": distributor.pk, "display_name": distributor.display_name, "invite_code": distributor.invite_code}


def order_detail_body(order: Order, items, lines, *, currency: str) -> dict:
    """The body `OrderDetailOutput` gives for `order` with these items and (ordered) commission lines,
    built directly: making the serializer's fields costs more than the rest of the answer, and order
    intake answers every new order with it. tests/orders/test_intake.py checks both give the same body."""

    def money(amount: int) -> str:
        return format_amount(amount, currency)

    return {
        "id": order.pk,
        "external_id": order.external_id,
        "customer_external_id": order.customer_external_id,
        "share_code": order.share_code,
        "payment_transaction_id": order.payment_transaction_id,
        "kind": str(order.kind),
        "currency": order.currency,
        "status": str(order.status),
        "goods_amount": money(order.goods_amount),
        "shipping_amount": money(order.shipping_amount),
        "refunded_amount": money(order.refunded_amount),
        "distributor": _distributor_ref(order.distributor),
        "attribution": str(order.attribution),
        "self_purchase": bool(order.self_purchase),
        "channel": str(order.channel),
        "province": order.province,
        "city": order.city,
        "paid_at": _when(order.paid_at),
        "shipped_at": _when(order.shipped_at),
        "completed_at": _when(order.completed_at),
        "closed_at": _when(order.closed_at),
        "created_at": _when(order.created_at),
        "items": [
            {
                "line_id": item.line_id,
                "product": item.product.external_id,
                "category": None if item.category is None else item.category.external_id,
                "quantity": item.quantity,
                "unit_price": money(item.unit_price),
                "discount": money(item.discount),
                "paid_amount": money(item.paid_amount),
                "refunded_amount": money(item.refunded_amount),
                "refunded_quantity": item.refunded_quantity,
            }
            for item in items
        ],
        "commission_lines": [
            {
                "id": line.pk,
                "order_item": line.order_item.line_id,
                "depth": line.depth,
                "kind": str(line.kind),
                "beneficiary": _distributor_ref(line.beneficiary),
                "status": str(line.status),
                "base_amount": money(line.base_amount),
                "rate_source": str(line.rate_source),
                "rate_mode": str(line.rate_mode),
                "rate_bps": line.rate_bps,
                "rate_amount": None if line.rate_amount is None else money(line.rate_amount),
                "uncapped_amount": money(line.uncapped_amount),
                "amount": money(line.amount),
                "reversed_amount": money(line.reversed_amount),
                "unlock_at": _when(line.unlock_at),
            }
            for line in lines
        ],
    }


class IngestOutput(serializers.Serializer):
    duplicate = serializers.BooleanField(help_text="True when this event had been received before.")
    order = OrderDetailOutput()


class WebhookEnvelope(serializers.Serializer):
    id = serializers.CharField(max_length=100, help_text="The event id; a repeat is acknowledged and ignored.")
    type = serializers.ChoiceField(
        choices=["order.paid", "order.shipped", "order.completed", "order.refunded", "order.closed"]
    )
    data = serializers.DictField()


class WebhookAck(serializers.Serializer):
    received = serializers.BooleanField()
    duplicate = serializers.BooleanField()
    order = serializers.CharField()
    status = serializers.CharField()


class WebhookEndpointOutput(serializers.Serializer):
    url = serializers.CharField()
    public_id = serializers.CharField()
    signature_header = serializers.CharField()
    rotated_at = DateTimeField()
    previous_secret_valid_until = DateTimeField(allow_null=True)


class WebhookSecretOutput(WebhookEndpointOutput):
    secret = SecretField(help_text="Shown once. Sign with HMAC-SHA256 over '<t>.<raw body>'.")
    secret_withheld = SecretWithheldField()


class MyOrderOutput(ModelSerializer):
    """An order a distributor brought, with the customer masked."""

    customer = serializers.SerializerMethodField()
    goods_amount = MoneyField()
    refunded_amount = MoneyField()
    items = OrderItemOutput(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "external_id",
            "customer",
            "kind",
            "status",
            "goods_amount",
            "refunded_amount",
            "attribution",
            "self_purchase",
            "paid_at",
            "completed_at",
            "items",
        ]
        read_only_fields = fields

    def get_customer(self, order) -> str:
        value = order.customer_external_id
        return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:] if len(value) > 4 else value[:1] + "***"
