"""The benchmarks run (on a tiny network) so that they cannot rot; no timing is asserted."""

import pytest

from bench import fixtures, network, settlement
from commissions.models import CommissionLine
from distributors.models import Distributor

pytestmark = pytest.mark.django_db


def test_network_benchmark_generates_a_consistent_tree_and_measures_every_scenario():
    merchant = fixtures.distributor_tree(300, slug="bench-smoke")
    rows = list(Distributor.objects.for_merchant(merchant).order_by("id"))
    assert len(rows) == 300 and rows[0].inviter_id is None and rows[0].ancestor_ids == []
    by_id = {d.pk: d for d in rows}
    for d in rows[1:]:
        inviter = by_id[d.inviter_id]
        assert inviter.pk < d.pk
        assert d.ancestor_ids == [*inviter.ancestor_ids, inviter.pk] and d.depth == inviter.depth + 1
    results = network.measure(merchant, samples=5)
    assert [r["scenario"].strip().split(",")[0] for r in results][:2] == ["upline", "reference: recursive CTE upline"]
    assert all(r["ours"]["n"] >= 5 and r["raw"]["median_ms"] > 0 for r in results)


@pytest.mark.django_db(transaction=True)
def test_settlement_benchmark_settles_both_merchants_exactly():
    ours = settlement.generate("bench-smoke-ours", 300, 40)
    raw = settlement.generate("bench-smoke-raw", 300, 40)
    assert CommissionLine.objects.for_merchant(ours).filter(status="confirmed").count() == 330
    [row] = settlement.measure(ours, raw)
    assert row["scenario"].startswith("settle 300 due lines")
    for merchant_id in (ours, raw):
        lines = CommissionLine.objects.for_merchant(merchant_id)
        assert lines.filter(status="settled").count() == 300 and lines.filter(status="confirmed").count() == 30


@pytest.mark.django_db(transaction=True)
def test_a_settlement_benchmark_run_cleans_up_after_itself():
    from merchants.models import Merchant

    [row] = settlement.run("tiny")
    assert row["scenario"].startswith("settle 300 due lines") and row["target"] == 0.65
    assert not Merchant.objects.filter(slug__startswith="bench-settle-").exists()
    assert not CommissionLine.objects.unscoped().exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_network_api_benchmark_reads_through_the_real_server():
    merchant = fixtures.distributor_tree(200, slug="bench-smoke-api")
    rows = network.measure_api(merchant, samples=5)
    assert [r["target"] for r in rows] == [0.10, None]
    assert rows[1]["scenario"] == "API distributor detail of the root (199 in team)"
    assert all(r["ours"]["n"] >= 5 and r["raw"]["n"] >= 5 for r in rows)
