from django.contrib import admin

from distribution.admin import ReadOnlyAdmin
from orders.models import Order, OrderEvent, OrderItem, Refund, RefundItem, WebhookEndpoint


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    readonly_fields = [
        "line_id",
        "product",
        "quantity",
        "unit_price",
        "discount",
        "paid_amount",
        "refunded_amount",
        "refunded_quantity",
    ]
    exclude = ["merchant"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    money_fields = ("goods_amount", "refunded_amount", "shipping_amount")
    list_display = [
        "external_id",
        "merchant",
        "status",
        "kind",
        "goods_amount",
        "refunded_amount",
        "distributor",
        "attribution",
        "paid_at",
    ]
    list_filter = ["status", "kind", "attribution"]
    search_fields = ["external_id", "customer_external_id", "merchant__slug"]
    list_select_related = ["merchant", "distributor"]
    inlines = [OrderItemInline]
    date_hierarchy = "paid_at"


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyAdmin):
    money_fields = ("unit_price", "discount", "paid_amount", "refunded_amount")
    list_display = ["order", "line_id", "product", "quantity", "paid_amount", "refunded_amount"]
    search_fields = ["order__external_id", "line_id"]
    list_select_related = ["order", "product"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "merchant", "type", "external_order_id", "source", "received_at"]
    list_filter = ["type", "source"]
    search_fields = ["event_id", "external_order_id", "merchant__slug"]
    list_select_related = ["merchant"]


class RefundItemInline(admin.TabularInline):
    model = RefundItem
    extra = 0
    can_delete = False
    readonly_fields = ["order_item", "amount", "quantity"]
    exclude = ["merchant"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    money_fields = ("amount",)
    list_display = ["refund_id", "order", "merchant", "amount", "refunded_at"]
    search_fields = ["refund_id", "order__external_id", "merchant__slug"]
    list_select_related = ["order", "merchant"]
    inlines = [RefundItemInline]


@admin.register(RefundItem)
class RefundItemAdmin(ReadOnlyAdmin):
    money_fields = ("amount",)
    list_display = ["refund", "order_item", "amount", "quantity"]
    search_fields = ["refund__refund_id"]
    list_select_related = ["refund", "order_item"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "merchant", "rotated_at", "previous_valid_until"]
    search_fields = ["public_id", "merchant__slug"]
    list_select_related = ["merchant"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
