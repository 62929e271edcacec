"""The periodic schedule declared in code and installed into django-celery-beat, the job status records
and their admin view, and the outbox."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.celery import PERIODIC_TASKS, app
from distribution import outbox
from distribution.admin import JobRunAdmin
from distribution.jobs import RETRY_TRANSIENT, tracked
from distribution.models import JobRun, OutboxMessage
from tests.builders.factories import UserFactory, make_merchant

pytestmark = pytest.mark.django_db


def test_the_declared_schedule_is_installed_once_and_every_task_exists():
    app.loader.import_default_modules()
    merchant = make_merchant("alpha")
    call_command("setup_periodic_tasks", stdout=open("/dev/null", "w"))
    call_command("setup_periodic_tasks", stdout=open("/dev/null", "w"))  # idempotent
    installed = {t.name: t for t in PeriodicTask.objects.filter(name__startswith="[code] ")}
    assert set(installed) == {f"[code] {name}" for name in PERIODIC_TASKS}
    for name, spec in PERIODIC_TASKS.items():
        task = installed[f"[code] {name}"]
        assert task.enabled and task.task == spec["task"] and task.task in app.tasks, name
        assert task.queue is None  # routed by the task's name (config/celery.py)
    assert {
        "tiers.recalculate_all",
        "risk.sweep_all",
        "distribution.outbox_sweep",
        "settlements.check_ledger",
        "tiers.resume_stale_runs",
        "settlements.resume_stale_runs",
    } <= {s["task"] for s in PERIODIC_TASKS.values()}
    nightly = installed["[code] tiers-nightly"].crontab
    assert (nightly.minute, nightly.hour) == ("5", "*")  # hourly: each merchant's 03:00 in its own time zone
    assert PeriodicTask.objects.get(name=f"[merchant {merchant.pk}] settlement").task == "settlements.run_scheduled"


def test_a_declared_entry_that_is_gone_is_disabled_not_deleted(monkeypatch):
    call_command("setup_periodic_tasks", stdout=open("/dev/null", "w"))
    monkeypatch.delitem(PERIODIC_TASKS, "risk-sweep")
    call_command("setup_periodic_tasks", stdout=open("/dev/null", "w"))
    assert PeriodicTask.objects.get(name="[code] risk-sweep").enabled is False


def test_the_nightly_fan_out_picks_the_merchants_whose_local_hour_it_is(monkeypatch):
    from tiers import tasks

    shanghai, berlin = make_merchant("alpha"), make_merchant("beta")
    berlin.timezone = "Europe/Berlin"
    berlin.save()
    queued = []
    monkeypatch.setattr(tasks.request_run, "delay", lambda **kw: queued.append(kw["merchant_id"]))
    monkeypatch.setattr(tasks.timezone, "now", lambda: timezone.datetime(2026, 12, 1, 19, 5, tzinfo=UTC))
    assert tasks.recalculate_all() == [shanghai.pk] == queued  # 03:05 in Shanghai, 20:05 in Berlin


def test_a_tracked_job_records_success_and_failure_with_the_error():
    merchant = make_merchant("alpha")

    @tracked("tests.job")
    def job(merchant_id: int, fail: bool = False) -> dict:
        if fail:
            raise ValueError("bad data in row 7")
        return {"done": 3}

    assert job(merchant.pk) == {"done": 3}
    with pytest.raises(ValueError):
        job(merchant_id=merchant.pk, fail=True)
    ok, failed = JobRun.objects.filter(job="tests.job").order_by("id")
    assert (ok.merchant_id, ok.status, ok.result, ok.error) == (merchant.pk, "succeeded", {"done": 3}, "")
    assert (failed.status, failed.error, failed.result) == ("failed", "ValueError: bad data in row 7", {})
    assert failed.finished_at is not None and failed.duration_ms is not None


def test_tasks_retry_only_transient_errors_with_backoff_and_a_maximum():
    app.loader.import_default_modules()
    assert RETRY_TRANSIENT["autoretry_for"] == (OperationalError, InterfaceError)
    for name in ("tiers.execute_run", "tiers.request_run", "risk.sweep_merchant", "settlements.execute_run"):
        task = app.tasks[name]
        assert task.autoretry_for == RETRY_TRANSIENT["autoretry_for"] and task.max_retries == 5, name
        assert task.retry_backoff is True and task.retry_backoff_max == 300, name
    for name in ("tiers.execute_run", "risk.sweep_merchant", "settlements.execute_run", "settlements.pay_withdrawal"):
        assert app.tasks[name].acks_late is True, name


def test_the_job_status_view_shows_each_job_per_merchant(client):
    merchant = make_merchant("alpha")
    now = timezone.now()
    JobRun.objects.create(job="tiers.execute_run", merchant=merchant, status="succeeded", duration_ms=120)
    JobRun.objects.create(
        job="tiers.execute_run",
        merchant=merchant,
        status="failed",
        duration_ms=80,
        error="OperationalError: server closed the connection",
    )
    old = JobRun.objects.create(job="risk.sweep_merchant", merchant=merchant, status="succeeded", duration_ms=5)
    JobRun.objects.filter(pk=old.pk).update(started_at=now - timedelta(days=2))

    rows = {(r["job"], r["merchant__slug"]): r for r in JobRunAdmin(JobRun, site).summary()}
    tier = rows[("tiers.execute_run", "alpha")]
    assert (tier["runs_24h"], tier["failed_24h"], tier["avg_ms"], tier["max_ms"], tier["last_status"]) == (
        2,
        1,
        100,
        120,
        "failed",
    )
    assert tier["last_error"] == "OperationalError: server closed the connection"
    risk = rows[("risk.sweep_merchant", "alpha")]
    assert (risk["runs_24h"], risk["last_status"], risk["last_error"]) == (0, "succeeded", None)

    client.force_login(UserFactory(username="op", is_staff=True, is_superuser=True))
    page = client.get("/admin/distribution/jobrun/")
    assert page.status_code == 200
    assert b"server closed the connection" in page.content and b"tiers.execute_run" in page.content


def test_an_outbox_message_is_published_once_and_the_sweeper_leaves_young_ones(monkeypatch):
    sent = []
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app, "send_task", lambda name, args, kwargs: sent.append((name, args, kwargs)))
    message = OutboxMessage.objects.create(task="distribution.ping", args=["x"])
    assert outbox.sweep() == 0  # young: its own process publishes it after commit
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert outbox.sweep() == 1 and outbox.sweep() == 0
    assert outbox.publish(message.pk) is False  # already sent
    assert sent == [("distribution.ping", ["x"], {})]


def test_a_message_the_broker_refused_stays_for_the_sweeper(monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app, "send_task", down)
    message = OutboxMessage.objects.create(task="distribution.ping")
    assert outbox.publish(message.pk) is False
    message.refresh_from_db()
    assert (message.published_at, message.attempts) == (None, 1)
