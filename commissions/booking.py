"""Commission into the ledger: what each change of a commission line books.

Only `commissions.services` calls these, in the transaction that changes the lines, so no caller can
change a line and forget its booking:

* accrue (a line is made): commission expense → the distributor's pending balance;
* reverse (refund or forfeit before settlement): back from pending to expense;
* clawback (refund after settlement): from the available balance, and what it cannot cover becomes a
  receivable against the distributor's future earnings (available never goes below zero);
* settle (a run settles due lines): pending → available, repaying any receivable first;
* forfeit (the merchant takes back a blacklisted distributor's available balance): available → expense.

References come from immutable ids (the line and its running total, the run and the distributor), so a
replay books nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger import services as ledger
from ledger.models import Account, LedgerTransaction
from ledger.services import DISTRIBUTOR, MERCHANT, Txn

A = Account.Kind
K = LedgerTransaction.Kind


@dataclass(frozen=True)
class LineChange:
    """A change in what a line is worth, for the ledger: `delta` minor units (negative = taken back)."""

    line_id: int
    beneficiary_id: int
    kind: str  # accrue | reverse | clawback
    delta: int
    total: int  # the line's amount, reversed amount or clawed-back amount after this change


def book_line_changes(*, merchant_id: int, currency: str, changes: Sequence[LineChange]) -> None:
    """Book accruals, reversals and clawbacks, in the caller's transaction."""
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


def book_settlement(*, merchant_id: int, currency: str, run_id: int, settled: dict[int, int]) -> dict[int, int]:
    """One transaction per distributor: what settled (`settled`: distributor → net amount) leaves pending;
    it repays the distributor's receivable first, the rest becomes available. Returns what repaid each
    receivable (distributor → amount)."""
    keys = {(DISTRIBUTOR, d, kind) for d in settled for kind in (A.PENDING, A.AVAILABLE, A.RECEIVABLE)}
    accounts = ledger.locked_accounts(merchant_id, currency, keys)
    repaid = {d: min(amount, accounts[(DISTRIBUTOR, d, A.RECEIVABLE)][1]) for d, amount in settled.items()}
    txns = []
    for distributor_id, amount in settled.items():
        repay = repaid[distributor_id]
        txn = Txn(f"run:{run_id}:d:{distributor_id}", K.SETTLE)
        txn.debit(DISTRIBUTOR, distributor_id, A.PENDING, amount)
        if amount - repay:
            txn.credit(DISTRIBUTOR, distributor_id, A.AVAILABLE, amount - repay)
        if repay:
            txn.credit(DISTRIBUTOR, distributor_id, A.RECEIVABLE, repay)
        txns.append(txn)
    ledger.post(merchant_id, currency, txns, account_ids={k: v[0] for k, v in accounts.items()})
    return repaid


def book_forfeit(*, merchant_id: int, currency: str, distributor_id: int, reference_id: int, amount: int) -> None:
    """The distributor's available balance goes back to the merchant."""
    if not amount:
        return
    ledger.post(
        merchant_id,
        currency,
        [
            Txn(f"forfeit:d{distributor_id}:{reference_id}", K.FORFEIT)
            .debit(DISTRIBUTOR, distributor_id, A.AVAILABLE, amount)
            .credit(MERCHANT, merchant_id, A.COMMISSION_EXPENSE, amount)
        ],
    )
