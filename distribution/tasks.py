from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone

from distribution import rls
from distribution.models import IdempotencyRecord, JobRun
from distribution.outbox import sweep


@shared_task(name="distribution.ping")
@rls.no_tenant_data
def ping(value: str = "ping") -> dict:
    """A round trip through the broker, a worker and the database (used by tests and operators)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
    return {"pong": value, "database": database}


@shared_task(name="distribution.idempotency_cleanup")
@rls.platform_task
def idempotency_cleanup() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.unscoped().filter(created_at__lt=cutoff).delete()
    return deleted


@shared_task(name="distribution.outbox_sweep")
@rls.no_tenant_data
def outbox_sweep() -> int:
    return sweep()


@shared_task(name="distribution.jobs_cleanup")
@rls.no_tenant_data
def jobs_cleanup() -> int:
    deleted, _ = JobRun.objects.filter(started_at__lt=timezone.now() - timedelta(days=30)).delete()
    return deleted
