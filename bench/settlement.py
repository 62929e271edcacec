"""Settling due commission: the product's settlement run next to one hand-written SQL statement.

    .venv/bin/python bench/settlement.py [--lines 1000000] [--distributors 100000]

Two merchants get the same generated data (in <DATABASE_URL db>_bench): a random recursive tree of
distributors, orders of one item each, two commission lines per item (the seller's and their inviter's),
`--lines` of them due (confirmed, unlocked) plus 10% not yet due, every line accrued in the ledger
(a transaction and two postings each) so that pending balances are real. Then:

* ours: `settlement_request` + `settlement_execute` on the first merchant: chunks of 1,000
  beneficiaries, each committed with its lines, ledger transactions (one per beneficiary), postings and
  balance projections, and the run's progress;
* raw: one statement on the second merchant doing the same state change (lines → settled), the same
  ledger transactions and postings, and the same balance updates, in a single transaction (a hand-written
  bulk settlement).

Both end with `check_ledger` on their merchant, so the figures are for work that is correct.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from unittest import mock

import psycopg
from django.db import connection, transaction
from django.utils import timezone

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import owner_analyze, owner_connect, report, row, setup_django
from bench.fixtures import distributor_tree

RAW_SETTLE = """
WITH m AS (
    UPDATE commissions_commissionline l
       SET status = 'settled', settled_at = now(), updated_at = now()
     WHERE l.merchant_id = %(m)s AND l.status = 'confirmed' AND l.kind = 'commission' AND l.unlock_at <= now()
    RETURNING l.beneficiary_id, l.amount - l.reversed_amount AS net),
per AS (SELECT beneficiary_id AS d, sum(net)::bigint AS s FROM m GROUP BY 1),
acc AS (
    SELECT per.d, per.s, p.id AS pending_id, a.id AS available_id,
           nextval('settlements_ledgertransaction_id_seq') AS txn_id
      FROM per
      JOIN settlements_account p ON p.merchant_id = %(m)s AND p.owner_kind = 'distributor' AND p.owner_id = per.d
                                AND p.kind = 'pending' AND p.currency = 'CNY'
      JOIN settlements_account a ON a.merchant_id = %(m)s AND a.owner_kind = 'distributor' AND a.owner_id = per.d
                                AND a.kind = 'available' AND a.currency = 'CNY'),
t AS (
    INSERT INTO settlements_ledgertransaction (id, merchant_id, reference, kind, memo, created_at)
    SELECT txn_id, %(m)s, 'raw:' || d, 'settle', '', now() FROM acc),
p AS (
    INSERT INTO settlements_posting (merchant_id, transaction_id, account_id, amount, currency, created_at)
    SELECT %(m)s, acc.txn_id, leg.account_id, leg.amount, 'CNY', now()
      FROM acc
     CROSS JOIN LATERAL (VALUES (acc.pending_id, acc.s), (acc.available_id, -acc.s)) AS leg(account_id, amount)),
u AS (
    UPDATE settlements_account x SET balance = x.balance + delta.amount, updated_at = now()
      FROM (SELECT pending_id AS id, -s AS amount FROM acc UNION ALL SELECT available_id, s FROM acc) delta
     WHERE x.id = delta.id)
SELECT count(*) FROM m
"""


def generate(slug: str, lines: int, distributors: int) -> int:
    """A merchant with `lines` due commission lines (+10% not yet due), accrued in the ledger."""
    from commissions.models import CommissionLine  # after setup_django(): app modules need Django's apps loaded

    merchant = distributor_tree(distributors, slug=slug)
    if CommissionLine.objects.for_merchant(merchant).count() >= lines:
        return merchant.pk
    orders = (lines * 11 // 10 + 1) // 2
    m = merchant.pk
    with transaction.atomic(), connection.cursor() as c:  # one transaction: the ledger checks at commit
        c.execute("SET statement_timeout = 0")
        c.execute("SELECT min(id), max(id) FROM distributors_distributor WHERE merchant_id = %s", [m])
        low, high = c.fetchone()
        c.execute(
            """INSERT INTO orders_product (merchant_id, external_id, title, price, kind, distribution_enabled,
                                           created_at, updated_at)
               VALUES (%s, 'bench', 'Bench product', 10000, 'physical', true, now(), now())
               ON CONFLICT DO NOTHING""",
            [m],
        )
        c.execute("SELECT id FROM orders_product WHERE merchant_id = %s AND external_id = 'bench'", [m])
        product = c.fetchone()[0]
        # sellers have an inviter (every distributor but the root does); amounts 10.00-999.99
        c.execute(
            """INSERT INTO orders_order (merchant_id, external_id, customer_external_id, share_code, kind, currency,
                   payment_transaction_id, status, goods_amount, shipping_amount, refunded_amount, distributor_id,
                   attribution, self_purchase, channel, province, city, fingerprint, paid_at, completed_at, created_at,
                   updated_at)
               SELECT %(m)s, 'b' || g, 'c' || g, '', 'normal', 'CNY', '', 'completed', 1000 + (g * 7919) %% 99000, 0,
                      0, %(low)s + 1 + (g * 2654435761) %% (%(high)s - %(low)s), 'binding', false, 'direct', '', '', '',
                      now() - interval '60 days', now() - interval '59 days', now(), now()
                 FROM generate_series(1::bigint, %(n)s) g""",
            {"m": m, "low": low, "high": high, "n": orders},
        )
        c.execute(
            """INSERT INTO orders_orderitem (merchant_id, order_id, line_id, product_id, quantity, unit_price, discount,
                   paid_amount, refunded_amount, refunded_quantity)
               SELECT merchant_id, id, '1', %s, 1, goods_amount, 0, goods_amount, 0, 0
                 FROM orders_order WHERE merchant_id = %s""",
            [product, m],
        )
        c.execute(
            """INSERT INTO commissions_commissionline (merchant_id, order_id, order_item_id, beneficiary_id, depth,
                   kind, status, currency, base_amount, rate_source, rate_mode, rate_value, uncapped_amount, amount,
                   reversed_amount, unlock_at, confirmed_at, created_at, updated_at)
               SELECT i.merchant_id, i.order_id, i.id, b.beneficiary, b.depth, 'commission', 'confirmed', 'CNY',
                      i.paid_amount, 'program_default', 'percent', b.bps, i.paid_amount * b.bps / 10000,
                      i.paid_amount * b.bps / 10000, 0,
                      CASE WHEN row_number() OVER (ORDER BY i.id, b.depth) <= %(due)s
                           THEN now() - interval '1 day' ELSE now() + interval '30 days' END,
                      now() - interval '59 days', now(), now()
                 FROM orders_orderitem i
                 JOIN orders_order o ON o.id = i.order_id
                 JOIN distributors_distributor d ON d.id = o.distributor_id
                 CROSS JOIN LATERAL (VALUES (1, d.id, 1000), (2, d.inviter_id, 500)) AS b(depth, beneficiary, bps)
                WHERE i.merchant_id = %(m)s AND b.beneficiary IS NOT NULL""",
            {"m": m, "due": lines},
        )
        # the ledger: an accrual per line, accounts, projections
        c.execute(
            """INSERT INTO settlements_account (merchant_id, owner_kind, owner_id, kind, currency, balance, updated_at)
               SELECT %(m)s, 'distributor', d.id, k.kind, 'CNY', 0, now()
                 FROM distributors_distributor d CROSS JOIN (VALUES ('pending'), ('available'), ('receivable')) k(kind)
                WHERE d.merchant_id = %(m)s
               UNION ALL SELECT %(m)s, 'merchant', %(m)s, 'commission_expense', 'CNY', 0, now()
               ON CONFLICT DO NOTHING""",
            {"m": m},
        )
        c.execute(
            """CREATE TEMP TABLE bench_accrual ON COMMIT DROP AS
               WITH t AS (
                   INSERT INTO settlements_ledgertransaction (merchant_id, reference, kind, memo, created_at)
                   SELECT %(m)s, 'line:' || id || ':accrue', 'accrue', '', now()
                     FROM commissions_commissionline WHERE merchant_id = %(m)s
                   RETURNING id, reference)
               SELECT t.id AS txn_id, split_part(t.reference, ':', 2)::bigint AS line_id FROM t""",
            {"m": m},
        )
        c.execute(
            """CREATE TEMP TABLE bench_pending ON COMMIT DROP AS
               SELECT owner_id AS distributor_id, id AS account_id FROM settlements_account
                WHERE merchant_id = %(m)s AND owner_kind = 'distributor' AND kind = 'pending'""",
            {"m": m},
        )
        c.execute("ANALYZE bench_accrual")
        c.execute("ANALYZE bench_pending")
        c.execute(
            """INSERT INTO settlements_posting (merchant_id, transaction_id, account_id, amount, currency, created_at)
               SELECT %(m)s, x.txn_id, leg.account_id, leg.amount, 'CNY', now()
                 FROM bench_accrual x
                 JOIN commissions_commissionline l ON l.id = x.line_id
                 JOIN bench_pending p ON p.distributor_id = l.beneficiary_id
                CROSS JOIN (SELECT id FROM settlements_account WHERE merchant_id = %(m)s AND owner_kind = 'merchant'
                               AND kind = 'commission_expense') e
                CROSS JOIN LATERAL (VALUES (e.id, l.amount), (p.account_id, -l.amount)) AS leg(account_id, amount)""",
            {"m": m},
        )
        c.execute(
            """UPDATE settlements_account a SET balance = s.total
                 FROM (SELECT p.account_id, sum(l.amount) AS total FROM commissions_commissionline l
                         JOIN bench_pending p ON p.distributor_id = l.beneficiary_id
                        WHERE l.merchant_id = %(m)s GROUP BY 1) s
                WHERE a.id = s.account_id""",
            {"m": m},
        )
    owner_analyze(
        "commissions_commissionline",
        "settlements_posting",
        "settlements_ledgertransaction",
        "settlements_account",
        "orders_order",
        "orders_orderitem",
    )
    return merchant.pk


def measure(ours_id: int, raw_id: int) -> list[dict]:
    # after setup_django(): app modules need Django's apps loaded
    from commissions.models import CommissionLine
    from distribution import outbox, rls
    from distribution.auth import Actor
    from ledger.checks import ledger_problems
    from merchants.models import Merchant
    from settlements.services import runs

    due = CommissionLine.objects.for_merchant(ours_id).filter(status="confirmed", unlock_at__lte=timezone.now()).count()
    start = time.perf_counter()
    # as the settlement worker runs it: the application's role, in the merchant's row-level-security context
    with rls.merchant(ours_id):
        with mock.patch.object(outbox, "publish"):  # run it here, in this process, and time it
            run = runs.settlement_request(merchant=Merchant.objects.get(pk=ours_id), actor=Actor.system("bench"))
        run = runs.settlement_execute(run.pk)
    ours = time.perf_counter() - start
    assert run.status == "completed" and run.lines_done == due, (run.status, run.lines_done, due)
    with owner_connect() as conn:  # by hand, as the tables' owner: no policies
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as c:  # one transaction, committed (the ledger checks then)
            c.execute("SET LOCAL statement_timeout = 0")
            c.execute(RAW_SETTLE, {"m": raw_id})
            raw_lines = c.fetchone()[0]
        raw = time.perf_counter() - start
    assert raw_lines == due, (raw_lines, due)
    for merchant_id in (ours_id, raw_id):
        problems = ledger_problems(merchant_id)
        assert not problems, problems[:5]
    return [row(f"settle {due:,} due lines ({run.distributors_done:,} distributors)", [ours], [raw], target=0.65)]


SIZES = {"tiny": (300, 40), "small": (50_000, 5_000), "full": (1_000_000, 100_000), "huge": (1_000_000, 100_000)}


def run(scale: str = "small") -> list[dict]:
    """Fresh twin merchants each time: a run settles what it measures."""
    lines, distributors = SIZES[scale]
    tag = f"{lines}-{distributors}-{int(time.time())}"
    ours = generate(f"bench-settle-ours-{tag}", lines, distributors)
    raw = generate(f"bench-settle-raw-{tag}", lines, distributors)
    try:
        return measure(ours, raw)
    finally:
        drop_merchants([ours, raw])


def drop_merchants(merchant_ids: list[int]) -> None:
    """Remove what a run generated. The ledger's rows are immutable to the application, so this goes
    around its triggers as the owner (a superuser), which only a benchmark database may do."""
    try:
        _drop(merchant_ids)
    except psycopg.Error as exc:  # not a superuser: leave them (they are only disk space)
        print(f"could not drop the generated merchants {merchant_ids}: {exc}")


def _drop(merchant_ids: list[int]) -> None:
    with owner_connect() as conn:
        with conn.transaction(), conn.cursor() as c:
            c.execute("SET LOCAL session_replication_role = replica")  # no triggers: immutable postings, FKs
            c.execute(
                """SELECT table_name FROM information_schema.columns
                    WHERE column_name = 'merchant_id' AND table_schema = 'public'"""
            )
            for (table,) in c.fetchall():
                c.execute(f"DELETE FROM {table} WHERE merchant_id = ANY(%s)", [merchant_ids])
            c.execute("DELETE FROM merchants_merchant WHERE id = ANY(%s)", [merchant_ids])
        conn.autocommit = True  # clean up now, not under the next benchmark (autovacuum would)
        conn.execute("SET statement_timeout = 0")
        conn.execute(
            "VACUUM (ANALYZE) orders_order, orders_orderitem, commissions_commissionline, "
            "settlements_ledgertransaction, settlements_posting, settlements_account, distributors_distributor"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--distributors", type=int, default=100_000)
    args = parser.parse_args()

    setup_django()
    with connection.cursor() as c:
        c.execute("SET statement_timeout = 0")
    start = time.perf_counter()
    tag = f"{args.lines}-{args.distributors}-{int(time.time())}"
    ours = generate(f"bench-settle-ours-{tag}", args.lines, args.distributors)
    raw = generate(f"bench-settle-raw-{tag}", args.lines, args.distributors)
    print(f"data ready in {time.perf_counter() - start:.1f}s")
    report("settlement", measure(ours, raw), {"lines": args.lines, "distributors": args.distributors})


if __name__ == "__main__":
    main()
