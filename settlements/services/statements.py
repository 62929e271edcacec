"""Monthly statements (对账单): what a distributor was owed at the start of a month, what changed and why,
and what they are owed at the end — all from the ledger's postings, so it always adds up. The month's paid
withdrawals are shown gross, less fees and tax, and net (what reached the distributor)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Sum

from distribution.inputs import parse_month
from distribution.money import format_amount
from ledger.models import Account, LedgerTransaction, Posting
from merchants.models import Merchant
from settlements.models import Withdrawal

OWED_KINDS = ("pending", "available", "withdrawing", "receivable")


@dataclass(frozen=True)
class Statement:
    month: str
    currency: str
    opening_balance: int
    earned: int
    reversed: int
    clawed_back: int
    withdrawn: int
    fees: int
    tax: int
    closing_balance: int
    withdrawals_gross: int  # the paid withdrawals' amounts: withdrawals_net + fees + tax
    withdrawals_net: int  # what they paid the distributor

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)


def month_bounds(merchant: Merchant, month: str) -> tuple[datetime, datetime]:
    year, number = parse_month(month)
    start = datetime(year, number, 1, tzinfo=merchant.tz)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=merchant.tz)
    return start, end


def _owed_at(merchant: Merchant, distributor_id: int, at: datetime) -> int:
    """pending + available + withdrawing − receivable at `at`: minus the sum of raw postings on them."""
    raw = (
        Posting.objects.for_merchant(merchant)
        .filter(
            account__owner_kind="distributor",
            account__owner_id=distributor_id,
            account__kind__in=OWED_KINDS,
            currency=merchant.currency,
            created_at__lt=at,
        )
        .aggregate(s=Sum("amount"))["s"]
        or 0
    )
    return -raw


def statement_for(merchant: Merchant, distributor_id: int, month: str) -> Statement:
    start, end = month_bounds(merchant, month)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT t.kind, -sum(p.amount) FROM {Posting._meta.db_table} p
                  JOIN {Account._meta.db_table} a ON a.id = p.account_id
                  JOIN {LedgerTransaction._meta.db_table} t ON t.id = p.transaction_id
                 WHERE p.merchant_id = %s AND a.owner_kind = 'distributor' AND a.owner_id = %s
                   AND a.kind = ANY(%s) AND p.currency = %s AND p.created_at >= %s AND p.created_at < %s
                 GROUP BY t.kind""",  # noqa: S608
            [merchant.pk, distributor_id, list(OWED_KINDS), merchant.currency, start, end],
        )
        by_kind = dict(cursor.fetchall())
    paid = (
        Withdrawal.objects.for_merchant(merchant)
        .filter(
            distributor_id=distributor_id,
            status=Withdrawal.Status.PAID,
            finished_at__gte=start,
            finished_at__lt=end,
        )
        .aggregate(fee=Sum("fee"), tax=Sum("tax"), gross=Sum("amount"), net=Sum("net_amount"))
    )
    fees, tax = paid["fee"] or 0, paid["tax"] or 0
    K = LedgerTransaction.Kind
    withdrawn = -by_kind.get(K.WITHDRAWAL_PAID, 0) - fees - tax - by_kind.get(K.SPLIT_PAID, 0)
    statement = Statement(
        month=month,
        currency=merchant.currency,
        opening_balance=_owed_at(merchant, distributor_id, start),
        earned=by_kind.get(K.ACCRUE, 0),
        reversed=-by_kind.get(K.REVERSE, 0),
        clawed_back=-by_kind.get(K.CLAWBACK, 0),
        withdrawn=withdrawn,
        fees=fees,
        tax=tax,
        closing_balance=_owed_at(merchant, distributor_id, end),
        withdrawals_gross=paid["gross"] or 0,
        withdrawals_net=paid["net"] or 0,
    )
    movements = statement.earned - statement.reversed - statement.clawed_back - withdrawn - fees - tax
    assert statement.opening_balance + movements == statement.closing_balance, statement  # the books balance
    return statement


STATEMENT_COLUMNS = ["month", "currency", "item", "amount"]
STATEMENT_ITEMS = (
    "opening_balance",
    "earned",
    "reversed",
    "clawed_back",
    "withdrawn",
    "fees",
    "tax",
    "closing_balance",
    "withdrawals_gross",
    "withdrawals_net",
)


def statement_rows(statement: Statement) -> list[list[str]]:
    """The statement as rows under STATEMENT_COLUMNS, for a CSV or XLSX file."""
    return [
        [statement.month, statement.currency, item, format_amount(getattr(statement, item), statement.currency)]
        for item in STATEMENT_ITEMS
    ]
