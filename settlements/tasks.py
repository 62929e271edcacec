"""Celery tasks for settlement and payouts: thin wrappers around the services. Every one is safe to run
twice (leases, line states and ledger references guard the work), so they are acknowledged late."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from distribution import rls
from distribution.auth import Actor
from distribution.errors import ApplicationError
from distribution.jobs import RETRY_TRANSIENT, merchant_of_row, tracked
from ledger.checks import ledger_problems
from merchants.models import Merchant
from settlements.models import SettlementRun
from settlements.services.alipay_transfers import alipay_withdrawal_pay, alipay_withdrawals_reconcile
from settlements.services.runs import settlement_execute, settlement_request, settlement_resume_stale
from settlements.services.split_window import windows_watch
from settlements.services.splits import splits_dispatch
from settlements.services.transfers import withdrawal_pay, withdrawals_reconcile

_run_merchant = merchant_of_row("settlements.SettlementRun", "run_id")
_withdrawal_merchant = merchant_of_row("settlements.Withdrawal", "withdrawal_id")


@shared_task(name="settlements.execute_run", acks_late=True, **RETRY_TRANSIENT)
@tracked("settlements.execute_run", merchant_of=_run_merchant)
@rls.tenant_task(merchant_of=_run_merchant)
def execute_run(run_id: int) -> dict | None:
    run = settlement_execute(run_id)
    if run is None:
        return None
    return {"run": run.pk, "status": run.status, "lines_done": run.lines_done, "amount_done": run.amount_done}


@shared_task(name="settlements.resume_stale_runs")
@rls.platform_task
def resume_stale_runs() -> list[int]:
    return settlement_resume_stale()


@shared_task(name="settlements.run_scheduled", acks_late=True, **RETRY_TRANSIENT)
@tracked("settlements.run_scheduled")
@rls.tenant_task()
def run_scheduled(merchant_id: int) -> int | None:
    """Beat calls this for each merchant on its own schedule (its time zone)."""
    merchant = Merchant.objects.filter(pk=merchant_id, status=Merchant.Status.ACTIVE).first()
    if merchant is None:
        return None
    try:
        run = settlement_request(
            merchant=merchant,
            actor=Actor.system("schedule"),
            as_of=timezone.now(),
            trigger=SettlementRun.Trigger.SCHEDULE,
        )
    except ApplicationError:  # a run is already in progress: it will settle what is due
        return None
    return run.pk


@shared_task(name="settlements.pay_withdrawal", acks_late=True, **RETRY_TRANSIENT)
@rls.tenant_task(merchant_of=_withdrawal_merchant)
def pay_withdrawal(withdrawal_id: int) -> str:
    return withdrawal_pay(withdrawal_id).status


@shared_task(name="settlements.reconcile_payouts")
@rls.platform_task
def reconcile_payouts() -> dict:
    """Drive every split and transfer whose outcome is not final (unknown, processing) one step on."""
    return {"splits": splits_dispatch(), "withdrawals": withdrawals_reconcile()}


@shared_task(name="settlements.pay_alipay_withdrawal", acks_late=True, **RETRY_TRANSIENT)
@rls.tenant_task(merchant_of=_withdrawal_merchant)
def pay_alipay_withdrawal(withdrawal_id: int) -> str:
    return alipay_withdrawal_pay(withdrawal_id).status


@shared_task(name="settlements.reconcile_alipay_transfers")
@rls.platform_task
def reconcile_alipay_transfers() -> int:
    """Drive every Alipay transfer whose outcome is not final (unknown, dealing, refused) one step on."""
    return alipay_withdrawals_reconcile()


@shared_task(name="settlements.watch_split_windows")
@tracked("settlements.watch_split_windows")
@rls.platform_task
def watch_split_windows() -> dict[str, dict[str, int]]:
    """Profit-sharing payments whose WeChat window ends within days while unsplit, per merchant (the JobRun
    keeps the counts; each merchant at risk is also a logged warning)."""
    return windows_watch()


@shared_task(name="settlements.check_ledger")
@tracked("settlements.check_ledger")
@rls.platform_task
def check_ledger() -> list[str]:
    """Fails (so the job status view shows it, with the problems) when any invariant is broken."""
    problems = ledger_problems()
    if problems:
        raise LedgerOutOfBalance("; ".join(problems)[:1900])
    return problems


class LedgerOutOfBalance(Exception):
    pass
