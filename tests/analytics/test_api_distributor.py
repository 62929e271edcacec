"""The distributor's own figures: GET /api/v1/distributor/stats and the opt-in, masked leaderboard, on the March
shop (tests/builders/analytics.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from distribution.models import AuditEvent
from tests.builders.analytics import RANGE, build_march
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

ZERO = {"orders": 0, "gmv": "0.00", "refunded": "0.00", "commission": "0.00"}


@pytest.fixture
def march(merchant):
    return build_march(merchant)


def test_my_stats_today_last_7_and_30_days_and_by_month(march, api):
    body = api.distributor(march.merchant, "seller").get("/api/v1/distributor/stats").json()
    today = timezone.now().astimezone(march.merchant.tz).date()
    h = {"orders": 1, "gmv": "100.00", "refunded": "0.00", "commission": "10.00"}  # H, paid at today's midnight
    for name, days in (("today", 1), ("last_7_days", 7), ("last_30_days", 30)):
        period = body["periods"][name]
        assert period["range"]["date_to"] == str(today)
        assert (
            date.fromisoformat(period["range"]["date_to"]) - date.fromisoformat(period["range"]["date_from"])
        ).days == days - 1
        assert {k: period[k] for k in h} == h
    months = [date.fromisoformat(m["month"]) for m in body["months"]]
    assert len(months) == 12 and months[-1] == today.replace(day=1) and months == sorted(months)
    assert months[0] == date(today.year - (today.month < 12), today.month % 12 + 1, 1)
    # the seller's commission on March orders: A 10.00 + B 20.00 − 5.00 reversed + D (depth 2) 2.50 − 0.50 clawed back
    known = {
        date(2026, 2, 1): {"orders": 1, "gmv": "100.00", "refunded": "0.00", "commission": "10.00"},
        date(2026, 3, 1): {"orders": 2, "gmv": "300.00", "refunded": "50.00", "commission": "27.00"},
        today.replace(day=1): h,
    }
    for month in body["months"]:
        expected = known.get(date.fromisoformat(month["month"]), ZERO)
        assert {k: month[k] for k in ZERO} == expected, month["month"]
    assert body["team"]["depths"] == [{"depth": 1, "members": 1, "active_members": 0, **ZERO}]
    assert body["team"]["total"] == {"members": 1, "active_members": 0, **ZERO}


def test_someone_who_is_not_a_distributor_is_told(march, api):
    for path in ("stats", "leaderboard", "leaderboard/participation"):
        assert_error(
            api.distributor(march.merchant, "nobody").get(f"/api/v1/distributor/{path}"), 404, "not_a_distributor"
        )


def opt(api, march, who, opted_in):
    response = api.distributor(march.merchant, who).post(
        "/api/v1/distributor/leaderboard/participation", {"opted_in": opted_in}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_leaderboard_shows_only_those_who_opted_in_with_masked_names(march, api):
    seller = api.distributor(march.merchant, "seller")
    assert seller.get("/api/v1/distributor/leaderboard/participation").json() == {"opted_in": False}
    empty = seller.get("/api/v1/distributor/leaderboard", RANGE).json()
    assert empty["entries"] == []
    assert empty["me"] == {"rank": 1, "gmv": "300.00", "orders": 2, "opted_in": False}

    assert opt(api, march, "seller", True) == {"opted_in": True}
    assert opt(api, march, "recruit", True) == {"opted_in": True}
    body = api.distributor(march.merchant, "recruit").get("/api/v1/distributor/leaderboard", RANGE).json()
    assert body["entries"] == [
        {"rank": 1, "name": "张**", "gmv": "300.00", "orders": 2, "me": False},
        {"rank": 2, "name": "王*", "gmv": "50.00", "orders": 1, "me": True},
    ]
    assert body["me"] == {"rank": 2, "gmv": "50.00", "orders": 1, "opted_in": True}
    assert "张三丰" not in str(body) and "王五" not in str(body)
    # the boss did not opt in and sold nothing: not shown, no rank
    boss = api.distributor(march.merchant, "boss").get("/api/v1/distributor/leaderboard", RANGE).json()
    assert [e["name"] for e in boss["entries"]] == ["张**", "王*"]
    assert boss["me"] == {"rank": None, "gmv": "0.00", "orders": 0, "opted_in": False}


def test_ties_are_broken_by_id_and_opting_out_hides_me_but_keeps_my_rank(march, api):
    opt(api, march, "seller", True)
    opt(api, march, "recruit", True)
    day = {"date_from": "2026-03-02", "date_to": "2026-03-02", "by": "orders"}
    recruit = api.distributor(march.merchant, "recruit")
    body = recruit.get("/api/v1/distributor/leaderboard", day).json()
    assert [(e["rank"], e["name"], e["orders"]) for e in body["entries"]] == [(1, "张**", 1), (2, "王*", 1)]
    assert body["me"]["rank"] == 2
    opt(api, march, "seller", False)
    body = recruit.get("/api/v1/distributor/leaderboard", day).json()
    assert [e["name"] for e in body["entries"]] == ["王*"]
    seller = api.distributor(march.merchant, "seller").get("/api/v1/distributor/leaderboard", day).json()
    assert seller["me"] == {"rank": 1, "gmv": "200.00", "orders": 1, "opted_in": False}


def test_opting_in_is_audited_once(march, api):
    opt(api, march, "seller", True)
    opt(api, march, "seller", True)
    events = AuditEvent.objects.for_merchant(march.merchant).filter(action="distributor.leaderboard_opt_in")
    assert list(events.values_list("object_id", "changes")) == [
        (str(march.seller.pk), {"leaderboard_opt_in": [False, True]})
    ]
    response = api.distributor(march.merchant, "seller").post(
        "/api/v1/distributor/leaderboard/participation", {"opted_in": "maybe"}, format="json"
    )
    assert_error(response, 400, "invalid")
    unknown = api.distributor(march.merchant, "seller").post(
        "/api/v1/distributor/leaderboard/participation", {"opted_in": True, "public": True}, format="json"
    )
    assert_error(unknown, 400, "unknown_field")
