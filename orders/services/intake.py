"""Order intake: the shop tells us an order was paid, shipped, completed, refunded or closed.

Both ways in (the REST API and the signed webhook) call these functions, inside one transaction per
event. Idempotency rests on unique indexes: an order's external id, and each event's id. A duplicate
is acknowledged and changes nothing; an impossible event (a refund above what was paid, an event for
an order that does not exist, a transition the order cannot make) is refused and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from catalog.models import Product
from commissions.models import CommissionLine
from commissions.services import commission_apply_refunds, commission_confirm_for_order, commission_create_for_order
from distribution.db import insert_unless_exists
from distribution.errors import NotFound
from distribution.money import allocate
from distribution.state import StateMachine
from merchants.models import DistributionProgram, Merchant
from orders.errors import (
    AmountMismatch,
    CurrencyMismatch,
    EventIdReused,
    InvalidEventTime,
    InvalidRefund,
    OrderConflict,
    RefundExceedsPaid,
    UnknownProduct,
)
from orders.models import Order, OrderEvent, OrderItem, Refund, RefundItem
from orders.services.attribution import attribute

S = Order.Status
ORDER_STATES = StateMachine(
    "order",
    {
        S.PAID: {S.SHIPPED, S.COMPLETED, S.CLOSED},
        S.SHIPPED: {S.COMPLETED, S.CLOSED},
        S.COMPLETED: set(),
        S.CLOSED: set(),
    },
)
REFUNDABLE = (S.PAID, S.SHIPPED, S.COMPLETED)


@dataclass(frozen=True)
class IngestResult:
    order: Order
    duplicate: bool
    # A new order's items and commission lines as written (related rows attached), so that the answer
    # needs no second read; None when the order was not created now.
    items: tuple[OrderItem, ...] | None = None
    lines: tuple[CommissionLine, ...] | None = None


def fingerprint(data: Any) -> str:
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim_event(
    *,
    merchant: Merchant,
    event_id: str,
    type_: str,
    external_order_id: str,
    source: str,
    payload: dict[str, Any],
    occurred_at: datetime | None,
    order: Order | None = None,
) -> OrderEvent | None:
    """Record the event; None if its id was seen before (with the same payload: else 409)."""
    digest = fingerprint(payload)
    event = OrderEvent(
        merchant=merchant,
        event_id=event_id,
        type=type_,
        order=order,
        external_order_id=external_order_id,
        source=source,
        payload=json.loads(json.dumps(payload, cls=JSONEncoder)),
        fingerprint=digest,
        occurred_at=occurred_at,
    )
    if insert_unless_exists(event, unique=("merchant", "event_id")):
        return event
    seen = OrderEvent.objects.for_merchant(merchant).get(event_id=event_id)
    if seen.fingerprint != digest or seen.type != type_ or seen.external_order_id != external_order_id:
        raise EventIdReused()
    return None


# --- paid --------------------------------------------------------------------------------------------------
def _products(merchant: Merchant, program: DistributionProgram, items: list[dict[str, Any]]) -> dict[str, Product]:
    wanted = {item["product"] for item in items}
    found = {
        p.external_id: p
        for p in Product.objects.for_merchant(merchant).filter(external_id__in=wanted).select_related("category")
    }
    missing = sorted(wanted - set(found))
    if missing and not program.create_unknown_products:
        raise UnknownProduct(fields={"items": [f"Unknown product: {m}" for m in missing]}, extra={"products": missing})
    for external_id in missing:
        first = next(i for i in items if i["product"] == external_id)
        product, _ = Product.objects.get_or_create(
            merchant=merchant,
            external_id=external_id,
            defaults={"title": first.get("title") or external_id, "price": first["unit_price"]},
        )
        found[external_id] = product
    return found


def _paid_amounts(items: list[dict[str, Any]]) -> list[int]:
    amounts = []
    for index, item in enumerate(items):
        gross = item["quantity"] * item["unit_price"]
        if item["discount"] > gross:
            raise AmountMismatch(fields={f"items[{index}].discount": ["Larger than quantity × unit price."]})
        expected = gross - item["discount"]
        if item.get("paid_amount") is not None and item["paid_amount"] != expected:
            raise AmountMismatch(fields={f"items[{index}].paid_amount": [f"Expected {expected} minor units."]})
        amounts.append(expected)
    return amounts


def order_channel(data: dict[str, Any]) -> str:
    """How the buyer came: as the shop says, else a share link when the order carries a share code, a
    group buy for a group-buy order, direct otherwise."""
    if data.get("channel"):
        return str(data["channel"])
    if data.get("share_code"):
        return Order.Channel.SHARE_LINK
    if data.get("kind") == Order.Kind.GROUP_BUY:
        return Order.Channel.GROUP_BUY
    return Order.Channel.DIRECT


@transaction.atomic
def order_ingest_paid(
    *, merchant: Merchant, data: dict[str, Any], source: str, event_id: str | None = None
) -> IngestResult:
    """A paid order: create it with its items, attribute it and make its commission lines.

    The same order again (any event id, any channel) returns the existing one; the same external id
    with different content is refused (409 `order_conflict`).
    """
    external_id = data["external_id"]
    digest = fingerprint({k: v for k, v in data.items() if k not in ("event_id",)})
    program = DistributionProgram.objects.for_merchant(merchant).get()
    currency = data.get("currency") or merchant.currency
    if currency != merchant.currency:
        raise CurrencyMismatch(fields={"currency": [f"This merchant works in {merchant.currency}."]})
    amounts = _paid_amounts(data["items"])
    products = _products(merchant, program, data["items"])
    attribution = attribute(
        merchant=merchant,
        customer_external_id=data["customer_external_id"],
        share_code=data.get("share_code", ""),
        paid_at=data["paid_at"],
        program=program,
    )
    order = Order(
        merchant=merchant,
        external_id=external_id,
        customer_external_id=data["customer_external_id"],
        share_code=data.get("share_code", ""),
        kind=data.get("kind", Order.Kind.NORMAL),
        currency=currency,
        payment_transaction_id=data.get("payment_transaction_id", ""),
        status=S.PAID,
        goods_amount=sum(amounts),
        shipping_amount=data.get("shipping_amount", 0),
        distributor=attribution.distributor,
        attribution=attribution.source,
        self_purchase=attribution.self_purchase,
        channel=order_channel(data),
        province=data.get("province", ""),
        city=data.get("city", ""),
        paid_at=data["paid_at"],
        fingerprint=digest,
    )
    if not insert_unless_exists(order, unique=("merchant", "external_id")):  # sent before (or concurrently)
        existing = Order.objects.for_merchant(merchant).get(external_id=external_id)
        if existing.fingerprint != digest:
            raise OrderConflict()
        _claim_event(
            merchant=merchant,
            event_id=event_id or f"order:{external_id}:paid",
            type_="paid",
            external_order_id=external_id,
            source=source,
            payload=data,
            occurred_at=data["paid_at"],
        )
        return IngestResult(order=existing, duplicate=True)
    items = OrderItem.objects.bulk_create(
        [
            OrderItem(
                merchant=merchant,
                order=order,
                line_id=item["line_id"],
                product=products[item["product"]],
                category=products[item["product"]].category,  # a snapshot: a later move changes no sale
                quantity=item["quantity"],
                unit_price=item["unit_price"],
                discount=item["discount"],
                paid_amount=amount,
            )
            for item, amount in zip(data["items"], amounts, strict=True)
        ]
    )
    event = _claim_event(
        merchant=merchant,
        event_id=event_id or f"order:{external_id}:paid",
        type_="paid",
        external_order_id=external_id,
        source=source,
        payload=data,
        occurred_at=data["paid_at"],
        order=order,
    )
    if event is None:  # an earlier event with this id named another order's creation
        raise EventIdReused()
    lines = commission_create_for_order(order=order, items=items, program=program, order_is_new=True)
    return IngestResult(order=order, duplicate=False, items=tuple(items), lines=tuple(lines))


# --- later events ------------------------------------------------------------------------------------------
def default_event_id(external_id: str, type_: str, data: dict[str, Any]) -> str:
    if type_ == OrderEvent.Type.REFUNDED:
        return f"order:{external_id}:refund:{data['refund_id']}"
    return f"order:{external_id}:{type_}"


@transaction.atomic
def order_apply_event(
    *, merchant: Merchant, external_id: str, type_: str, data: dict[str, Any], source: str, event_id: str | None = None
) -> IngestResult:
    """shipped / completed / refunded / closed for an existing order (404 if there is none)."""
    occurred_at = data.get("occurred_at") or timezone.now()
    order = Order.objects.for_merchant(merchant).select_for_update().filter(external_id=external_id).first()
    if order is None:
        raise NotFound("No order with this external id.")
    if occurred_at < order.paid_at:
        raise InvalidEventTime(fields={"occurred_at": ["Before the order was paid."]})
    event = _claim_event(
        merchant=merchant,
        event_id=event_id or default_event_id(external_id, type_, data),
        type_=type_,
        external_order_id=external_id,
        source=source,
        payload=data,
        occurred_at=occurred_at,
        order=order,
    )
    if event is None:
        return IngestResult(order=order, duplicate=True)
    if type_ == OrderEvent.Type.SHIPPED:
        ORDER_STATES.apply(Order.objects.for_merchant(merchant), order.pk, S.SHIPPED, shipped_at=occurred_at)
    elif type_ == OrderEvent.Type.COMPLETED:
        ORDER_STATES.apply(Order.objects.for_merchant(merchant), order.pk, S.COMPLETED, completed_at=occurred_at)
        program = DistributionProgram.objects.for_merchant(merchant).get()
        commission_confirm_for_order(order=order, completed_at=occurred_at, after_sales_days=program.after_sales_days)
    elif type_ == OrderEvent.Type.REFUNDED:
        _refund(order, data, occurred_at)
    elif type_ == OrderEvent.Type.CLOSED:
        ORDER_STATES.check(order.status, S.CLOSED)
        _refund_everything(order, f"close:{event.event_id}"[:64], occurred_at)
        Order.objects.for_merchant(merchant).filter(pk=order.pk).update(status=S.CLOSED, closed_at=occurred_at)
    order.refresh_from_db()
    return IngestResult(order=order, duplicate=False)


def _locked_items(order: Order) -> dict[int, OrderItem]:
    return {
        i.pk: i
        for i in OrderItem.objects.for_merchant(order.merchant_id)
        .select_for_update()
        .filter(order=order)
        .order_by("pk")
    }


def _refund(order: Order, data: dict[str, Any], at: datetime) -> None:
    if order.status not in REFUNDABLE:
        ORDER_STATES.check(order.status, "refunded")
    items = _locked_items(order)
    by_line = {i.line_id: i for i in items.values()}
    portions: dict[int, tuple[int, int]] = {}  # item id -> (amount, quantity)
    if data.get("items"):
        for index, row in enumerate(data["items"]):
            item = by_line.get(row["line_id"])
            if item is None:
                raise InvalidRefund(fields={f"items[{index}].line_id": ["No such line in this order."]})
            amount, quantity = portions.get(item.pk, (0, 0))
            portions[item.pk] = (amount + row["amount"], quantity + row.get("quantity", 0))
    elif data.get("amount"):
        refundable = {pk: i.paid_amount - i.refunded_amount for pk, i in items.items()}
        if data["amount"] > sum(refundable.values()):
            raise RefundExceedsPaid(fields={"amount": ["More than remains refundable on the order."]})
        ids = [pk for pk in refundable if refundable[pk] > 0]
        for pk, part in zip(ids, allocate(data["amount"], [refundable[pk] for pk in ids]), strict=True):
            portions[pk] = (part, 0)
    else:
        raise InvalidRefund(fields={"amount": ["Give the refunded items or an amount."]})
    _book_refund(order, items, portions, data["refund_id"], at)
    commission_apply_refunds(order=order, items=items)


def _refund_everything(order: Order, refund_id: str, at: datetime) -> None:
    items = _locked_items(order)
    portions = {
        pk: (i.paid_amount - i.refunded_amount, i.quantity - i.refunded_quantity)
        for pk, i in items.items()
        if i.paid_amount > i.refunded_amount
    }
    if portions:
        _book_refund(order, items, portions, refund_id, at)
    commission_apply_refunds(order=order, items=items)


def _book_refund(
    order: Order, items: dict[int, OrderItem], portions: dict[int, tuple[int, int]], refund_id: str, at: datetime
) -> None:
    total = 0
    for pk, (amount, quantity) in portions.items():
        item = items[pk]
        if amount < 0 or quantity < 0:
            raise InvalidRefund()
        if amount > item.paid_amount - item.refunded_amount:
            raise RefundExceedsPaid(
                fields={
                    "items": [f"Line {item.line_id}: at most {item.paid_amount - item.refunded_amount} minor units."]
                }
            )
        if quantity > item.quantity - item.refunded_quantity:
            raise RefundExceedsPaid(
                fields={"items": [f"Line {item.line_id}: at most {item.quantity - item.refunded_quantity} units."]}
            )
        total += amount
    if total <= 0:
        raise InvalidRefund(fields={"amount": ["A refund must return something."]})
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                merchant_id=order.merchant_id, order=order, refund_id=refund_id, amount=total, refunded_at=at
            )
    except IntegrityError:
        raise EventIdReused("This refund id was already used for this order.") from None
    RefundItem.objects.bulk_create(
        [
            RefundItem(merchant_id=order.merchant_id, refund=refund, order_item_id=pk, amount=a, quantity=q)
            for pk, (a, q) in portions.items()
        ]
    )
    for pk, (amount, quantity) in portions.items():
        item = items[pk]
        item.refunded_amount += amount
        item.refunded_quantity += quantity
        item.save(update_fields=["refunded_amount", "refunded_quantity"])
    order.refunded_amount += total
    fields = ["refunded_amount", "updated_at"]
    if order.refunded_amount == order.goods_amount and order.status in (S.PAID, S.SHIPPED):
        order.status, order.closed_at = S.CLOSED, at
        fields += ["status", "closed_at"]
    order.save(update_fields=fields)
