"""Each merchant's settlement schedule, as a django-celery-beat entry in the merchant's time zone."""

from __future__ import annotations

import json

from django_celery_beat.models import CrontabSchedule, PeriodicTask

from merchants.models import DistributionProgram, Merchant

TASK = "settlements.run_scheduled"


def task_name(merchant: Merchant) -> str:
    return f"[merchant {merchant.pk}] settlement"


def sync_settlement_schedule(merchant: Merchant) -> PeriodicTask | None:
    """Create, update or disable the merchant's settlement entry from its program settings."""
    program = DistributionProgram.objects.for_merchant(merchant).get()
    existing = PeriodicTask.objects.filter(name=task_name(merchant)).first()
    schedule = program.settlement_schedule
    if schedule == DistributionProgram.SettlementSchedule.MANUAL or not merchant.is_active:
        if existing and existing.enabled:
            existing.enabled = False
            existing.save(update_fields=["enabled"])
        return existing
    day_of_week = str((program.settlement_weekday + 1) % 7) if schedule == "weekly" else "*"  # cron: 0 = Sunday
    day_of_month = str(program.settlement_monthday) if schedule == "monthly" else "*"
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour=str(program.settlement_hour),
        day_of_week=day_of_week,
        day_of_month=day_of_month,
        month_of_year="*",
        timezone=merchant.timezone,
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=task_name(merchant),
        defaults={
            "task": TASK,
            "kwargs": json.dumps({"merchant_id": merchant.pk}),
            "crontab": crontab,
            "interval": None,
            "queue": None,  # routed by task name (config/celery.py)
            "enabled": True,
        },
    )
    return task
