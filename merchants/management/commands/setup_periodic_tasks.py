"""Install the periodic schedule declared in config/celery.py into django-celery-beat.

Idempotent: entries are created or updated by name; entries this command created earlier and no
longer declared are disabled (not deleted, so an operator's history stays).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.celery import PERIODIC_TASKS
from distribution import rls
from merchants.models import Merchant
from merchants.schedule import sync_settlement_schedule

MANAGED_PREFIX = "[code] "


class Command(BaseCommand):
    help = "Install the periodic task schedule declared in code into django-celery-beat."

    @transaction.atomic
    @rls.bypass()  # an operator's command: it works across merchants
    def handle(self, *args, **options):
        declared = set()
        for name, spec in PERIODIC_TASKS.items():
            full_name = MANAGED_PREFIX + name
            declared.add(full_name)
            schedule = spec["schedule"]
            defaults = {
                "task": spec["task"],
                "kwargs": json.dumps(spec.get("kwargs", {})),
                "queue": spec.get("queue"),
                "enabled": True,
                "crontab": None,
                "interval": None,
            }
            if hasattr(schedule, "minute") and hasattr(schedule, "hour"):
                defaults["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    minute=schedule._orig_minute,
                    hour=schedule._orig_hour,
                    day_of_week=schedule._orig_day_of_week,
                    day_of_month=schedule._orig_day_of_month,
                    month_of_year=schedule._orig_month_of_year,
                    timezone="UTC",
                )
            else:
                seconds = int(schedule.total_seconds() if hasattr(schedule, "total_seconds") else schedule)
                defaults["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=seconds, period=IntervalSchedule.SECONDS
                )
            PeriodicTask.objects.update_or_create(name=full_name, defaults=defaults)
        stale = PeriodicTask.objects.filter(name__startswith=MANAGED_PREFIX).exclude(name__in=declared)
        stale.update(enabled=False)

        merchants = 0
        for merchant in Merchant.objects.all():
            sync_settlement_schedule(merchant)
            merchants += 1
        self.stdout.write(f"periodic tasks installed: {len(declared)}; merchant settlement schedules: {merchants}")
