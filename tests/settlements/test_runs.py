"""Settlement runs: exact settlement, chunks and resumption, idempotency, roles, schedules."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from commissions.models import CommissionLine
from ledger.checks import ledger_problems
from ledger.models import LedgerTransaction
from merchants.roles import Role
from merchants.services.programs import program_update
from settlements.models import SettlementRun
from settlements.services import runs
from tests.builders.settlements import (
    ACTOR,
    INVITER_EARNS,
    LONG_AGO,
    SELLER_EARNS,
    balances,
    due_order,
    settle,
    shop_with_due_commission,
)
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_a_run_moves_due_commission_from_pending_to_available(merchant):
    people = shop_with_due_commission(merchant, orders=2)
    run = settle(merchant)
    assert run.status == "completed"
    assert (run.lines_total, run.lines_done, run.amount_total, run.amount_done, run.distributors_done) == (
        8,
        8,
        2 * (SELLER_EARNS + INVITER_EARNS),
        2 * (SELLER_EARNS + INVITER_EARNS),
        2,
    )
    for who, earned in (("seller", SELLER_EARNS), ("boss", INVITER_EARNS)):
        assert balances(merchant, people[who]) == {
            "pending": 0,
            "available": 2 * earned,
            "withdrawing": 0,
            "paid_out": 0,
            "receivable": 0,
        }
    lines = CommissionLine.objects.for_merchant(merchant)
    assert set(lines.values_list("status", "settlement_run_id")) == {("settled", run.pk)}
    assert list(
        LedgerTransaction.objects.for_merchant(merchant)
        .filter(kind="settle")
        .order_by("reference")
        .values_list("reference", flat=True)
    ) == sorted(f"run:{run.pk}:d:{people[w].pk}" for w in ("seller", "boss"))
    assert ledger_problems(merchant.pk) == []


def test_only_lines_unlocked_by_as_of_settle(merchant):
    people = shop_with_due_commission(merchant)
    due_order(merchant, people["seller"].invite_code, "recent", paid_at=timezone.now() - timedelta(days=2))
    due_order(merchant, people["seller"].invite_code, "open", completed=False)
    settle(merchant)
    statuses = dict(
        CommissionLine.objects.for_merchant(merchant)
        .filter(depth=1, order_item__line_id="L1")
        .values_list("order__external_id", "status")
    )
    assert statuses == {"o-1": "settled", "recent": "confirmed", "open": "pending"}
    assert balances(merchant, people["seller"])["pending"] == 2 * SELLER_EARNS
    # a run as of a time before the unlock settles nothing
    early = settle(merchant, as_of=LONG_AGO)
    assert (early.status, early.lines_done) == ("completed", 0)


def test_running_again_settles_nothing_new(merchant):
    people = shop_with_due_commission(merchant)
    settle(merchant)
    again = settle(merchant)
    assert (again.lines_total, again.lines_done, again.amount_done) == (0, 0, 0)
    assert balances(merchant, people["seller"])["available"] == SELLER_EARNS
    assert LedgerTransaction.objects.for_merchant(merchant).filter(kind="settle").count() == 2


def test_chunks_commit_progress_and_a_stopped_run_resumes(merchant):
    from tests.builders.distributors import join

    people = shop_with_due_commission(merchant)
    for n in range(4):
        extra = join(merchant, f"extra-{n}", people["boss"])
        due_order(merchant, extra.invite_code, f"x-{n}")
    run = runs.settlement_request(merchant=merchant, actor=ACTOR)
    assert run.lines_total == 4 + 4 * 4
    partial = runs.settlement_execute(run.pk, worker="w1", chunk_size=2, max_chunks=2)
    assert (partial.status, partial.chunks_done, partial.distributors_done) == ("running", 2, 4)
    # another worker cannot take a live lease; after it lapses, it can, and finishes the run
    assert runs.settlement_execute(run.pk, worker="w2", chunk_size=2) is None
    done = runs.settlement_execute(run.pk, worker="w2", chunk_size=2, lease=timedelta(0))
    assert (done.status, done.lines_done, done.distributors_done) == ("completed", 20, 6)
    assert not CommissionLine.objects.for_merchant(merchant).filter(status="confirmed").exists()
    assert ledger_problems(merchant.pk) == []


def test_one_run_at_a_time_and_no_future_as_of(merchant):
    shop_with_due_commission(merchant)
    runs.settlement_request(merchant=merchant, actor=ACTOR)
    with pytest.raises(Exception) as exc:
        runs.settlement_request(merchant=merchant, actor=ACTOR)
    assert exc.value.code == "settlement_in_progress"
    with pytest.raises(Exception) as exc:
        SettlementRun.objects.for_merchant(merchant).update(status="completed")
        runs.settlement_request(merchant=merchant, actor=ACTOR, as_of=timezone.now() + timedelta(hours=1))
    assert exc.value.code == "invalid_as_of"


def test_the_api_starts_a_run_and_shows_its_progress(api, merchant):
    shop_with_due_commission(merchant)
    finance = api.staff(merchant, Role.FINANCE)
    response = finance.post("/api/v1/settlements", {}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["lines_total"], body["amount_total"], body["progress"]) == ("pending", 4, "36.00", 0.0)
    again = finance.post("/api/v1/settlements", {}, format="json")  # one at a time: the same run
    assert again.status_code == 202 and again.json()["id"] == body["id"]
    runs.settlement_execute(body["id"])
    detail = finance.get(f"/api/v1/settlements/{body['id']}").json()
    assert (detail["status"], detail["lines_done"], detail["amount_done"], detail["progress"]) == (
        "completed",
        4,
        "36.00",
        1.0,
    )
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert_error(finance.post("/api/v1/settlements", {"as_of": future}, format="json"), 400, "invalid_as_of")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.FINANCE, True), (Role.ADMIN, False), (Role.OPERATOR, False), (Role.VIEWER, False)],
)
def test_who_may_settle(api, merchant, role, allowed):
    response = api.staff(merchant, role).post("/api/v1/settlements", {}, format="json")
    assert response.status_code == (202 if allowed else 403)


def test_manage_py_settle(merchant):
    people = shop_with_due_commission(merchant)
    out = io.StringIO()
    call_command("settle", merchant=merchant.slug, stdout=out)
    assert out.getvalue().startswith("run ") and "completed, 4 lines, 3600 settled (2 distributors)" in out.getvalue()
    assert balances(merchant, people["seller"])["available"] == SELLER_EARNS


def test_each_merchant_settles_on_its_own_schedule_in_its_time_zone(merchant):
    task = PeriodicTask.objects.get(name=f"[merchant {merchant.pk}] settlement")
    assert (task.task, task.enabled, task.queue) == ("settlements.run_scheduled", True, None)  # routed by name
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week, str(task.crontab.timezone)) == (
        "2",
        "0",
        "*",
        "Asia/Shanghai",
    )
    program_update(
        merchant=merchant,
        actor=ACTOR,
        changes={"settlement_schedule": "weekly", "settlement_weekday": 4, "settlement_hour": 23},
    )
    task.refresh_from_db()
    assert (task.crontab.hour, task.crontab.day_of_week, task.crontab.day_of_month) == ("23", "5", "*")  # Friday
    program_update(merchant=merchant, actor=ACTOR, changes={"settlement_schedule": "monthly", "settlement_monthday": 5})
    task.refresh_from_db()
    assert (task.crontab.day_of_week, task.crontab.day_of_month) == ("*", "5")
    program_update(merchant=merchant, actor=ACTOR, changes={"settlement_schedule": "manual"})
    task.refresh_from_db()
    assert task.enabled is False


def test_the_scheduled_task_settles(merchant):
    from settlements.tasks import run_scheduled

    people = shop_with_due_commission(merchant)
    run_id = run_scheduled(merchant.pk)
    run = SettlementRun.objects.for_merchant(merchant).get(pk=run_id)
    assert run.trigger == "schedule"
    runs.settlement_execute(run.pk)
    assert balances(merchant, people["seller"])["available"] == SELLER_EARNS
