"""Reads of orders that more than a queryset filter: what the order answers are built from."""

from __future__ import annotations

from commissions.models import CommissionLine
from orders.models import Order


def order_with_lines(merchant_id: int, order_id: int) -> Order:
    """The order as stored now, with its distributor, its items and their products and categories
    prefetched, and its commission lines (with beneficiary and item) in `commission_lines_list`, ordered by
    item, depth and kind: five reads (four when no item has a category)."""
    order = (
        Order.objects.for_merchant(merchant_id)
        .select_related("distributor")
        .prefetch_related("items__product", "items__category")
        .get(pk=order_id)
    )
    order.commission_lines_list = list(  # type: ignore[attr-defined]  # read by OrderDetailOutput
        CommissionLine.objects.for_merchant(merchant_id)
        .filter(order=order)
        .select_related("beneficiary", "order_item")
        .order_by("order_item_id", "depth", "kind")
    )
    return order
