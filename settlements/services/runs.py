"""Settlement runs (结算): move due commission from pending to available, chunk by chunk.

A blacklisted distributor's commission is held (not settled) until the merchant reactivates them or
forfeits it.

A run settles every confirmed line whose `unlock_at` ≤ `as_of`. It works through beneficiaries in id
order, `chunk_size` at a time; each chunk is one database transaction that marks its lines settled,
posts one ledger transaction per beneficiary (pending → available, repaying any receivable first), and
advances the run's cursor and counters. A crash loses at most the chunk in flight, which the next
attempt redoes: lines still `confirmed` are the only ones it can pick. A worker holds a lease on the
run, renewed with every chunk; a run whose lease lapsed is picked up again by `settlement_resume_stale`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from commissions.selectors import due_lines
from commissions.services import commission_settle_due
from distribution import leases, outbox
from distribution.audit import audit_record
from distribution.auth import Actor
from merchants.models import DistributionProgram, Merchant
from settlements.errors import InvalidAsOf, SettlementInProgress
from settlements.models import SettlementRun
from settlements.services.splits import splits_dispatch, splits_prepare

logger = logging.getLogger(__name__)
R = SettlementRun.Status


def default_chunk() -> int:
    return settings.SETTLEMENT_CHUNK_SIZE


def default_lease() -> timedelta:
    return timedelta(seconds=settings.RUN_LEASE_SECONDS)


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
    outbox.enqueue("settlements.execute_run", run.pk)
    return run


def settlement_execute(
    run_id: int,
    *,
    worker: str | None = None,
    chunk_size: int | None = None,
    lease: timedelta | None = None,
    max_chunks: int | None = None,
) -> SettlementRun | None:
    """Work through the run until it is done (or `max_chunks`, for tests). Safe to call from any number
    of workers at once: only the lease holder works, and every chunk is guarded by the line states."""
    worker = worker or leases.worker_name()
    chunk_size = chunk_size or default_chunk()
    if not leases.claim(SettlementRun, run_id, worker, lease if lease is not None else default_lease()):
        return None
    done = 0
    while max_chunks is None or done < max_chunks:
        for attempt in range(3):
            try:
                more = _chunk(run_id, worker, chunk_size)
                break
            except OperationalError as exc:  # a deadlock or serialization failure: the chunk rolled back
                if getattr(exc.__cause__, "sqlstate", None) not in ("40P01", "40001") or attempt == 2:
                    raise
                logger.warning("settlement run %s: chunk retried after %s", run_id, exc)
        done += 1
        if more is None or not more:
            break
        if settings.RUN_CHUNK_PAUSE_MS:
            time.sleep(settings.RUN_CHUNK_PAUSE_MS / 1000)
    run = SettlementRun.objects.unscoped().get(pk=run_id)
    if run.status == R.COMPLETED and run.provider == DistributionProgram.SettlementProvider.WECHAT_PROFITSHARING:
        splits_dispatch(run=run)
    return run


@transaction.atomic
def _chunk(run_id: int, worker: str, chunk_size: int) -> bool | None:
    """Settle the next chunk; False when the run is complete, None when the lease was lost."""
    run = SettlementRun.objects.unscoped().select_for_update().get(pk=run_id)
    if run.status != R.RUNNING or run.lease_owner != worker:
        return None
    currency = Merchant.objects.filter(pk=run.merchant_id).values_list("currency", flat=True).get()
    chunk = commission_settle_due(
        merchant_id=run.merchant_id,
        currency=currency,
        run_id=run.pk,
        as_of=run.as_of,
        from_beneficiary=run.cursor,
        beneficiaries=chunk_size,
    )
    now = timezone.now()
    if chunk is None:
        SettlementRun.objects.unscoped().filter(pk=run.pk).update(status=R.COMPLETED, finished_at=now, heartbeat_at=now)
        # levels depend on settled sales: recalculate them after every run
        outbox.enqueue("tiers.request_run", merchant_id=run.merchant_id, trigger="settlement")
        return False
    if run.provider == DistributionProgram.SettlementProvider.WECHAT_PROFITSHARING:
        splits_prepare(run=run, currency=currency, settled=chunk.net, repaid=chunk.repaid)
    SettlementRun.objects.unscoped().filter(pk=run.pk).update(
        cursor=chunk.last_beneficiary + 1,
        chunks_done=F("chunks_done") + 1,
        heartbeat_at=now,
        lines_done=F("lines_done") + chunk.lines,
        amount_done=F("amount_done") + sum(chunk.net.values()),
        distributors_done=F("distributors_done") + len(chunk.net),
    )
    return True


def settlement_resume_stale(*, lease: timedelta | None = None) -> list[int]:
    """Runs whose worker stopped renewing its lease (it died), or never started: queued again by task name
    (through the outbox)."""
    run_ids = leases.stale(SettlementRun, lease if lease is not None else default_lease())
    for run_id in run_ids:
        outbox.enqueue("settlements.execute_run", run_id)
    return run_ids
