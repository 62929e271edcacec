"""The double-entry ledger: every movement of money is a balanced transaction of immutable postings.

* `post()` writes transactions set-based: one statement inserts the transactions (skipping any whose
  reference exists: posting twice is impossible), their postings and the balance projections.
* Distributors' balances are projections kept in step in the same transaction, with their rows locked
  in id order first; a database check keeps pending, available and withdrawing from going below zero.
* The merchant's own accounts (commission expense, fee income, tax) are not projected: every order
  touches them, so a projection would make one hot row that serialises all of a merchant's orders.
  Their balance is the sum of their postings, computed when read.
* A deferred constraint trigger refuses, at commit, any transaction whose postings do not sum to zero
  per currency; triggers refuse any UPDATE or DELETE of postings and transactions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Sum

from settlements.models import Account, LedgerTransaction, Posting

A = Account.Kind
DISTRIBUTOR, MERCHANT = Account.OwnerKind.DISTRIBUTOR, Account.OwnerKind.MERCHANT


@dataclass(frozen=True)
class Leg:
    owner_kind: str
    owner_id: int
    kind: str
    amount: int  # raw: debit positive, credit negative


@dataclass
class Txn:
    reference: str
    kind: str
    legs: list[Leg] = field(default_factory=list)

    def debit(self, owner_kind: str, owner_id: int, kind: str, amount: int) -> Txn:
        self.legs.append(Leg(owner_kind, owner_id, kind, amount))
        return self

    def credit(self, owner_kind: str, owner_id: int, kind: str, amount: int) -> Txn:
        self.legs.append(Leg(owner_kind, owner_id, kind, -amount))
        return self


def distributor(distributor_id: int) -> tuple[str, int]:
    return DISTRIBUTOR, distributor_id


def accounts_for(merchant_id: int, currency: str, keys: set[tuple[str, int, str]], *, lock: bool) -> dict:
    """{(owner_kind, owner_id, kind): account id}, creating missing accounts; projected (distributor)
    accounts are locked in id order when `lock`."""
    if not keys:
        return {}
    owner_kinds, owner_ids, kinds = zip(*sorted(keys), strict=True)
    table = Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (merchant_id, owner_kind, owner_id, kind, currency, balance, updated_at)
            SELECT %s, o, i, k, %s, 0, now() FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS x(o, i, k)
            ON CONFLICT (merchant_id, owner_kind, owner_id, kind, currency) DO NOTHING
            """,  # noqa: S608
            [merchant_id, currency, list(owner_kinds), list(owner_ids), list(kinds)],
        )
        cursor.execute(
            f"""
            SELECT a.id, a.owner_kind, a.owner_id, a.kind FROM {table} a
              JOIN unnest(%s::text[], %s::bigint[], %s::text[]) AS x(o, i, k)
                ON a.owner_kind = x.o AND a.owner_id = x.i AND a.kind = x.k
             WHERE a.merchant_id = %s AND a.currency = %s
             ORDER BY a.id
            """,  # noqa: S608
            [list(owner_kinds), list(owner_ids), list(kinds), merchant_id, currency],
        )
        rows = cursor.fetchall()
        projected = [r[0] for r in rows if r[1] == DISTRIBUTOR]
        if lock and projected:
            cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [projected])  # noqa: S608
    return {(r[1], r[2], r[3]): r[0] for r in rows}


def post(merchant_id: int, currency: str, txns: list[Txn]) -> int:
    """Write `txns` (skipping references already posted); returns how many were new."""
    txns = [t for t in txns if t.legs]
    if not txns:
        return 0
    for t in txns:
        if sum(leg.amount for leg in t.legs) != 0:
            raise ValueError(f"transaction {t.reference} does not balance")
    keys = {(leg.owner_kind, leg.owner_id, leg.kind) for t in txns for leg in t.legs}
    ids = accounts_for(merchant_id, currency, keys, lock=True)
    refs, kinds, leg_refs, leg_accounts, leg_amounts = [], [], [], [], []
    for t in txns:
        refs.append(t.reference)
        kinds.append(t.kind)
        for leg in t.legs:
            leg_refs.append(t.reference)
            leg_accounts.append(ids[(leg.owner_kind, leg.owner_id, leg.kind)])
            leg_amounts.append(leg.amount)
    debit_normal = [k.value for k in Account.DEBIT_NORMAL]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH t AS (
                INSERT INTO {LedgerTransaction._meta.db_table} (merchant_id, reference, kind, memo, created_at)
                SELECT %(m)s, r, k, '', now() FROM unnest(%(refs)s::text[], %(kinds)s::text[]) AS x(r, k)
                ON CONFLICT (merchant_id, reference) DO NOTHING
                RETURNING id, reference),
            legs AS (
                SELECT * FROM unnest(%(lref)s::text[], %(lacc)s::bigint[], %(lamt)s::bigint[])
                    AS l(ref, account_id, amount)),
            p AS (
                INSERT INTO {Posting._meta.db_table}
                    (merchant_id, transaction_id, account_id, amount, currency, created_at)
                SELECT %(m)s, t.id, legs.account_id, legs.amount, %(cur)s, now()
                  FROM t JOIN legs ON legs.ref = t.reference),
            deltas AS (
                SELECT legs.account_id, sum(legs.amount) AS raw FROM t JOIN legs ON legs.ref = t.reference GROUP BY 1),
            u AS (
                UPDATE {Account._meta.db_table} a
                   SET balance = a.balance + CASE WHEN a.kind = ANY(%(debit_normal)s) THEN d.raw ELSE -d.raw END,
                       updated_at = now()
                  FROM deltas d
                 WHERE a.id = d.account_id AND a.owner_kind = 'distributor')
            SELECT count(*) FROM t
            """,  # noqa: S608
            {
                "m": merchant_id,
                "refs": refs,
                "kinds": kinds,
                "lref": leg_refs,
                "lacc": leg_accounts,
                "lamt": leg_amounts,
                "cur": currency,
                "debit_normal": debit_normal,
            },
        )
        return cursor.fetchone()[0]


def balance(merchant_id: int, owner_kind: str, owner_id: int, kind: str, currency: str) -> int:
    """The shown balance of one account (0 if it does not exist); merchant accounts are summed."""
    account = (
        Account.objects.for_merchant(merchant_id)
        .filter(owner_kind=owner_kind, owner_id=owner_id, kind=kind, currency=currency)
        .first()
    )
    if account is None:
        return 0
    if owner_kind == DISTRIBUTOR:
        return account.balance
    raw = Posting.objects.for_merchant(merchant_id).filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
    return raw * Account.sign(kind)


def distributor_balances(merchant_id: int, distributor_id: int, currency: str) -> dict[str, int]:
    rows = (
        Account.objects.for_merchant(merchant_id)
        .filter(owner_kind=DISTRIBUTOR, owner_id=distributor_id, currency=currency)
        .values_list("kind", "balance")
    )
    out = {k: 0 for k in (A.PENDING, A.AVAILABLE, A.WITHDRAWING, A.PAID_OUT, A.RECEIVABLE)}
    out.update(dict(rows))
    return out


def locked_balance(merchant_id: int, distributor_id: int, kind: str, currency: str) -> int:
    """A distributor account's balance, with its row locked until the end of the transaction."""
    ids = accounts_for(merchant_id, currency, {(DISTRIBUTOR, distributor_id, kind)}, lock=True)
    return Account.objects.for_merchant(merchant_id).get(pk=ids[(DISTRIBUTOR, distributor_id, kind)]).balance


def group_by_beneficiary(changes) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for change in changes:
        grouped[change.beneficiary_id].append(change)
    return grouped
