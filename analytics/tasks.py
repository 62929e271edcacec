"""The analytics queue's tasks: the refresh pass, the repurchase snapshots and the nightly re-check."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from analytics import refresh
from distribution import rls
from distribution.jobs import RETRY_TRANSIENT


@shared_task(name="analytics.refresh", **RETRY_TRANSIENT)
@rls.platform_task
def refresh_pass() -> dict:
    """Every ANALYTICS_REFRESH_SECONDS: recompute the days the latest events touched (all merchants)."""
    done = refresh.refresh_pass()
    if done is None:
        return {"skipped": "another pass is running"}
    return {"pass": done.pk, "days": done.days, "buyers": done.buyers}


@shared_task(name="analytics.repurchase", **RETRY_TRANSIENT)
@rls.platform_task
def repurchase() -> dict:
    """Every few minutes: the repurchase snapshots of the standard windows ending today."""
    return {"merchants": refresh.refresh_repurchase_all()}


@shared_task(name="analytics.recheck", **RETRY_TRANSIENT)
@rls.platform_task
def recheck() -> dict:
    """Nightly: rebuild the last ANALYTICS_RECHECK_DAYS days of every merchant (and all buyer facts), whatever
    the watermarks said."""
    return {"days": refresh.recheck(settings.ANALYTICS_RECHECK_DAYS)}
