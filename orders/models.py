from __future__ import annotations

from django.db import models

from distribution.tenancy import TenantModel


class Order(TenantModel):
    """An order as the shop reported it, with who brought it (attribution) and what was refunded.

    Amounts are minor units. `goods_amount` is what the customer paid for the items (after discounts,
    without shipping); refunds are tracked per item and summed here.
    """

    class Status(models.TextChoices):
        PAID = "paid"
        SHIPPED = "shipped"
        COMPLETED = "completed"
        CLOSED = "closed"

    class Kind(models.TextChoices):
        NORMAL = "normal"
        GIFT = "gift", "Gift (送礼)"
        GROUP_BUY = "group_buy", "Group buy (社区团购)"
        PRESALE = "presale"
        VIRTUAL = "virtual"

    class Attribution(models.TextChoices):
        SHARE_CODE = "share_code", "The order's share code"
        BINDING = "binding", "The customer's binding"
        NONE = "none"

    class Channel(models.TextChoices):
        SHARE_LINK = "share_link", "Share link"
        QR_POSTER = "qr_poster", "QR code or poster"
        MINIPROGRAM_CODE = "miniprogram_code", "Mini-program code"
        DISTRIBUTOR_SHOP = "distributor_shop", "Distributor shop"
        MARKET = "market", "Distribution market"
        GROUP_BUY = "group_buy", "Community group buy"
        DIRECT = "direct", "Direct"

    COUNTED_STATUSES = (Status.PAID, Status.SHIPPED, Status.COMPLETED)

    external_id = models.CharField(max_length=64)
    customer_external_id = models.CharField(max_length=64)
    share_code = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NORMAL)
    currency = models.CharField(max_length=3)
    payment_transaction_id = models.CharField(
        max_length=64, blank=True, help_text="The payment's id at WeChat Pay, for profit sharing."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PAID)
    goods_amount = models.BigIntegerField(help_text="Sum of the items' paid amounts (minor units).")
    shipping_amount = models.BigIntegerField(default=0)
    refunded_amount = models.BigIntegerField(default=0, help_text="Refunded on items (minor units).")
    distributor = models.ForeignKey(
        "distributors.Distributor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        db_index=False,
    )
    attribution = models.CharField(max_length=16, choices=Attribution.choices, default=Attribution.NONE)
    self_purchase = models.BooleanField(default=False)
    channel = models.CharField(
        max_length=20,
        choices=Channel.choices,
        default=Channel.DIRECT,
        help_text="How the buyer came: from the order body, else share_link when it has a share code, else direct.",
    )
    province = models.CharField(max_length=32, blank=True, help_text="The delivery region, when the shop sent it.")
    city = models.CharField(max_length=32, blank=True)
    fingerprint = models.CharField(max_length=64, help_text="Hash of the paid order as first received.")
    paid_at = models.DateTimeField()
    shipped_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "external_id"], name="order_unique_external_id"),
            models.CheckConstraint(
                condition=models.Q(goods_amount__gte=0, shipping_amount__gte=0, refunded_amount__gte=0)
                & models.Q(refunded_amount__lte=models.F("goods_amount")),
                name="order_amounts_valid",
            ),
        ]
        indexes = [
            # covering: tier recalculation aggregates a range of distributors' sales from the index alone
            models.Index(
                fields=["merchant", "distributor", "paid_at"],
                include=["status", "goods_amount", "refunded_amount"],
                name="order_distributor_paid",
            ),
            # covering: the analytics count distinct buyers (of all orders, or of distributed ones) over a range of
            # pay times from the index alone
            models.Index(
                fields=["merchant", "paid_at"], include=["customer_external_id", "distributor"], name="order_paid"
            ),
            models.Index(fields=["merchant", "customer_external_id"], name="order_customer"),
        ]

    def __str__(self) -> str:
        return f"order {self.external_id} ({self.status})"


class OrderItem(TenantModel):
    """One line of an order. `paid_amount` = quantity × unit price − discount."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    line_id = models.CharField(max_length=64, help_text="The shop's id for this line, unique within the order.")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        "catalog.Category",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The product's category when the order was paid (a snapshot: recategorising changes no history).",
    )
    quantity = models.PositiveIntegerField()
    unit_price = models.BigIntegerField()
    discount = models.BigIntegerField(default=0)
    paid_amount = models.BigIntegerField()
    refunded_amount = models.BigIntegerField(default=0)
    refunded_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "order", "line_id"], name="orderitem_unique_line"),
            models.CheckConstraint(
                condition=models.Q(paid_amount__gte=0, discount__gte=0, refunded_amount__gte=0, unit_price__gte=0)
                & models.Q(refunded_amount__lte=models.F("paid_amount"))
                & models.Q(refunded_quantity__lte=models.F("quantity")),
                name="orderitem_amounts_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} × {self.quantity}"


class OrderEvent(TenantModel):
    """Every order event received, raw, with its id: a duplicate id is acknowledged and ignored."""

    class Type(models.TextChoices):
        PAID = "paid"
        SHIPPED = "shipped"
        COMPLETED = "completed"
        REFUNDED = "refunded"
        CLOSED = "closed"

    class Source(models.TextChoices):
        API = "api"
        WEBHOOK = "webhook"

    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=Type.choices)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    external_order_id = models.CharField(max_length=64)
    source = models.CharField(max_length=8, choices=Source.choices)
    payload = models.JSONField()
    fingerprint = models.CharField(max_length=64, help_text="Hash of the payload: a reused id must match it.")
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "event_id"], name="orderevent_unique_id")]
        indexes = [models.Index(fields=["merchant", "external_order_id", "id"], name="orderevent_order")]

    def __str__(self) -> str:
        return f"{self.type} {self.external_order_id} ({self.event_id})"


class Refund(TenantModel):
    """One refund of an order, as the shop reported it (`refund_id` is the shop's), per item."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    refund_id = models.CharField(max_length=64)
    amount = models.BigIntegerField()
    refunded_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "order", "refund_id"], name="refund_unique_id"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.refund_id} of {self.order_id}"


class RefundItem(TenantModel):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="refund_items")
    amount = models.BigIntegerField()
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "refund", "order_item"], name="refunditem_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="refunditem_non_negative"),
        ]


class WebhookEndpoint(TenantModel):
    """Where the merchant's shop sends signed order events. The URL carries only a random public id;
    the merchant is known once the signature checks out. During a rotation the previous secret stays
    valid until `previous_valid_until`."""

    public_id = models.CharField(max_length=40, unique=True)
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant"], name="webhookendpoint_one_per_merchant")]

    def __str__(self) -> str:
        return f"order webhook {self.public_id}"
