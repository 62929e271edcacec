"""Risk tasks: a fan-out per merchant, the per-merchant sweep, and the application check."""

from __future__ import annotations

from celery import shared_task

from distribution import rls
from distribution.jobs import RETRY_TRANSIENT, merchant_of_row, tracked
from merchants.models import Merchant
from risk.services import application_check, risk_sweep

_application_merchant = merchant_of_row("distributors.Application", "application_id")


@shared_task(name="risk.sweep_all")
@rls.platform_task
def sweep_all() -> list[int]:
    ids = list(Merchant.objects.filter(status=Merchant.Status.ACTIVE).values_list("pk", flat=True))
    for merchant_id in ids:
        sweep_merchant.delay(merchant_id=merchant_id)
    return ids


@shared_task(name="risk.sweep_merchant", acks_late=True, **RETRY_TRANSIENT)
@tracked("risk.sweep_merchant")
@rls.tenant_task()
def sweep_merchant(merchant_id: int) -> dict:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return {"skipped": "no such merchant"}
    return risk_sweep(merchant=merchant)


@shared_task(name="risk.check_application", acks_late=True, **RETRY_TRANSIENT)
@rls.tenant_task(merchant_of=_application_merchant)
def check_application(application_id: int) -> dict:
    return application_check(application_id)
