"""GET /api/v1/analytics/timeseries and /funnel on the March shop (tests/builders/analytics.py)."""

from __future__ import annotations

import pytest

from tests.builders.analytics import RANGE, build_march
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(merchant, api):
    build_march(merchant)
    return api.staff(merchant)


def points(body):
    return [(p["start"], p["date_from"], p["date_to"], p["value"]) for p in body["points"]]


def test_daily_gmv_splits_at_midnight_shanghai_and_net_gmv_carries_later_refunds_on_the_pay_day(client):
    gmv = client.get("/api/v1/analytics/timeseries", {**RANGE, "metric": "gmv"}).json()
    assert (gmv["metric"], gmv["unit"], gmv["interval"], gmv["currency"]) == ("gmv", "money", "day", "CNY")
    assert points(gmv) == [
        ("2026-03-01", "2026-03-01", "2026-03-01", "100.00"),
        ("2026-03-02", "2026-03-02", "2026-03-02", "250.00"),
    ]
    net = client.get("/api/v1/analytics/timeseries", {**RANGE, "metric": "net_gmv"}).json()
    assert [p["value"] for p in net["points"]] == ["100.00", "190.00"]


def test_weeks_start_on_monday_and_empty_buckets_are_zero(client):
    body = client.get(
        "/api/v1/analytics/timeseries",
        {"metric": "orders", "interval": "week", "date_from": "2026-02-18", "date_to": "2026-03-03"},
    ).json()
    # 1 March 2026 is a Sunday: A (23:59:59 Sunday) and E are in the week of 23 February, B and D in the next
    assert points(body) == [
        ("2026-02-16", "2026-02-18", "2026-02-22", 0),
        ("2026-02-23", "2026-02-23", "2026-03-01", 2),
        ("2026-03-02", "2026-03-02", "2026-03-03", 2),
    ]


def test_buyers_per_month_are_distinct_customers_not_a_sum_of_days(client):
    body = client.get(
        "/api/v1/analytics/timeseries",
        {"metric": "buyers", "interval": "month", "date_from": "2026-01-15", "date_to": "2026-03-31"},
    ).json()
    # March: c1 bought on 1 and 2 March (A, D) and c2 on 2 March: two buyers (days would add up to three)
    assert points(body) == [
        ("2026-01-01", "2026-01-15", "2026-01-31", 0),
        ("2026-02-01", "2026-02-01", "2026-02-28", 1),
        ("2026-03-01", "2026-03-01", "2026-03-31", 2),
    ]
    days = client.get("/api/v1/analytics/timeseries", {**RANGE, "metric": "buyers"}).json()
    assert [p["value"] for p in days["points"]] == [1, 2]
    weeks = client.get(
        "/api/v1/analytics/timeseries",
        {"metric": "all_buyers", "interval": "week", "date_from": "2026-02-23", "date_to": "2026-03-08"},
    ).json()
    # week of 23 Feb: G, E, F (c5 twice), A → c5, c4, c1; week of 2 March: B, C, D → c2, c3, c1
    assert [p["value"] for p in weeks["points"]] == [3, 3]


def test_ratio_series_are_computed_per_bucket(client):
    body = client.get("/api/v1/analytics/timeseries", {**RANGE, "metric": "conversion"}).json()
    # 1 March: A over 2 visits; 2 March: B and D over 2 visits
    assert (body["unit"], [p["value"] for p in body["points"]]) == ("ratio", ["0.5000", "1.0000"])
    empty = client.get(
        "/api/v1/analytics/timeseries", {"metric": "aov_per_order", "date_from": "2026-02-26", "date_to": "2026-02-28"}
    ).json()
    assert [p["value"] for p in empty["points"]] == [None, None, "100.00"]


def test_a_metric_without_a_series_or_unknown_is_refused(client):
    for metric in ("returning_buyers", "nonsense"):
        error = assert_error(client.get("/api/v1/analytics/timeseries", {"metric": metric}), 400, "unknown_metric")
        assert "gmv" in error["fields"]["metric"][0]
    assert_error(client.get("/api/v1/analytics/timeseries", {"metric": "gmv", "interval": "year"}), 400, "invalid")


def test_the_funnel_goes_from_visits_to_orders_to_completed_orders(client):
    body = client.get("/api/v1/analytics/funnel", RANGE).json()
    assert body["steps"] == [
        {"step": "visits", "count": 4, "rate": None},
        {"step": "orders", "count": 3, "rate": "0.7500"},
        {"step": "completed_orders", "count": 2, "rate": "0.6667"},
    ]
    assert body["overall_rate"] == "0.5000"
    before = client.get("/api/v1/analytics/funnel", {"date_from": "2026-02-27", "date_to": "2026-02-28"}).json()
    assert [s["rate"] for s in before["steps"]] == [None, None, "0.0000"]
    assert before["overall_rate"] is None
