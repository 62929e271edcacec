"""Tier recalculation tasks: a fan-out per merchant, the run itself, and the sweeper for dead runs."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from distribution import rls
from distribution.jobs import RETRY_TRANSIENT, merchant_of_row, tracked
from merchants.models import Merchant
from tiers.services import tier_execute, tier_request, tier_resume_stale

_run_merchant = merchant_of_row("tiers.TierRun", "run_id")


@shared_task(name="tiers.recalculate_all")
@rls.platform_task
def recalculate_all(local_hour: int = 3) -> list[int]:
    """Hourly: every active merchant for whom it is now `local_hour` o'clock gets a run (nightly, locally)."""
    now = timezone.now()
    due = [
        m.pk for m in Merchant.objects.filter(status=Merchant.Status.ACTIVE) if now.astimezone(m.tz).hour == local_hour
    ]
    for merchant_id in due:
        request_run.delay(merchant_id=merchant_id)
    return due


@shared_task(name="tiers.request_run", **RETRY_TRANSIENT)
@tracked("tiers.request_run")
@rls.tenant_task()
def request_run(merchant_id: int, trigger: str = "schedule") -> dict:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return {"skipped": "no such merchant"}
    run = tier_request(merchant=merchant, trigger=trigger)
    return {"run": run.pk}


@shared_task(name="tiers.execute_run", acks_late=True, **RETRY_TRANSIENT)
@tracked("tiers.execute_run", merchant_of=_run_merchant)
@rls.tenant_task(merchant_of=_run_merchant)
def execute_tier_run(run_id: int) -> dict | None:
    run = tier_execute(run_id)
    if run is None:
        return None
    return {
        "run": run.pk,
        "status": run.status,
        "evaluated": run.evaluated,
        "upgraded": run.upgraded,
        "downgraded": run.downgraded,
    }


@shared_task(name="tiers.resume_stale_runs")
@rls.platform_task
def resume_stale_runs() -> list[int]:
    return tier_resume_stale()
