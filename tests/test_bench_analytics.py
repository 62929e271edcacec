"""The analytics benchmark (B5) runs on a tiny merchant so that it cannot rot; no timing is asserted. Its
checks (ours and raw give the same rows and figures) are shown to catch a disagreement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db.models import Count, Sum

from analytics.models import DailyMerchant
from analytics.refresh import rebuild_merchant
from bench import analytics, fixtures, generate
from bench.common import meets_target, print_table, row
from orders.models import Order

TINY = generate.SCALES["tiny"]


@pytest.fixture
def merchant(transactional_db):
    return generate.generate(TINY, slug="bench-analytics-smoke")


def _year(merchant):
    today = analytics.merchant_today(merchant)
    return analytics.day_bounds(merchant, today - timedelta(days=364), today)


def test_the_rebuild_benchmark_leaves_every_order_of_the_year_on_its_pay_day(merchant):
    [result] = analytics.measure_rebuild(merchant)

    year = _year(merchant)
    orders = Order.objects.for_merchant(merchant).filter(paid_at__gte=year["start"], paid_at__lt=year["end"])
    assert result["scenario"] == f"rebuild a year of rollups ({orders.count():,} orders, 365 days)"
    assert result["ours"]["n"] == result["raw"]["n"] == 1 and result["ratio"] > 0
    days = DailyMerchant.objects.for_merchant(merchant)
    assert days.count() == 365  # an order every day of the generated year
    totals = days.aggregate(orders=Sum("orders"), gmv=Sum("gmv"), refunded=Sum("refunded"))
    assert totals == orders.aggregate(orders=Count("id"), gmv=Sum("goods_amount"), refunded=Sum("refunded_amount"))


def test_the_rebuild_benchmark_refuses_a_raw_statement_that_disagrees(merchant, monkeypatch):
    wrong = analytics.RAW_REBUILD.replace("coalesce(o.gmv, 0)", "coalesce(o.gmv, 0) + 1")
    assert wrong != analytics.RAW_REBUILD
    monkeypatch.setattr(analytics, "RAW_REBUILD", wrong)
    with pytest.raises(AssertionError, match="rebuild_merchant and the raw statement disagree"):
        analytics.measure_rebuild(merchant)


@pytest.mark.slow
def test_the_api_benchmark_reads_through_the_real_server_and_agrees_with_the_raw_statements(merchant):
    rebuild_merchant(merchant.pk)
    rows = analytics.measure_api(merchant, samples=2)  # asserts that each answer equals its raw statement's

    assert [(r["scenario"], r["target"], r["limits"]) for r in rows] == [
        ("API 365-day daily GMV series", 20.0, {"p95_ms": 100}),
        ("API 30-day top 20 distributors by GMV", None, {"p95_ms": 100}),
        ("API 30-day summary", None, {"p95_ms": 150}),
    ]
    assert all(r["ours"]["n"] == r["raw"]["n"] == 2 for r in rows)


def test_the_api_checks_catch_a_figure_that_differs():
    answer = {"points": [{"start": "2026-12-01", "value": "12.34"}, {"start": "2026-12-02", "value": "0.00"}]}
    rows = [{"day": date(2026, 12, 1), "distributed_gmv": 1234}, {"day": date(2026, 12, 2), "distributed_gmv": 0}]
    assert analytics._timeseries_agree(answer, rows) == []
    rows[1]["distributed_gmv"] = 1
    assert analytics._timeseries_agree(answer, rows) == [(("2026-12-02", 0), ("2026-12-02", 1))]
    assert analytics._timeseries_agree(answer, rows[:1]) == [("length", 2, 1)]

    cards = {metric: {"unit": "count", "value": 3, "previous": 2} for metric in analytics.SUMMARY_COLUMNS}
    by_hand = [
        {"period": "current", **dict.fromkeys(analytics.SUMMARY_COLUMNS.values(), 3)},
        {"period": "previous", **dict.fromkeys(analytics.SUMMARY_COLUMNS.values(), 2)},
    ]
    assert analytics._summary_agree({"metrics": cards}, by_hand) == []
    cards["gmv"] = {"unit": "money", "value": "0.03", "previous": "0.01"}
    assert analytics._summary_agree({"metrics": cards}, by_hand) == [("gmv", "previous", 1, 2)]


def test_each_order_lags_until_the_first_look_that_counts_it():
    # orders arrive at 10.0, 10.5 and 11.0; the rollups (baseline 100) count one at 10.8, three at 12.0
    seen = [(10.2, 100), (10.8, 101), (11.5, 101), (12.0, 103)]
    assert analytics.lags([10.5, 10.0, 11.0], seen, 100) == pytest.approx([0.8, 1.5, 1.0])
    assert analytics.lags([10.0, 10.5], seen[:2], 100) == [pytest.approx(0.8), None]


def test_rows_with_limits_and_without_a_raw_side_are_judged_and_printed(capsys):
    fast = row("fast", [0.010, 0.020], [0.500], target=20, limits={"p95_ms": 100})
    slow = row("slow", [0.010, 0.200], None, limits={"p95_ms": 100})
    assert (fast["ratio"], slow["ratio"], slow["raw"]) == (33.333, None, None)
    assert fast["ours"] == {
        "median_ms": 15.0,
        "p50_ms": 20.0,
        "p95_ms": 20.0,
        "p99_ms": 20.0,
        "max_ms": 20.0,
        "n": 2,
    }
    assert (meets_target(fast), meets_target(slow), meets_target(row("plain", [1.0], [1.0]))) == (True, False, None)
    print_table([fast, slow])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-3:] == ["≥20", "p95≤100ms", "ok"]
    assert lines[2].split()[-5:] == ["-", "-", "p95≤100ms", "below", "target"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_lag_benchmark_sees_every_order_of_the_run_counted_by_the_refresh_on_a_real_worker(tmp_path):
    fixture = fixtures.ingest_merchant(60, 50, 5, slug="bench-analytics-lag")
    rows = analytics.measure_lag(fixture, seconds=1, interval=0.5, log_dir=tmp_path)

    throughput, lag = rows
    assert throughput["scenario"] == "API order ingest with the rollup refresh running, 4 clients"
    assert throughput["target"] == 0.9 and throughput["ours"]["ok"] > 0 and throughput["raw"]["ok"] > 0
    assert lag["scenario"] == f"rollup lag, refresh every 0.5s ({throughput['ours']['ok']:,} orders)"
    assert lag["ours"]["n"] == throughput["ours"]["ok"] and lag["limits"] == {"max_ms": 120_000}
    assert 0 <= lag["ours"]["p50_ms"] <= lag["ours"]["max_ms"] and lag["ours"]["passes"] >= 1
    # the rollups count every order of the merchant (the warm-up, both runs), on its pay day
    orders = Order.objects.for_merchant(fixture.merchant_id)
    assert orders.count() == 20 + throughput["raw"]["ok"] + throughput["ours"]["ok"]
    counted = DailyMerchant.objects.for_merchant(fixture.merchant_id).aggregate(n=Sum("orders"))["n"]
    assert counted == orders.count()
