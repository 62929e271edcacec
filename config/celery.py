"""The Celery app: queues, routing, reliability settings and the periodic schedule.

Every task is idempotent (see docs/architecture.md), so tasks are acknowledged late and re-queued when a worker
dies: a redelivered task repeats work harmlessly instead of losing it.
"""

from __future__ import annotations

import os
from datetime import timedelta

from celery import Celery, signals
from celery.schedules import crontab
from django.conf import settings
from django.db import close_old_connections

from distribution.context import current_request_id, new_request_id, request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("distribution")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("default", "settlement", "tiers", "risk", "analytics", "exports", "webhooks")
# Each app's tasks are named "<app>.<task>" and go to that app's queue; the rest go to "default".
ROUTES = {
    "settlements": "settlement",
    "tiers": "tiers",
    "risk": "risk",
    "analytics": "analytics",
    "exports": "exports",
    "webhooks": "webhooks",
}


def queue_name(queue: str) -> str:
    """The queue's name on the broker: CELERY_QUEUE_PREFIX lets environments (or test runs) share one."""

    return settings.TASK_QUEUE_PREFIX + queue


def route_task(name, args, kwargs, options, task=None, **kw):
    return {"queue": queue_name(ROUTES.get(name.split(".", 1)[0], "default"))}


app.conf.update(
    task_routes=(route_task,),
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # No STARTED state in the result backend: one Redis write less per task; long work reports its progress
    # in the database (runs) and every job in JobRun.
    task_track_started=False,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=24 * 3600,
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    timezone="UTC",
)


app.autodiscover_tasks()

# The periodic schedule, in one place. `manage.py setup_periodic_tasks` installs it into
# django-celery-beat (make run calls it); each entry says when and why it runs.
# Each merchant's settlement runs on the merchant's own schedule and time zone: those entries are
# made from the program settings (merchants/schedule.py), not here.
PERIODIC_TASKS: dict[str, dict] = {
    # Idempotency keys are kept 24 hours (Stripe's window); drop the expired ones every hour.
    "idempotency-cleanup": {
        "task": "distribution.idempotency_cleanup",
        "schedule": crontab(minute=17),
    },
    # A settlement run whose worker died stops renewing its lease: hand it to another worker.
    "settlement-resume-stale-runs": {
        "task": "settlements.resume_stale_runs",
        "schedule": crontab(minute="*"),
    },
    # Splits and transfers whose outcome is unknown or still processing: ask the provider again.
    "payouts-reconcile": {
        "task": "settlements.reconcile_payouts",
        "schedule": crontab(minute="*"),
    },
    # Alipay transfers whose outcome is unknown, still dealing or refused unconfirmed: query them again.
    "alipay-transfers-reconcile": {
        "task": "settlements.reconcile_alipay_transfers",
        "schedule": crontab(minute="*"),
    },
    # Profit-sharing payments whose WeChat freeze period ends within days while unsplit: warn (JobRun, logs).
    "split-windows-watch": {
        "task": "settlements.watch_split_windows",
        "schedule": crontab(minute=23),
    },
    # The books must balance: check every invariant from scratch once a day (results in the logs).
    "ledger-check": {
        "task": "settlements.check_ledger",
        "schedule": crontab(hour=4, minute=30),
    },
    # Work committed in the database whose task was never published (the process died in between).
    "outbox-sweep": {
        "task": "distribution.outbox_sweep",
        "schedule": crontab(minute="*"),
    },
    # Levels nightly: every hour, the merchants for whom it is now 03:00 locally get a tier run
    # (settlement runs also request one when they complete).
    "tiers-nightly": {
        "task": "tiers.recalculate_all",
        "schedule": crontab(minute=5),
    },
    # A tier run whose worker died stops renewing its lease: hand it to another worker.
    "tiers-resume-stale-runs": {
        "task": "tiers.resume_stale_runs",
        "schedule": crontab(minute="*"),
    },
    # Blacklist re-check and the risk rules that need history, per merchant, nightly.
    "risk-sweep": {
        "task": "risk.sweep_all",
        "schedule": crontab(hour=2, minute=40),
    },
    # Analytics: the days that new order, refund and commission events touched, recomputed (rollup lag is
    # at most this interval plus a pass); the repurchase snapshots; a nightly rebuild of the recent days.
    "analytics-refresh": {
        "task": "analytics.refresh",
        "schedule": timedelta(seconds=settings.ANALYTICS_REFRESH_SECONDS),
    },
    "analytics-repurchase": {
        "task": "analytics.repurchase",
        "schedule": crontab(minute="*/5"),
    },
    "analytics-recheck": {
        "task": "analytics.recheck",
        "schedule": crontab(hour=3, minute=50),
    },
    # An export job whose worker died stops renewing its lease: hand it to another worker.
    "exports-resume-stale-jobs": {
        "task": "exports.resume_stale_jobs",
        "schedule": crontab(minute="*"),
    },
    # Export files are kept EXPORT_FILE_TTL_SECONDS (7 days): delete the expired ones every hour.
    "exports-delete-expired": {
        "task": "exports.delete_expired",
        "schedule": crontab(minute=41),
    },
    # The job status view keeps 30 days.
    "jobs-cleanup": {
        "task": "distribution.jobs_cleanup",
        "schedule": crontab(hour=5, minute=10),
    },
}


@signals.before_task_publish.connect
def _propagate_request_id(headers=None, **kwargs):
    if headers is not None and "request_id" not in headers:
        request_id = current_request_id()
        if request_id:
            headers["request_id"] = request_id


@signals.task_prerun.connect
def _bind_request_id(task=None, **kwargs):
    request_id = getattr(task.request, "request_id", None) if task else None
    request_id_var.set(new_request_id(request_id or (task.request.id if task else None)))


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_old_connections(task=None, **kwargs):
    """What Django does around each request: drop a connection that is broken, past CONN_MAX_AGE or left
    outside autocommit, so a worker reuses healthy connections only (CELERY_DB_REUSE_MAX keeps Celery
    from closing every one). Not for eager tasks: they run inside their caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return

    close_old_connections()
