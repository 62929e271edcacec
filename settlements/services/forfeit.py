"""Forfeiting a distributor's commission (blacklisting under the forfeit policy, or the merchant's
decision on frozen commission): everything not yet paid out goes back to the merchant, ledgered."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from commissions.models import CommissionLine
from commissions.services import LineChange
from distribution.audit import audit_record
from distribution.auth import Actor
from distributors.models import Distributor
from settlements import ledger
from settlements.ledger import DISTRIBUTOR, MERCHANT, Txn
from settlements.models import Account, LedgerTransaction
from settlements.services.booking import book_line_changes

L = CommissionLine
A = Account.Kind


@transaction.atomic
def commission_forfeit(*, merchant, actor: Actor, distributor_id: int, reason: str) -> dict:
    """Reverse every unsettled line (pending or confirmed) and return the available balance to the
    merchant. Money already withdrawing or paid out is not touched."""
    distributor = Distributor.objects.for_merchant(merchant).select_for_update().get(pk=distributor_id)
    lines = list(
        L.objects.for_merchant(merchant)
        .select_for_update()
        .filter(beneficiary=distributor, kind=L.Kind.COMMISSION, status__in=[L.Status.PENDING, L.Status.CONFIRMED])
        .order_by("pk")
    )
    now = timezone.now()
    changes = []
    for line in lines:
        delta = line.amount - line.reversed_amount
        L.objects.for_merchant(merchant).filter(pk=line.pk).update(
            reversed_amount=line.amount, status=L.Status.REVERSED, reversed_at=now, updated_at=now
        )
        if delta:
            changes.append(LineChange(line.pk, distributor.pk, "reverse", -delta, line.amount))
    book_line_changes(merchant_id=merchant.pk, currency=merchant.currency, changes=changes)
    available = ledger.locked_balance(merchant.pk, distributor.pk, A.AVAILABLE, merchant.currency)
    event = audit_record(
        merchant=merchant,
        actor=actor,
        action="distributor.commission_forfeited",
        obj=distributor,
        reason=reason,
        changes={
            "lines_reversed": [0, len(lines)],
            "unsettled": [sum(-c.delta for c in changes), 0],
            "available": [available, 0],
        },
    )
    if available:
        ledger.post(
            merchant.pk,
            merchant.currency,
            [
                Txn(f"forfeit:d{distributor.pk}:{event.pk}", LedgerTransaction.Kind.FORFEIT)
                .debit(DISTRIBUTOR, distributor.pk, A.AVAILABLE, available)
                .credit(MERCHANT, merchant.pk, A.COMMISSION_EXPENSE, available)
            ],
        )
    return {"lines_reversed": len(lines), "unsettled": sum(-c.delta for c in changes), "available": available}
