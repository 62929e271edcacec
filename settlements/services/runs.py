"""Settlement runs (结算): move due commission from pending to available, chunk by chunk.

A blacklisted distributor's commission is held (not settled) until the merchant reactivates them or
forfeits it.

A run settles every confirmed line whose `unlock_at` ≤ `as_of`. It works through beneficiaries in id
order, `chunk_size` at a time; each chunk is one database transaction in which commissions settles the
lines and books them (commissions.services.commission_settle_due: pending → available, repaying any
receivable first) and the run's cursor and counters advance. A crash loses at most the chunk in flight,
which the next attempt redoes: lines still due are the only ones it can pick. The lease, the chunk
transactions, deadlock retries and resuming stale runs are the leased-run engine's (distribution.runs).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from commissions.selectors import due_lines
from commissions.services import commission_settle_due
from distribution import outbox
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.runs import RunEngine
from merchants.models import DistributionProgram, Merchant
from settlements.errors import InvalidAsOf, SettlementInProgress
from settlements.models import SettlementRun
from settlements.services.splits import splits_dispatch, splits_prepare

logger = logging.getLogger(__name__)
R = SettlementRun.Status
PROFIT_SHARING = DistributionProgram.SettlementProvider.WECHAT_PROFITSHARING


@transaction.atomic
def settlement_request(
    *, merchant: Merchant, actor: Actor, as_of: datetime | None = None, trigger: str = SettlementRun.Trigger.MANUAL
) -> SettlementRun:
    """Create a run (the worker executes it after commit). One pending or running run per merchant."""
    now = timezone.now()
    as_of = as_of or now
    if as_of > now + timedelta(minutes=1):
        raise InvalidAsOf(fields={"as_of": ["Cannot be in the future."]})
    program = DistributionProgram.objects.for_merchant(merchant).get()
    totals = due_lines(merchant.pk, as_of).aggregate(n=Count("id"), s=Sum(F("amount") - F("reversed_amount")))
    try:
        with transaction.atomic():
            run = SettlementRun.objects.create(
                merchant=merchant,
                as_of=as_of,
                trigger=trigger,
                provider=program.settlement_provider,
                requested_by=actor.label or actor.kind,
                lines_total=totals["n"],
                amount_total=totals["s"] or 0,
            )
    except IntegrityError:
        active = SettlementRun.objects.for_merchant(merchant).filter(status__in=[R.PENDING, R.RUNNING]).first()
        raise SettlementInProgress(extra={"run": active.pk if active else None}) from None
    audit_record(
        merchant=merchant,
        actor=actor,
        action="settlement.requested",
        obj=run,
        changes={"as_of": [None, as_of.isoformat()], "lines": [None, run.lines_total]},
    )
    SETTLEMENT_RUNS.enqueue(run.pk)
    return run


def settlement_execute(
    run_id: int,
    *,
    worker: str | None = None,
    chunk_size: int | None = None,
    lease: timedelta | None = None,
    max_chunks: int | None = None,
) -> SettlementRun | None:
    """Work through the run (distribution.runs.RunEngine.execute: worker, chunk_size, lease, max_chunks);
    a completed run paid through WeChat profit sharing then sends its splits."""
    run = SETTLEMENT_RUNS.execute(run_id, worker=worker, chunk_size=chunk_size, lease=lease, max_chunks=max_chunks)
    if run is not None and run.status == R.COMPLETED and run.provider == PROFIT_SHARING:
        splits_dispatch(run=run)
    return run


def _step(run: SettlementRun, chunk_size: int) -> bool:
    """Settle the next chunk of beneficiaries (in the engine's chunk transaction); False when nothing is
    left to settle."""
    currency = Merchant.objects.filter(pk=run.merchant_id).values_list("currency", flat=True).get()
    chunk = commission_settle_due(
        merchant_id=run.merchant_id,
        currency=currency,
        run_id=run.pk,
        as_of=run.as_of,
        from_beneficiary=run.cursor,
        beneficiaries=chunk_size,
    )
    if chunk is None:
        return False
    if run.provider == PROFIT_SHARING:
        splits_prepare(run=run, currency=currency, settled=chunk.net, repaid=chunk.repaid)
    SettlementRun.objects.unscoped().filter(pk=run.pk).update(
        cursor=chunk.last_beneficiary + 1,
        chunks_done=F("chunks_done") + 1,
        heartbeat_at=timezone.now(),
        lines_done=F("lines_done") + chunk.lines,
        amount_done=F("amount_done") + sum(chunk.net.values()),
        distributors_done=F("distributors_done") + len(chunk.net),
    )
    return True


def _completed(run: SettlementRun) -> None:
    # levels depend on settled sales: recalculate them after every run
    outbox.enqueue("tiers.request_run", merchant_id=run.merchant_id, trigger="settlement")


SETTLEMENT_RUNS = RunEngine(
    model=SettlementRun,
    task="settlements.execute_run",
    step=_step,
    default_chunk=lambda: settings.SETTLEMENT_CHUNK_SIZE,
    on_complete=_completed,
)


def settlement_resume_stale(*, lease: timedelta | None = None) -> list[int]:
    """Runs whose worker stopped renewing its lease (it died), or never started: queued again by task name
    (through the outbox)."""
    return SETTLEMENT_RUNS.resume_stale(lease=lease)
