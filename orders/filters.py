"""The order list's filters, shared by the list (orders/api) and its export (exports/)."""

from __future__ import annotations

from distribution.api.filters import DateTimeFilter, FilterSet
from orders.models import Order


class OrderFilter(FilterSet):
    paid_after = DateTimeFilter(field_name="paid_at", lookup_expr="gte")
    paid_before = DateTimeFilter(field_name="paid_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = [
            "status",
            "kind",
            "distributor",
            "attribution",
            "customer_external_id",
            "external_id",
            "self_purchase",
            "channel",
            "province",
            "city",
        ]
