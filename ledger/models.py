"""The double-entry ledger: accounts, balanced transactions and their immutable postings."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from distribution.tenancy import TenantModel


class Account(TenantModel):
    """One balance of one owner in one currency. `balance` is a projection of the postings, kept in step
    in the same transaction and checked by `manage.py check_ledger`.

    Postings are signed raw amounts (debit +, credit −). `balance` is shown on the account's normal side:
    for credit-normal kinds (what we owe: pending, available, withdrawing, paid out, fee income, tax)
    it is minus the sum of postings; for debit-normal kinds (receivable, commission expense) the sum.
    """

    class OwnerKind(models.TextChoices):
        DISTRIBUTOR = "distributor"
        MERCHANT = "merchant"

    class Kind(models.TextChoices):
        PENDING = "pending", "Pending (held until the after-sales window ends)"
        AVAILABLE = "available", "Available to withdraw"
        WITHDRAWING = "withdrawing", "Reserved by a withdrawal or a split in progress"
        PAID_OUT = "paid_out", "Paid out to the distributor (cumulative)"
        RECEIVABLE = "receivable", "Owed back by the distributor (clawbacks beyond the available balance)"
        COMMISSION_EXPENSE = "commission_expense"
        FEE_INCOME = "fee_income", "Withdrawal fees"
        TAX_PAYABLE = "tax_payable", "Tax withheld at payout"

    DEBIT_NORMAL = frozenset({Kind.RECEIVABLE, Kind.COMMISSION_EXPENSE})
    NEVER_NEGATIVE = (Kind.PENDING, Kind.AVAILABLE, Kind.WITHDRAWING)

    owner_kind = models.CharField(max_length=12, choices=OwnerKind.choices)
    owner_id = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "settlements_account"  # moved from `settlements`; the table keeps its name
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "owner_kind", "owner_id", "kind", "currency"], name="account_unique"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["pending", "available", "withdrawing"]) | Q(balance__gte=0),
                name="account_spendable_never_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_kind}:{self.owner_id}:{self.kind} {self.balance} {self.currency}"

    @classmethod
    def sign(cls, kind: str) -> int:
        """+1 if a debit raises the shown balance, −1 if a credit does."""
        return 1 if kind in cls.DEBIT_NORMAL else -1


class LedgerTransaction(TenantModel):
    """A balanced set of postings with a unique reference built from immutable ids
    (`line:17:accrue`, `run:3:d:42`, `withdrawal:9:reserve`): posting the same thing twice is impossible."""

    class Kind(models.TextChoices):
        ACCRUE = "accrue"
        REVERSE = "reverse"
        SETTLE = "settle"
        CLAWBACK = "clawback"
        WITHDRAWAL_RESERVE = "withdrawal_reserve"
        WITHDRAWAL_PAID = "withdrawal_paid"
        WITHDRAWAL_RETURN = "withdrawal_return"
        SPLIT_RESERVE = "split_reserve"
        SPLIT_PAID = "split_paid"
        SPLIT_RETURN = "split_return"
        FORFEIT = "forfeit"

    reference = models.CharField(max_length=120)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "settlements_ledgertransaction"  # moved from `settlements`; the table keeps its name
        constraints = [models.UniqueConstraint(fields=["merchant", "reference"], name="ledgertxn_unique_reference")]
        indexes = [models.Index(fields=["merchant", "created_at"], name="ledgertxn_created")]

    def __str__(self) -> str:
        return self.reference


class Posting(TenantModel):
    """One leg of a transaction. Never updated or deleted (database triggers refuse it)."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="postings", db_index=False
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount = models.BigIntegerField(help_text="Signed: debit positive, credit negative.")
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "settlements_posting"  # moved from `settlements`; the table keeps its name
        indexes = [
            models.Index(fields=["merchant", "transaction"], name="posting_transaction"),
            models.Index(fields=["account", "id"], name="posting_account"),
        ]
