"""The API order ingest benchmark runs (a real gunicorn and pgbench, about a second per client count) so
that it cannot rot; no timing is asserted."""

import pytest
from django.db import connection
from django.db.models import F

from bench import fixtures, ingest, server
from commissions.models import CommissionLine
from ledger.checks import ledger_problems
from ledger.models import Account
from orders.models import Order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _scalar(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_ingest_benchmark_creates_exactly_the_orders_it_reports_with_two_depths_and_a_clean_ledger(
    monkeypatch, tmp_path
):
    cleaned = []
    delete_keys = server.delete_redis_keys
    monkeypatch.setattr(server, "delete_redis_keys", lambda token: cleaned.append(token) or delete_keys(token))

    fixture = fixtures.ingest_merchant(60, 50, 5, slug="bench-ingest-smoke")
    assert fixture.rates == (1000, 500) and len(fixture.skus) == 5
    assert fixtures.ingest_merchant(60, 50, 5, slug="bench-ingest-smoke") == fixture  # reused, nothing added
    orders = Order.objects.for_merchant(fixture.merchant_id)

    rows = ingest.measure(fixture, seconds=1, clients=(1, 4), warmup=4, log_path=tmp_path / "server.log")

    assert [r["scenario"] for r in rows] == [
        "API order ingest, 1 client (orders/s)",
        "API order ingest, 4 clients (orders/s)",
    ]
    assert [r["target"] for r in rows] == [None, 0.35]
    for r in rows:
        assert r["ours"]["ok"] > 0 and r["ours"]["failed"] == 0 and r["ours"]["per_s"] > 0
        assert r["ours"]["p50_ms"] <= r["ours"]["p95_ms"] <= r["ours"]["p99_ms"]
        assert r["raw"]["transactions"] > 0 and r["raw"]["tps"] > 0 and r["raw"]["latency_avg_ms"] > 0
        assert r["ratio"] == round(r["ours"]["per_s"] / r["raw"]["per_s"], 3)

    # ours: every 201 (and the warm-up) is one order, attributed through the binding
    created = sum(r["ours"]["ok"] for r in rows) + rows[0]["ours"]["warmup"]
    ours = orders.filter(external_id__startswith="o-")
    assert ours.count() == created
    assert ours.filter(attribution="binding", distributor__isnull=False).count() == created
    # raw: one order per pgbench transaction, on the same tables
    raw = orders.filter(external_id__startswith="raw-")
    assert raw.count() == sum(r["raw"]["transactions"] for r in rows)

    # both: two depths per item, the seller then the seller's inviter, one balanced accrual per line
    lines = CommissionLine.objects.for_merchant(fixture.merchant_id)
    for external_id in ("o-", "raw-"):
        mine = lines.filter(order__external_id__startswith=external_id)
        items = _scalar(
            "SELECT count(*) FROM orders_orderitem i JOIN orders_order o ON o.id = i.order_id "
            "WHERE o.merchant_id = %s AND o.external_id LIKE %s",
            [fixture.merchant_id, external_id + "%"],
        )
        assert mine.filter(depth=1).count() == mine.filter(depth=2).count() == items > 0
        assert not mine.filter(depth=1).exclude(beneficiary_id=F("order__distributor_id")).exists()
    assert (
        _scalar(
            """SELECT count(*) FROM commissions_commissionline l
                WHERE l.merchant_id = %s AND l.depth = 2
                  AND l.beneficiary_id <> (SELECT d.inviter_id FROM distributors_distributor d
                                            WHERE d.id = (SELECT o.distributor_id FROM orders_order o
                                                           WHERE o.id = l.order_id))""",
            [fixture.merchant_id],
        )
        == 0
    )
    assert (
        _scalar(
            """SELECT count(*) FROM commissions_commissionline l
                WHERE l.merchant_id = %s AND NOT EXISTS (
                    SELECT 1 FROM settlements_ledgertransaction t
                      JOIN settlements_posting p ON p.merchant_id = t.merchant_id AND p.transaction_id = t.id
                     WHERE t.merchant_id = l.merchant_id AND t.reference = 'line:' || l.id || ':accrue'
                     GROUP BY t.id HAVING sum(p.amount) = 0 AND count(*) = 2 AND max(p.amount) = l.amount)""",
            [fixture.merchant_id],
        )
        == 0
    )
    pending = Account.objects.for_merchant(fixture.merchant_id).filter(owner_kind="distributor", kind="pending")
    assert sum(pending.values_list("balance", flat=True)) == sum(lines.values_list("amount", flat=True)) > 0
    assert ledger_problems(fixture.merchant_id) == []
    assert ingest.check(fixture) == {"items_without_two_depths": 0, "ledger_problems": 0}

    # the server's Redis keys are gone, and its API key is revoked
    assert len(cleaned) == 1
    import redis
    from django.conf import settings

    assert not list(redis.Redis.from_url(settings.REDIS_URL).scan_iter(match=f"*{cleaned[0]}*"))
    from merchants.models import MerchantAPIKey

    assert not MerchantAPIKey.objects.for_merchant(fixture.merchant_id).filter(revoked=False).exists()
