"""Commission into the ledger: accruals when an order is paid, reversals and clawbacks on refunds."""

from __future__ import annotations

from commissions.services import LineChange
from settlements import ledger
from settlements.ledger import DISTRIBUTOR, MERCHANT, Txn
from settlements.models import Account, LedgerTransaction

A = Account.Kind
K = LedgerTransaction.Kind


def book_line_changes(*, merchant_id: int, currency: str, changes: list[LineChange] | tuple) -> None:
    """Book what the commission engine changed, in the caller's transaction.

    * accrue: commission expense → the distributor's pending balance;
    * reverse (refund before settlement): back from pending to expense;
    * clawback (refund after settlement): from the available balance, and what it cannot cover becomes a
      receivable against the distributor's future earnings (available never goes below zero).
    References come from the line and its running total, so a replay books nothing twice.
    """
    txns: list[Txn] = []
    for c in changes:
        if c.kind == "accrue":
            txns.append(
                Txn(f"line:{c.line_id}:accrue", K.ACCRUE)
                .debit(MERCHANT, merchant_id, A.COMMISSION_EXPENSE, c.delta)
                .credit(DISTRIBUTOR, c.beneficiary_id, A.PENDING, c.delta)
            )
        elif c.kind == "reverse":
            amount = -c.delta
            txns.append(
                Txn(f"line:{c.line_id}:reverse:{c.total}", K.REVERSE)
                .debit(DISTRIBUTOR, c.beneficiary_id, A.PENDING, amount)
                .credit(MERCHANT, merchant_id, A.COMMISSION_EXPENSE, amount)
            )
    ledger.post(merchant_id, currency, txns)
    for c in changes:
        if c.kind != "clawback":
            continue
        amount = -c.delta
        available = ledger.locked_balance(merchant_id, c.beneficiary_id, A.AVAILABLE, currency)
        from_available = min(amount, available)
        txn = Txn(f"line:{c.line_id}:clawback:{c.total}", K.CLAWBACK)
        if from_available:
            txn.debit(DISTRIBUTOR, c.beneficiary_id, A.AVAILABLE, from_available)
        if amount - from_available:
            txn.debit(DISTRIBUTOR, c.beneficiary_id, A.RECEIVABLE, amount - from_available)
        txn.credit(MERCHANT, merchant_id, A.COMMISSION_EXPENSE, amount)
        ledger.post(merchant_id, currency, [txn])
