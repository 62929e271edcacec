"""Repurchase, buyers, distributor activity and team performance on the March shop (tests/builders/analytics.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from distributors.models import Distributor
from merchants.roles import Role
from tests.builders.analytics import RANGE, build_march, pay_days
from tests.builders.distributors import join
from tests.builders.factories import make_merchant
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def march(merchant, api):
    march = build_march(merchant)
    march.client = api.staff(merchant, Role.VIEWER)
    return march


def windows(body):
    return [(w["window_days"], w["buyers"], w["repeat_buyers"], w["rate"], w["as_of"]) for w in body["windows"]]


def test_repurchase_counted_exactly_for_windows_ending_on_a_day(march):
    body = march.client.get("/api/v1/analytics/repurchase", {"date_to": "2026-03-02"}).json()
    # c5 (G, F) and c1 (A, D) twice; c4, c2, c3 once
    assert body["basis"] == "exact"
    assert windows(body) == [
        (30, 5, 2, "0.4000", "2026-03-02"),
        (90, 5, 2, "0.4000", "2026-03-02"),
        (365, 5, 2, "0.4000", "2026-03-02"),
    ]
    assert {w["refreshed_at"] for w in body["windows"]} == {None}
    # ending on 1 March (Shanghai): D is not in yet, c1 bought once
    first = march.client.get("/api/v1/analytics/repurchase", {"date_to": "2026-03-01"}).json()
    assert windows(first)[0] == (30, 3, 1, "0.3333", "2026-03-01")


def test_repurchase_from_the_snapshot_as_refreshed(march):
    body = march.client.get("/api/v1/analytics/repurchase").json()
    assert body["basis"] == "snapshot"
    today = timezone.now().astimezone(march.merchant.tz).date()
    expected = []
    for window in (30, 90, 365):
        counts: dict[str, int] = {}
        for customer, day in pay_days(march.merchant).values():
            if today - timedelta(days=window - 1) <= day <= today:
                counts[customer] = counts.get(customer, 0) + 1
        buyers, repeat = len(counts), sum(1 for n in counts.values() if n >= 2)
        rate = f"{repeat / buyers:.4f}" if buyers else None
        expected.append((window, buyers, repeat, rate, str(today)))
    assert windows(body) == expected
    assert all(w["refreshed_at"] for w in body["windows"])


def test_buyers_new_returning_and_top_regions(march):
    body = march.client.get("/api/v1/analytics/buyers", RANGE).json()
    assert (body["all_buyers"], body["new_buyers"], body["returning_buyers"]) == (4, 3, 1)

    def regions(rows):
        return [(r["province"], r["city"], r["all_buyers"], r["all_orders"], r["all_gmv"]) for r in rows]

    assert regions(body["regions_by_buyers"]) == [("广东", "深圳", 3, 3, "350.00"), ("广东", "广州", 2, 2, "550.00")]
    assert regions(body["regions_by_gmv"]) == [("广东", "广州", 2, 2, "550.00"), ("广东", "深圳", 3, 3, "350.00")]
    one = march.client.get("/api/v1/analytics/buyers", {**RANGE, "limit": "1"}).json()
    assert [r["city"] for r in one["regions_by_buyers"]] == ["深圳"]


def test_distributor_activity_counts_by_the_level_they_have_now(march):
    body = march.client.get("/api/v1/analytics/distributors/activity", RANGE).json()
    # the seller sold in March as bronze and was moved to silver later: counted under silver
    assert (body["distributors"], body["active"], body["new"], body["dormant"], body["dormant_days"]) == (
        3,
        2,
        1,
        2,
        30,
    )
    assert [(r["level"]["name"], r["distributors"], r["active"], r["new"], r["dormant"]) for r in body["by_level"]] == [
        ("bronze", 2, 1, 0, 2),
        ("silver", 1, 1, 1, 0),
    ]
    # H (today) keeps the seller from being dormant at any window; without it the boss and the recruit are
    one_day = march.client.get("/api/v1/analytics/distributors/activity", {**RANGE, "dormant_days": "1"}).json()
    assert one_day["dormant"] == 2
    assert_error(march.client.get("/api/v1/analytics/distributors/activity", {"dormant_days": "0"}), 400, "invalid")


def test_distributors_without_a_level_have_their_own_row(march):
    newcomer = join(march.merchant, "newcomer")  # joins at the default level: take it away
    Distributor.objects.for_merchant(march.merchant).filter(pk=newcomer.pk).update(level=None)
    body = march.client.get("/api/v1/analytics/distributors/activity", RANGE).json()
    assert body["by_level"][-1] == {"level": None, "distributors": 1, "active": 0, "new": 0, "dormant": 1}
    assert body["distributors"] == 4


def test_team_performance_by_depth(march):
    body = march.client.get(f"/api/v1/analytics/teams/{march.boss.pk}", RANGE).json()
    assert body["distributor"]["id"] == march.boss.pk
    assert body["own"] == {"orders": 0, "gmv": "0.00", "refunded": "0.00", "commission": "12.50"}
    assert body["depths"] == [
        {
            "depth": 1,
            "members": 1,
            "active_members": 1,
            "orders": 2,
            "gmv": "300.00",
            "refunded": "50.00",
            "commission": "27.00",
        },
        {
            "depth": 2,
            "members": 1,
            "active_members": 1,
            "orders": 1,
            "gmv": "50.00",
            "refunded": "10.00",
            "commission": "4.00",
        },
    ]
    assert body["team"] == {
        "members": 2,
        "active_members": 2,
        "orders": 3,
        "gmv": "350.00",
        "refunded": "60.00",
        "commission": "31.00",
    }
    seller = march.client.get(f"/api/v1/analytics/teams/{march.seller.pk}", RANGE).json()
    assert (seller["own"]["gmv"], [d["depth"] for d in seller["depths"]]) == ("300.00", [1])


def test_another_merchants_distributor_is_not_found(march, api):
    other = make_merchant("beta")
    stranger = join(other, "stranger")
    assert_error(march.client.get(f"/api/v1/analytics/teams/{stranger.pk}"), 404, "not_found")
    # and the other merchant's staff see none of the first merchant's figures
    theirs = api.staff(other).get("/api/v1/analytics/summary", RANGE).json()
    assert theirs["metrics"]["all_orders"]["value"] == 0
    assert_error(api.staff(other).get(f"/api/v1/analytics/teams/{march.boss.pk}"), 404, "not_found")
