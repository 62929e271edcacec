"""Manual payouts: the merchant's bank pays approved withdrawals from a file we give it.

Every approved `manual` withdrawal not exported yet goes into one payout batch (and becomes `processing`);
the batch's file can be fetched again at any time. Finance then marks each withdrawal paid or failed,
which books the payout or returns the money (settlements.services.withdrawals).
"""

from __future__ import annotations

from django.db import connection, transaction

from distribution.auth import Actor
from distribution.money import format_amount
from merchants.models import Merchant
from settlements.errors import NotManual
from settlements.models import PayoutBatch, Withdrawal
from settlements.services.withdrawals import finish_withdrawal, lock_withdrawal, move_withdrawal

W = Withdrawal.Status
EXPORT_LOCK = 0x70617962  # "payb": the advisory lock class of payout exports, with the merchant's id

EXPORT_COLUMNS = [
    "withdrawal_id",
    "out_bill_no",
    "distributor_id",
    "display_name",
    "real_name",
    "amount",
    "fee",
    "tax",
    "net_amount",
    "currency",
    "requested_at",
]
ExportRow = list[str | int]  # one withdrawal, under EXPORT_COLUMNS


@transaction.atomic
def withdrawals_export(
    *, merchant: Merchant, actor: Actor, idempotency_key: str | None = None
) -> tuple[PayoutBatch | None, list[ExportRow]]:
    """Every approved manual withdrawal not exported yet, as one batch (they become `processing`), and its
    rows under EXPORT_COLUMNS for the file (distribution.exports writes it). With an `idempotency_key` that
    made a batch before, that batch and its rows again, and nothing changes."""
    with connection.cursor() as cursor:  # one export of a merchant at a time: a retry sees the first's batch
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EXPORT_LOCK, merchant.pk])
    if idempotency_key:
        earlier = PayoutBatch.objects.for_merchant(merchant).filter(idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier, batch_rows(earlier)
    rows = list(
        Withdrawal.objects.for_merchant(merchant)
        .select_for_update()
        .filter(status=W.APPROVED, provider=Withdrawal.Provider.MANUAL, batch__isnull=True)
        .select_related("distributor")
        .order_by("pk")
    )
    if not rows:
        return None, []
    batch = PayoutBatch.objects.create(
        merchant=merchant,
        created_by=actor.label or actor.kind,
        count=len(rows),
        total=sum(w.net_amount for w in rows),
        idempotency_key=idempotency_key or None,
    )
    for w in rows:
        move_withdrawal(
            w, W.PROCESSING, merchant=merchant, actor=actor, reason=f"exported in batch {batch.pk}", batch=batch
        )
    return batch, [_export_row(w) for w in rows]


def batch_rows(batch: PayoutBatch) -> list[ExportRow]:
    """A batch's file rows, from its withdrawals (in their current state, which the file does not show)."""
    withdrawals = (
        Withdrawal.objects.for_merchant(batch.merchant_id)
        .filter(batch=batch)
        .select_related("distributor")
        .order_by("pk")
    )
    return [_export_row(w) for w in withdrawals]


def _export_row(w: Withdrawal) -> ExportRow:
    return [
        w.pk,
        w.out_bill_no,
        w.distributor_id,
        w.distributor.display_name,
        w.distributor.real_name_masked,
        format_amount(w.amount, w.currency),
        format_amount(w.fee, w.currency),
        format_amount(w.tax, w.currency),
        format_amount(w.net_amount, w.currency),
        w.currency,
        w.requested_at.isoformat(),
    ]


@transaction.atomic
def withdrawal_mark(
    *, merchant: Merchant, actor: Actor, withdrawal_id: int, paid: bool, reason: str = ""
) -> Withdrawal:
    """The merchant's bank paid (or refused) a manual withdrawal."""
    withdrawal = lock_withdrawal(merchant, withdrawal_id)
    if withdrawal.provider != Withdrawal.Provider.MANUAL:
        raise NotManual()
    finish_withdrawal(withdrawal, merchant=merchant, actor=actor, paid=paid, reason=reason)
    return withdrawal
