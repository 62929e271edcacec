"""GET /api/v1/analytics/summary: every KPI card with exact values on the March shop (tests/builders/analytics.py),
the cohort rule, the time-zone edge at midnight in Shanghai, and 环比 null when the previous value is zero."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from merchants.roles import Role
from tests.builders.analytics import RANGE, build_march

pytestmark = pytest.mark.django_db

# metric: (unit, value, previous, change) over 1–2 March 2026 against 27–28 February
EXPECTED = {
    "gmv": ("money", "350.00", "100.00", "2.5000"),
    "net_gmv": ("money", "290.00", "100.00", "1.9000"),
    "orders": ("count", 3, 1, "2.0000"),
    "all_gmv": ("money", "900.00", "150.00", "5.0000"),
    "all_orders": ("count", 5, 2, "1.5000"),
    "refunded": ("money", "60.00", "0.00", None),
    "buyers": ("count", 2, 1, "1.0000"),
    "all_buyers": ("count", 4, 2, "1.0000"),
    "aov_per_order": ("money", "116.67", "100.00", "0.1667"),
    "aov_per_buyer": ("money", "175.00", "100.00", "0.7500"),
    "commission_accrued": ("money", "52.50", "15.00", "2.5000"),
    "commission_pending": ("money", "22.50", "15.00", "0.5000"),
    "commission_confirmed": ("money", "0.00", "0.00", None),
    "commission_settled": ("money", "22.50", "0.00", None),
    "commission_reversed": ("money", "7.50", "0.00", None),
    "commission_clawed_back": ("money", "1.50", "0.00", None),
    "net_commission": ("money", "43.50", "15.00", "1.9000"),
    "commission_ratio": ("ratio", "0.1500", "0.1500", "0.0000"),
    "refund_rate": ("ratio", "0.1714", "0.0000", None),
    "completed_orders": ("count", 2, 0, None),
    "visits": ("count", 4, 0, None),
    "conversion": ("ratio", "0.7500", None, None),
    "earnings_per_click": ("money", "10.88", None, None),
    "new_buyers": ("count", 3, 2, "0.5000"),
    "returning_buyers": ("count", 1, 0, None),
    "new_distributors": ("count", 1, 1, "0.0000"),
    "active_distributors": ("count", 2, 1, "1.0000"),
    "applications": ("count", 1, 1, "0.0000"),
    "approval_rate": ("ratio", "1.0000", "1.0000", "0.0000"),
}


@pytest.fixture
def march(merchant):
    return build_march(merchant)


def test_every_metric_has_its_exact_value_previous_value_and_change(march, api):
    response = api.staff(march.merchant, Role.VIEWER).get("/api/v1/analytics/summary", RANGE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["currency"], body["time_zone"]) == ("CNY", "Asia/Shanghai")
    assert body["range"] == {"date_from": "2026-03-01", "date_to": "2026-03-02"}
    assert body["previous_range"] == {"date_from": "2026-02-27", "date_to": "2026-02-28"}
    got = {name: (c["unit"], c["value"], c["previous"], c["change"]) for name, c in body["metrics"].items()}
    assert got == EXPECTED


def test_an_order_paid_at_23_59_59_in_shanghai_counts_on_that_day_and_one_second_later_on_the_next(march, api):
    client = api.staff(march.merchant, Role.VIEWER)
    first = client.get("/api/v1/analytics/summary", {"date_from": "2026-03-01", "date_to": "2026-03-01"}).json()
    second = client.get("/api/v1/analytics/summary", {"date_from": "2026-03-02", "date_to": "2026-03-02"}).json()
    # 1 March: A (15:59:59Z = 23:59:59 Shanghai) and F; 2 March: B (16:00:00Z = 00:00 Shanghai), C and D
    assert (first["metrics"]["orders"]["value"], first["metrics"]["gmv"]["value"]) == (1, "100.00")
    assert (first["metrics"]["all_orders"]["value"], first["metrics"]["all_gmv"]["value"]) == (2, "150.00")
    assert (second["metrics"]["orders"]["value"], second["metrics"]["gmv"]["value"]) == (2, "250.00")
    assert (second["metrics"]["all_orders"]["value"], second["metrics"]["all_gmv"]["value"]) == (3, "750.00")
    # the previous period of one day is the day before
    assert second["previous_range"] == {"date_from": "2026-03-01", "date_to": "2026-03-01"}
    assert second["metrics"]["gmv"]["change"] == "1.5000"


def test_a_refund_counts_on_the_day_its_order_was_paid_not_the_day_it_was_refunded(march, api):
    client = api.staff(march.merchant, Role.VIEWER)
    refund_day = client.get("/api/v1/analytics/summary", {"date_from": "2026-03-20", "date_to": "2026-03-20"}).json()
    assert {k: refund_day["metrics"][k]["value"] for k in ("refunded", "net_gmv", "orders", "commission_reversed")} == {
        "refunded": "0.00",
        "net_gmv": "0.00",
        "orders": 0,
        "commission_reversed": "0.00",
    }
    pay_day = client.get("/api/v1/analytics/summary", {"date_from": "2026-03-02", "date_to": "2026-03-02"}).json()
    # B's 50.00 (refunded 20 March) and D's 10.00 (10 April, after settlement: clawed back) both count on 2 March
    assert {k: pay_day["metrics"][k]["value"] for k in ("refunded", "net_gmv", "commission_reversed")} == {
        "refunded": "60.00",
        "net_gmv": "190.00",
        "commission_reversed": "7.50",
    }
    assert pay_day["metrics"]["commission_clawed_back"]["value"] == "1.50"


def test_change_is_null_when_the_previous_period_is_empty(march, api):
    body = (
        api.staff(march.merchant)
        .get("/api/v1/analytics/summary", {"date_from": "2026-02-27", "date_to": "2026-02-28"})
        .json()
    )
    gmv = body["metrics"]["gmv"]
    assert (gmv["value"], gmv["previous"], gmv["change"]) == ("100.00", "0.00", None)
    aov = body["metrics"]["aov_per_order"]
    assert (aov["value"], aov["previous"], aov["change"]) == ("100.00", None, None)


def test_the_default_range_is_the_last_30_days_including_today(march, api):
    body = api.staff(march.merchant).get("/api/v1/analytics/summary").json()
    today = date.fromisoformat(body["range"]["date_to"])
    assert body["range"]["date_from"] == str(today - timedelta(days=29))
    assert body["previous_range"] == {
        "date_from": str(today - timedelta(days=59)),
        "date_to": str(today - timedelta(days=30)),
    }
    # H, paid at today's midnight in Shanghai, is the one order of the last 30 days
    assert (body["metrics"]["orders"]["value"], body["metrics"]["gmv"]["value"]) == (1, "100.00")
