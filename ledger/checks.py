"""The ledger's invariants, checked from scratch (manage.py check_ledger, and daily by beat)."""

from __future__ import annotations

from django.db import connection

from ledger.models import Account, LedgerTransaction, Posting

POSTINGS, TXNS, ACCOUNTS = Posting._meta.db_table, LedgerTransaction._meta.db_table, Account._meta.db_table


def _rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def ledger_problems(merchant_id: int | None = None) -> list[str]:
    """Every violation found: unbalanced or one-legged transactions, projections that differ from their
    postings, spendable balances below zero, postings in a currency that is not their account's."""
    scope = "" if merchant_id is None else f" AND {{alias}}.merchant_id = {int(merchant_id)}"
    problems = []
    for txn_id, reference, currency, total in _rows(
        f"""SELECT t.id, t.reference, p.currency, sum(p.amount) FROM {TXNS} t
              JOIN {POSTINGS} p ON p.merchant_id = t.merchant_id AND p.transaction_id = t.id
             WHERE true {scope.format(alias="t")}
             GROUP BY t.id, t.reference, p.currency HAVING sum(p.amount) <> 0"""  # noqa: S608
    ):
        problems.append(f"transaction {txn_id} ({reference}) does not balance in {currency}: {total}")
    for txn_id, reference, legs in _rows(
        f"""SELECT t.id, t.reference, count(p.id) FROM {TXNS} t LEFT JOIN {POSTINGS} p
                ON p.merchant_id = t.merchant_id AND p.transaction_id = t.id
             WHERE true {scope.format(alias="t")} GROUP BY t.id, t.reference HAVING count(p.id) < 2"""  # noqa: S608
    ):
        problems.append(f"transaction {txn_id} ({reference}) has {legs} postings")
    for account_id, owner, kind, shown, expected in _rows(
        f"""SELECT a.id, a.owner_id, a.kind, a.balance,
                   coalesce(sum(p.amount), 0) * CASE WHEN a.kind IN ('receivable', 'commission_expense') THEN 1
                                                      ELSE -1 END
              FROM {ACCOUNTS} a LEFT JOIN {POSTINGS} p ON p.account_id = a.id
             WHERE a.owner_kind = 'distributor' {scope.format(alias="a")}
             GROUP BY a.id HAVING a.balance <> coalesce(sum(p.amount), 0)
                   * CASE WHEN a.kind IN ('receivable', 'commission_expense') THEN 1 ELSE -1 END"""  # noqa: S608
    ):
        problems.append(f"account {account_id} (distributor {owner} {kind}) shows {shown}, postings say {expected}")
    for account_id, owner, kind, shown in _rows(
        f"""SELECT a.id, a.owner_id, a.kind, a.balance FROM {ACCOUNTS} a
             WHERE a.kind IN ('pending', 'available', 'withdrawing') AND a.balance < 0 {scope.format(alias="a")}"""  # noqa: S608
    ):
        problems.append(f"account {account_id} (distributor {owner} {kind}) is negative: {shown}")
    for posting_id, currency, account_currency in _rows(
        f"""SELECT p.id, p.currency, a.currency FROM {POSTINGS} p JOIN {ACCOUNTS} a ON a.id = p.account_id
             WHERE p.currency <> a.currency {scope.format(alias="p")}"""  # noqa: S608
    ):
        problems.append(f"posting {posting_id} is in {currency} on a {account_currency} account")
    return problems
