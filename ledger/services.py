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

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Sum

from ledger.models import Account, LedgerTransaction, Posting

A = Account.Kind
DISTRIBUTOR, MERCHANT = Account.OwnerKind.DISTRIBUTOR, Account.OwnerKind.MERCHANT

AccountKey = tuple[str, int, str]  # (owner_kind, owner_id, kind)


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


def locked_accounts(merchant_id: int, currency: str, keys: Set[AccountKey]) -> dict[AccountKey, tuple[int, int]]:
    """{(owner_kind, owner_id, kind): (account id, balance)}, creating missing accounts. Projected
    (distributor) accounts come locked, in id order, for the rest of the transaction."""
    if not keys:
        return {}
    found = _select_accounts(merchant_id, currency, keys)
    missing = keys - found.keys()
    if missing:
        owner_kinds, owner_ids, kinds = zip(*sorted(missing), strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {Account._meta.db_table} (merchant_id, owner_kind, owner_id, kind, currency, balance,
                                                      updated_at)
                SELECT %s, o, i, k, %s, 0, now() FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS x(o, i, k)
                ON CONFLICT (merchant_id, owner_kind, owner_id, kind, currency) DO NOTHING
                """,  # noqa: S608
                [merchant_id, currency, list(owner_kinds), list(owner_ids), list(kinds)],
            )
        found.update(_select_accounts(merchant_id, currency, missing))
    return found


def _select_accounts(merchant_id: int, currency: str, keys: Set[AccountKey]) -> dict[AccountKey, tuple[int, int]]:
    """One statement: the distributor accounts locked in id order (a CTE), the merchant's not locked."""
    unknown = {k[0] for k in keys} - {DISTRIBUTOR, MERCHANT}
    if unknown:
        raise ValueError(f"unknown owner kinds {sorted(unknown)}")

    def ids_and_kinds(owner_kind: str) -> tuple[list[int], list[str]]:
        wanted = [k for k in keys if k[0] == owner_kind]
        return sorted({k[1] for k in wanted}), sorted({k[2] for k in wanted})

    (d_ids, d_kinds), (m_ids, m_kinds) = ids_and_kinds(DISTRIBUTOR), ids_and_kinds(MERCHANT)
    table = Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH locked AS MATERIALIZED (
                SELECT id, owner_kind, owner_id, kind, balance FROM {table}
                 WHERE merchant_id = %(m)s AND currency = %(cur)s AND owner_kind = %(d)s
                   AND owner_id = ANY(%(d_ids)s::bigint[]) AND kind = ANY(%(d_kinds)s::text[])
                 ORDER BY id FOR UPDATE)
            SELECT id, owner_kind, owner_id, kind, balance FROM locked
            UNION ALL
            SELECT id, owner_kind, owner_id, kind, balance FROM {table}
             WHERE merchant_id = %(m)s AND currency = %(cur)s AND owner_kind = %(mk)s
               AND owner_id = ANY(%(m_ids)s::bigint[]) AND kind = ANY(%(m_kinds)s::text[])
            """,  # noqa: S608
            {
                "m": merchant_id,
                "cur": currency,
                "d": DISTRIBUTOR,
                "d_ids": d_ids,
                "d_kinds": d_kinds,
                "mk": MERCHANT,
                "m_ids": m_ids,
                "m_kinds": m_kinds,
            },
        )
        rows = cursor.fetchall()
    return {
        (owner_kind, owner_id, kind): (account_id, balance)
        for account_id, owner_kind, owner_id, kind, balance in rows
        if (owner_kind, owner_id, kind) in keys
    }


def accounts_for(merchant_id: int, currency: str, keys: Set[AccountKey]) -> dict[AccountKey, int]:
    """{(owner_kind, owner_id, kind): account id}; see `locked_accounts`."""
    return {key: value[0] for key, value in locked_accounts(merchant_id, currency, keys).items()}


def post(
    merchant_id: int, currency: str, txns: list[Txn], *, account_ids: Mapping[AccountKey, int] | None = None
) -> int:
    """Write `txns` (skipping references already posted); returns how many were new. `account_ids`
    (from `accounts_for`, already locked) saves looking the accounts up again."""
    txns = [t for t in txns if t.legs]
    if not txns:
        return 0
    for t in txns:
        if sum(leg.amount for leg in t.legs) != 0:
            raise ValueError(f"transaction {t.reference} does not balance")
    keys = {(leg.owner_kind, leg.owner_id, leg.kind) for t in txns for leg in t.legs}
    ids = (
        account_ids
        if account_ids is not None and keys <= account_ids.keys()
        else accounts_for(merchant_id, currency, keys)
    )
    refs, kinds, leg_txns, leg_accounts, leg_amounts = [], [], [], [], []
    for number, t in enumerate(txns, start=1):
        refs.append(t.reference)
        kinds.append(t.kind)
        for leg in t.legs:
            leg_txns.append(number)
            leg_accounts.append(ids[(leg.owner_kind, leg.owner_id, leg.kind)])
            leg_amounts.append(leg.amount)
    debit_normal = [k.value for k in Account.DEBIT_NORMAL]
    # Transaction ids are drawn up front, so postings need no join back to what the insert returned; a
    # reference that exists already inserts nothing, and its postings are left out.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH spec AS MATERIALIZED (
                SELECT nextval(pg_get_serial_sequence('{LedgerTransaction._meta.db_table}', 'id')) AS id,
                       r, k, n
                  FROM unnest(%(refs)s::text[], %(kinds)s::text[]) WITH ORDINALITY AS x(r, k, n)),
            t AS (
                INSERT INTO {LedgerTransaction._meta.db_table} (id, merchant_id, reference, kind, memo, created_at)
                SELECT id, %(m)s, r, k, '', now() FROM spec
                ON CONFLICT (merchant_id, reference) DO NOTHING
                RETURNING id),
            legs AS MATERIALIZED (
                SELECT spec.id AS transaction_id, l.account_id, l.amount
                  FROM unnest(%(ltxn)s::bigint[], %(lacc)s::bigint[], %(lamt)s::bigint[]) AS l(n, account_id, amount)
                  JOIN spec ON spec.n = l.n
                 WHERE spec.id IN (SELECT id FROM t)),
            p AS (
                INSERT INTO {Posting._meta.db_table}
                    (merchant_id, transaction_id, account_id, amount, currency, created_at)
                SELECT %(m)s, transaction_id, account_id, amount, %(cur)s, now() FROM legs),
            deltas AS (SELECT account_id, sum(amount) AS raw FROM legs GROUP BY 1),
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
                "ltxn": leg_txns,
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


BALANCE_KINDS = (A.PENDING, A.AVAILABLE, A.WITHDRAWING, A.PAID_OUT, A.RECEIVABLE)


def distributor_balances(merchant_id: int, distributor_id: int, currency: str) -> dict[str, int]:
    rows = (
        Account.objects.for_merchant(merchant_id)
        .filter(owner_kind=DISTRIBUTOR, owner_id=distributor_id, currency=currency)
        .values_list("kind", "balance")
    )
    out: dict[str, int] = dict.fromkeys(BALANCE_KINDS, 0)
    out.update(dict(rows))
    return out


def locked_balance(merchant_id: int, distributor_id: int, kind: str, currency: str) -> int:
    """A distributor account's balance, with its row locked until the end of the transaction."""
    key = (DISTRIBUTOR, distributor_id, kind)
    return locked_accounts(merchant_id, currency, {key})[key][1]
