"""A real Celery worker killed with SIGKILL in the middle of a settlement run: another worker finishes the
run, nothing is settled twice or lost, and the ledger checks clean at every point."""

import os
import signal
from datetime import timedelta

import pytest

from commissions.models import CommissionLine
from config.celery import app
from distributors.models import Distributor
from ledger import services as ledger
from ledger.checks import ledger_problems
from ledger.models import LedgerTransaction
from settlements.models import SettlementRun
from settlements.services import runs
from tests.builders.distributors import join
from tests.builders.factories import make_merchant
from tests.builders.settlements import ACTOR, due_order, shop_with_due_commission
from tests.processes import celery_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WORKER_ENV = {"SETTLEMENT_CHUNK_SIZE": "1", "RUN_CHUNK_PAUSE_MS": "150", "RUN_LEASE_SECONDS": "2"}


def test_a_killed_worker_leaves_a_run_that_another_worker_completes_exactly(monkeypatch):
    from distribution import outbox
    from distribution.models import OutboxMessage

    monkeypatch.setattr(outbox, "publish", lambda message_id: False)  # this test hands the run out itself
    merchant = make_merchant("alpha")
    people = shop_with_due_commission(merchant)
    for n in range(24):
        due_order(merchant, join(merchant, f"s{n}", people["boss"]).invite_code, f"o-s{n}")
    pending = {
        d: ledger.distributor_balances(merchant.pk, d, "CNY")["pending"]
        for d in Distributor.objects.for_merchant(merchant).values_list("pk", flat=True)
    }
    expected = {d: amount for d, amount in pending.items() if amount}  # everyone who earned something
    run = runs.settlement_request(merchant=merchant, actor=ACTOR)

    def progress():
        return SettlementRun.objects.get(pk=run.pk)

    with celery_worker(extra_env=WORKER_ENV) as (worker, queue):
        app.send_task("settlements.execute_run", args=[run.pk], queue=queue)
        wait_until(lambda: progress().chunks_done >= 5, timeout=90)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(30)
    stopped = progress()
    assert stopped.status == "running" and 5 <= stopped.chunks_done < 26
    settled_now = CommissionLine.objects.for_merchant(merchant).filter(status="settled").count()
    assert 0 < settled_now < CommissionLine.objects.for_merchant(merchant).count()
    assert ledger_problems(merchant.pk) == []  # each chunk committed whole, or not at all

    # the sweeper notices the lapsed lease and hands the run out again; a fresh worker finishes it
    wait_until(lambda: runs.settlement_resume_stale(lease=timedelta(seconds=2)), timeout=30, interval=0.5)
    requeued = OutboxMessage.objects.order_by("-pk").first()  # queued again by task name, through the outbox
    assert (requeued.task, requeued.args) == ("settlements.execute_run", [run.pk])
    with celery_worker(extra_env=WORKER_ENV) as (_, queue):
        app.send_task("settlements.execute_run", args=[run.pk], queue=queue)
        wait_until(lambda: progress().status == "completed", timeout=120)
    done = progress()
    lines = CommissionLine.objects.for_merchant(merchant)
    assert (done.lines_done, done.lines_total, done.attempts) == (lines.count(), lines.count(), 2)
    assert set(lines.values_list("status", "settlement_run_id")) == {("settled", run.pk)}
    assert LedgerTransaction.objects.for_merchant(merchant).filter(kind="settle").count() == len(expected)
    for distributor_id, pending_before in expected.items():
        b = ledger.distributor_balances(merchant.pk, distributor_id, "CNY")
        assert (b["pending"], b["available"]) == (0, pending_before)
    assert ledger_problems(merchant.pk) == []
