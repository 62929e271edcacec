"""What a paid order looks like when it arrives: the shape both entrances validate against.

`POST /api/v1/orders`, the signed webhook's `order.paid` and the `orders.ingest` task read the same body, so
the serializers live here, in the domain, where the task can use them without reaching into the API layer.
Amounts are decimal strings in the body and integer minor units once validated.
"""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from distribution.api.fields import DateTimeField, IntegerField, MoneyField
from orders.models import Order


class OrderItemInput(serializers.Serializer):
    line_id = serializers.CharField(max_length=64, help_text="The shop's id for this line (unique in the order).")
    product = serializers.CharField(max_length=64, help_text="The product's external id.")
    title = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Used only when the program creates unknown products.",
    )
    quantity = IntegerField(min_value=1, max_value=1_000_000)
    unit_price = MoneyField(min_value=0)
    discount = MoneyField(min_value=0, default=0)
    paid_amount = MoneyField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Optional check: must equal quantity × unit price − discount.",
    )


class OrderPaidInput(serializers.Serializer):
    """A paid order. Send it again (same content) as often as you like: it is created once."""

    external_id = serializers.CharField(max_length=64)
    customer_external_id = serializers.CharField(max_length=64)
    share_code = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        default="",
        help_text="The distributor share code the customer came with, if any.",
    )
    kind = serializers.ChoiceField(choices=Order.Kind.choices, default=Order.Kind.NORMAL)
    currency = serializers.CharField(max_length=3, required=False)
    paid_at = DateTimeField()
    payment_transaction_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="The payment's transaction id at WeChat Pay (needed for profit sharing).",
    )
    shipping_amount = MoneyField(min_value=0, default=0)
    # No defaults below: a key left out stays out of the validated body, whose hash is the order's
    # fingerprint, so an order sent before these fields existed still matches when it is sent again.
    channel = serializers.ChoiceField(
        choices=Order.Channel.choices,
        required=False,
        help_text="How the buyer came. Left out: share_link when the order has a share code, else group_buy "
        "for a group-buy order, else direct.",
    )
    province = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="The delivery province, e.g. 广东省."
    )
    city = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="The delivery city, e.g. 深圳市."
    )
    items = OrderItemInput(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]  # stubs lack many=True's max_length
    event_id = serializers.CharField(
        max_length=100, required=False, help_text="Your id for this event; default order:<external_id>:paid."
    )

    def validate_paid_at(self, value: datetime) -> datetime:
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("Cannot be in the future.")
        return value

    def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [item["line_id"] for item in items]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("line_id must be unique within the order.")
        return items
