"""Manual payouts (the bank batch): the merchant's bank pays approved withdrawals from a file we give it.

Every approved `manual` withdrawal not exported yet goes into one payout batch (and becomes `processing`).
The batch's file is what a bank's batch transfer (批量代发) imports: the payee's real name, card number,
bank and branch, the amount, the purpose and our reference (the withdrawal's `out_bill_no`), from the
payout account the withdrawal recorded when it was requested. Both files (CSV and XLSX) are made once, at
export, and kept encrypted (they hold card numbers in clear), so a later download is the same bytes;
every export and download is audited. Finance then marks each withdrawal paid or failed, one by one or
from the bank's result file (settlements.services.bank_results), which books the payout or returns the
money (settlements.services.withdrawals).
"""

from __future__ import annotations

import base64

from django.db import connection, transaction

from distribution import crypto, exports
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.money import format_amount
from merchants.models import Merchant
from settlements.errors import NotManual
from settlements.models import PayoutBatch, Withdrawal
from settlements.services.withdrawals import finish_withdrawal, lock_withdrawal, move_withdrawal

W = Withdrawal.Status
EXPORT_LOCK = 0x70617962  # "payb": the advisory lock class of payout exports, with the merchant's id
PURPOSE = "分销佣金"  # the transfer's purpose (用途) as the payee's bank statement shows it

EXPORT_COLUMNS = [
    "reference",
    "payee_name",
    "card_number",
    "bank_name",
    "bank_branch",
    "amount",
    "currency",
    "purpose",
    "withdrawal_id",
    "distributor_id",
]
ExportRow = list[str | int]  # one withdrawal, under EXPORT_COLUMNS


@transaction.atomic
def withdrawals_export(*, merchant: Merchant, actor: Actor, idempotency_key: str | None = None) -> PayoutBatch | None:
    """Every approved manual withdrawal not exported yet, as one batch with its files (they become
    `processing`). With an `idempotency_key` that made a batch before, that batch again, and nothing changes.
    Audited as a download of the file (`payout_batch.exported`)."""
    with connection.cursor() as cursor:  # one export of a merchant at a time: a retry sees the first's batch
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EXPORT_LOCK, merchant.pk])
    if idempotency_key:
        earlier = PayoutBatch.objects.for_merchant(merchant).filter(idempotency_key=idempotency_key).first()
        if earlier is not None:
            _audit_download(merchant, actor, earlier, "replayed export")
            return earlier
    withdrawals = list(
        Withdrawal.objects.for_merchant(merchant)
        .select_for_update()
        .filter(status=W.APPROVED, provider=Withdrawal.Provider.MANUAL, batch__isnull=True)
        .order_by("pk")
    )
    if not withdrawals:
        return None
    batch = PayoutBatch.objects.create(
        merchant=merchant,
        created_by=actor.label or actor.kind,
        count=len(withdrawals),
        total=sum(w.net_amount for w in withdrawals),
        idempotency_key=idempotency_key or None,
    )
    for w in withdrawals:
        move_withdrawal(
            w, W.PROCESSING, merchant=merchant, actor=actor, reason=f"exported in batch {batch.pk}", batch=batch
        )
    rows = [_export_row(w) for w in withdrawals]
    batch.csv_encrypted = _seal(exports.to_csv(EXPORT_COLUMNS, rows))
    batch.xlsx_encrypted = _seal(exports.to_xlsx(EXPORT_COLUMNS, rows, title=f"payouts-{batch.pk}"))
    batch.save(update_fields=["csv_encrypted", "xlsx_encrypted"])
    audit_record(
        merchant=merchant,
        actor=actor,
        action="payout_batch.exported",
        obj=batch,
        changes={
            "count": batch.count,
            "total": format_amount(batch.total, merchant.currency),
            "fields": ["payee_name", "card_number"],
        },
    )
    return batch


def batch_file(*, merchant: Merchant, actor: Actor, batch: PayoutBatch, file_format: str) -> bytes:
    """A batch's file as exported (the same bytes each time); each download is audited."""
    with transaction.atomic():
        _audit_download(merchant, actor, batch, f"downloaded as {file_format}")
    return batch_content(merchant=merchant, batch=batch, file_format=file_format)


def batch_content(*, merchant: Merchant, batch: PayoutBatch, file_format: str) -> bytes:
    """The file's bytes, not audited: for the answer of an export, which `withdrawals_export` audited."""
    sealed = batch.xlsx_encrypted if file_format == "xlsx" else batch.csv_encrypted
    if not sealed:  # a batch exported before its files were kept: made again from its withdrawals
        withdrawals = Withdrawal.objects.for_merchant(merchant).filter(batch=batch).order_by("pk")
        rows = [_export_row(w) for w in withdrawals]
        if file_format == "xlsx":
            return exports.to_xlsx(EXPORT_COLUMNS, rows, title=f"payouts-{batch.pk}")
        return exports.to_csv(EXPORT_COLUMNS, rows)
    return base64.b64decode(crypto.decrypt(sealed))


def _audit_download(merchant: Merchant, actor: Actor, batch: PayoutBatch, what: str) -> None:
    audit_record(
        merchant=merchant,
        actor=actor,
        action="payout_batch.file_downloaded",
        obj=batch,
        changes={"fields": ["payee_name", "card_number"]},
        reason=what,
    )


def _seal(content: bytes) -> str:
    return crypto.encrypt(base64.b64encode(content).decode())


def _clear(sealed: str) -> str:
    return crypto.decrypt(sealed) if sealed else ""


def _export_row(w: Withdrawal) -> ExportRow:
    return [
        w.out_bill_no,
        _clear(w.payee_name_encrypted),
        _clear(w.payee_identity_encrypted),
        w.payee_bank_name,
        w.payee_bank_branch,
        format_amount(w.net_amount, w.currency),
        w.currency,
        f"{PURPOSE} {w.out_bill_no}",
        w.pk,
        w.distributor_id,
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
