"""Order payloads and a standard set-up: two products and a two-level tree."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from commissions.models import CommissionLine
from tests.builders.distributors import tree
from tests.builders.factories import ProductFactory

PAID_AT = timezone.now().replace(microsecond=0) - timedelta(days=3)


def paid_body(external_id="o-1", customer="cust-1", share_code="", items=None, **extra) -> dict:
    body = {
        "external_id": external_id,
        "customer_external_id": customer,
        "paid_at": PAID_AT.isoformat(),
        "items": items
        if items is not None
        else [
            {"line_id": "L1", "product": "tea", "quantity": 2, "unit_price": "100.00", "discount": "10.00"},
            {"line_id": "L2", "product": "cup", "quantity": 1, "unit_price": "50.00"},
        ],
        **extra,
    }
    if share_code:
        body["share_code"] = share_code
    return body


def setup_shop(merchant):
    ProductFactory(merchant=merchant, external_id="tea", title="Tea", price=10000)
    ProductFactory(merchant=merchant, external_id="cup", title="Cup", price=5000)
    return tree(merchant, {"boss": None, "seller": "boss", "recruit": "seller"})


def lines(merchant, order_external_id="o-1"):
    return sorted(
        CommissionLine.objects.for_merchant(merchant)
        .filter(order__external_id=order_external_id)
        .values_list(
            "order_item__line_id",
            "depth",
            "beneficiary__external_user_id",
            "kind",
            "status",
            "amount",
            "reversed_amount",
        )
    )


def raw_order(merchant, distributor, amount, paid_at, *, refunded=0, status="paid", customer="cust", **extra):
    """An order row as intake leaves it, without items or commission: for metrics and risk rules."""
    from orders.models import Order

    return Order.objects.create(
        merchant=merchant,
        external_id=extra.pop("external_id", None) or f"o-{Order.objects.unscoped().count() + 1}",
        customer_external_id=customer,
        currency="CNY",
        status=status,
        goods_amount=amount,
        refunded_amount=refunded,
        distributor=distributor,
        attribution="binding" if distributor else "none",
        paid_at=paid_at,
        **extra,
    )


def send(client, body, **headers):
    """POST a paid order through the API."""
    return client.post("/api/v1/orders", body, format="json", **headers)


def event(client, external_id, **body):
    """POST an order event through the API."""
    return client.post(f"/api/v1/orders/{external_id}/events", body, format="json")
