"""Order tasks: thin Celery wrappers around order intake."""

from __future__ import annotations

from celery import shared_task

from distribution import rls
from distribution.api.validation import validate
from distribution.jobs import RETRY_TRANSIENT
from merchants.errors import MerchantSuspended
from merchants.models import Merchant
from orders.inputs import OrderPaidInput
from orders.models import OrderEvent
from orders.services import intake


@shared_task(name="orders.ingest", acks_late=True, **RETRY_TRANSIENT)
@rls.tenant_task()
def ingest(merchant_id: int, payload: dict) -> int:
    """A paid order, ingested as `POST /api/v1/orders` does: `payload` is that endpoint's JSON body (amounts
    as decimal strings), validated by the same serializer and passed to `intake.order_ingest_paid`.
    Idempotent like the endpoint (the same order again changes nothing); a suspended merchant is refused as
    both ways in refuse it. Returns the order's id."""
    merchant = Merchant.objects.get(pk=merchant_id)
    if not merchant.is_active:
        raise MerchantSuspended()
    data = dict(validate(OrderPaidInput, payload, context={"merchant": merchant, "currency": merchant.currency}))
    event_id = data.pop("event_id", None)
    result = intake.order_ingest_paid(merchant=merchant, data=data, source=OrderEvent.Source.API, event_id=event_id)
    return result.order.pk
