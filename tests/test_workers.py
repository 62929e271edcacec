"""The periodic work on real Celery workers over Redis, deployed as in production (every queue, tasks
published to the broker, not eager): tier recalculation, a worker killed in the middle of one, the risk
sweep, and the outbox sweeper publishing work a dead process left behind."""

from __future__ import annotations

import os
import random
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from distribution import crypto, leases, outbox
from distribution.models import JobRun, OutboxMessage
from distributors.models import BlacklistEntry, Distributor, Level, LevelChange
from distributors.services import levels
from risk.models import RiskFlag
from tests.builders.distributors import ACTOR, join
from tests.builders.factories import make_merchant
from tests.builders.orders import raw_order
from tests.processes import celery_deployment, wait_until
from tiers import services as tiers
from tiers.models import TierRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def build_program(merchant, size: int, seed: int = 7) -> None:
    """Three levels and `size` distributors with orders and recruits drawn from a fixed seed."""
    for spec in (
        {"name": "Bronze", "rank": 1},
        {"name": "Silver", "rank": 2, "window_days": 30, "min_sales_amount": 50_000},
        {"name": "Gold", "rank": 3, "condition_mode": "all", "min_sales_amount": 100_000, "min_direct_recruits": 2},
    ):
        levels.level_create(merchant=merchant, actor=ACTOR, data=spec)
    rng = random.Random(seed)
    people: list[Distributor] = []
    for n in range(size):
        inviter = people[rng.randrange(len(people))] if people and rng.random() < 0.6 else None
        people.append(join(merchant, f"u{n}", inviter))
    now = timezone.now()
    for n in range(size * 3):
        raw_order(
            merchant,
            people[rng.randrange(size)],
            rng.randrange(5_000, 60_000),
            now - timedelta(days=rng.randrange(0, 45), minutes=1),
            external_id=f"o{n}",
        )


def outcome(merchant) -> dict[str, tuple]:
    """Every distributor's level and level history, by their user id (comparable across merchants)."""
    levels_now = dict(Distributor.objects.for_merchant(merchant).values_list("external_user_id", "level__name"))
    history: dict[str, list] = {}
    for user, old, new, direction, metrics in (
        LevelChange.objects.for_merchant(merchant)
        .order_by("id")
        .values_list("distributor__external_user_id", "old_level__name", "new_level__name", "direction", "metrics")
    ):
        history.setdefault(user, []).append((old, new, direction, metrics))
    return {user: (level, history.get(user, [])) for user, level in levels_now.items()}


def test_a_worker_recalculates_levels_and_records_the_jobs():
    merchant = make_merchant("alpha")
    build_program(merchant, 12)
    with celery_deployment() as (_, prefix):
        app.send_task("tiers.request_run", kwargs={"merchant_id": merchant.pk}, queue=f"{prefix}tiers")
        run = wait_until(
            lambda: TierRun.objects.filter(merchant=merchant, status="completed").first(), timeout=90, interval=0.2
        )
        wait_until(lambda: JobRun.objects.filter(job="tiers.execute_run", status="succeeded").exists(), timeout=30)
    assert (run.trigger, run.evaluated, run.attempts) == ("schedule", 12, 1)
    assert run.upgraded == LevelChange.objects.filter(run=run).count() > 0
    requested = JobRun.objects.get(job="tiers.request_run")
    executed = JobRun.objects.get(job="tiers.execute_run")
    assert (requested.merchant_id, requested.status, requested.result) == (merchant.pk, "succeeded", {"run": run.pk})
    assert (executed.merchant_id, executed.result["evaluated"], executed.result["upgraded"]) == (
        merchant.pk,
        12,
        run.upgraded,
    )
    assert executed.duration_ms is not None and executed.task_id


def test_killing_a_worker_mid_recalculation_then_resuming_gives_the_levels_of_a_clean_run():
    killed, clean = make_merchant("alpha"), make_merchant("beta")
    for merchant in (killed, clean):
        build_program(merchant, 30)
    env = {"TIER_CHUNK_SIZE": "1", "RUN_CHUNK_PAUSE_MS": "150", "RUN_LEASE_SECONDS": "2"}
    with celery_deployment(extra_env=env) as (worker, prefix):
        app.send_task("tiers.request_run", kwargs={"merchant_id": killed.pk}, queue=f"{prefix}tiers")
        run = wait_until(lambda: TierRun.objects.filter(merchant=killed, evaluated__gte=5).first(), timeout=90)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(30)
    stopped = TierRun.objects.get(pk=run.pk)
    assert stopped.status == "running" and 5 <= stopped.evaluated < 30

    # the lease lapses; the sweeper (beat's tiers.resume_stale_runs) hands the run to a fresh worker
    wait_until(lambda: run.pk in leases.stale(TierRun, timedelta(seconds=2)), timeout=30, interval=0.5)
    with celery_deployment(extra_env=env) as (_, prefix):
        app.send_task("tiers.resume_stale_runs", queue=f"{prefix}tiers")
        wait_until(lambda: TierRun.objects.get(pk=run.pk).status == "completed", timeout=120, interval=0.2)
    done = TierRun.objects.get(pk=run.pk)
    assert (done.evaluated, done.attempts) == (30, 2)

    # the same data evaluated as of the same time in one clean pass
    tiers.tier_request(merchant=clean, as_of=done.as_of)  # (runs inline here: the test process is eager)
    clean_run = TierRun.objects.get(merchant=clean)
    assert (clean_run.status, clean_run.evaluated, clean_run.upgraded) == ("completed", 30, done.upgraded)
    assert outcome(killed) == outcome(clean)
    assert len({level for level, _ in outcome(killed).values()}) == 3  # the data reaches every level


def test_the_risk_sweep_runs_per_merchant_on_a_worker():
    merchant, other = make_merchant("alpha"), make_merchant("beta")
    a = join(merchant, "a", phone="13800000001")
    b = join(merchant, "b", phone="13800000001")
    fraud = join(merchant, "fraud")
    BlacklistEntry.objects.create(
        merchant=merchant,
        kind="external_user_id",
        value_hash=crypto.keyed_hash("external_user_id", "fraud"),
        value_display="fraud",
        reason="chargebacks",
        added_by="import",
    )
    with celery_deployment() as (_, prefix):
        app.send_task("risk.sweep_all", queue=f"{prefix}risk")
        wait_until(
            lambda: JobRun.objects.filter(job="risk.sweep_merchant", status="succeeded").count() == 2,
            timeout=90,
            interval=0.2,
        )
    fraud.refresh_from_db()
    assert fraud.status == "blacklisted"
    assert sorted(RiskFlag.objects.filter(merchant=merchant).values_list("rule", "distributor_id")) == sorted(
        [("application", b.pk), ("shared_identity", a.pk), ("shared_identity", b.pk)]  # b's at application
    )
    runs = {j.merchant_id: j.result for j in JobRun.objects.filter(job="risk.sweep_merchant")}
    assert runs[merchant.pk] == {
        "blacklisted": [fraud.pk],
        "shared_identity": 2,
        "refund_rate": 0,
        "self_purchase_burst": 0,
        "customer_switching": 0,
    }
    assert runs[other.pk]["shared_identity"] == 0


def test_the_outbox_sweeper_publishes_work_a_dead_process_committed_but_never_sent(monkeypatch, settings):
    merchant = make_merchant("alpha")
    build_program(merchant, 5)
    with monkeypatch.context() as m:
        m.setattr(outbox, "publish", lambda message_id: False)  # the process died right after the commit
        run = tiers.tier_request(merchant=merchant)
    message = OutboxMessage.objects.get(task="tiers.execute_run")
    assert (message.args, message.published_at, TierRun.objects.get(pk=run.pk).status) == ([run.pk], None, "pending")
    assert outbox.sweep() == 0  # too young: its own process may still be about to publish it

    with celery_deployment() as (_, prefix):
        settings.TASK_QUEUE_PREFIX = prefix  # this process publishes as deployed: to the broker, our queues
        monkeypatch.setitem(app.conf, "task_always_eager", False)
        OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=1))
        assert outbox.sweep() == 1
        wait_until(lambda: TierRun.objects.get(pk=run.pk).status == "completed", timeout=90, interval=0.2)
    message.refresh_from_db()
    assert message.published_at is not None and message.attempts == 1
    assert outbox.sweep() == 0  # sent once
    assert Level.objects.filter(merchant=merchant).count() == 3
