"""GET /api/v1/analytics/leaderboard on the March shop (tests/builders/analytics.py): names, ordering, ties."""

from __future__ import annotations

import pytest

from tests.builders.analytics import RANGE, build_march
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def march(merchant, api):
    march = build_march(merchant)
    march.client = api.staff(merchant)
    return march


def board(march, **query):
    response = march.client.get("/api/v1/analytics/leaderboard", {**RANGE, **query})
    assert response.status_code == 200, response.content
    return response.json()


def test_distributors_by_gmv_with_their_figures(march):
    body = board(march)
    assert (body["dimension"], body["by"], body["currency"]) == ("distributors", "gmv", "CNY")
    rows = [
        (
            e["rank"],
            e["key"],
            e["name"],
            e["gmv"],
            e["orders"],
            e["refunded"],
            e["commission"],
            e["visits"],
            e["conversion"],
        )
        for e in body["entries"]
    ]
    assert rows == [
        (1, str(march.seller.pk), "张三丰", "300.00", 2, "50.00", "27.00", 4, "0.5000"),
        (2, str(march.recruit.pk), "王五", "50.00", 1, "10.00", "4.00", 0, None),
        (3, str(march.boss.pk), "李四", "0.00", 0, "0.00", "12.50", 0, None),
    ]
    assert {(e["all_gmv"], e["all_orders"]) for e in body["entries"]} == {(None, None)}


def test_distributors_by_commission_and_by_conversion_nulls_last_by_id(march):
    by_commission = [e["name"] for e in board(march, by="commission")["entries"]]
    assert by_commission == ["张三丰", "李四", "王五"]
    by_conversion = [(e["name"], e["conversion"]) for e in board(march, by="conversion")["entries"]]
    assert by_conversion == [("张三丰", "0.5000"), ("李四", None), ("王五", None)]


def test_ties_are_broken_by_id(march):
    # 2 March: the seller (B) and the recruit (D) have one order each; the seller's id is lower
    assert march.seller.pk < march.recruit.pk
    body = board(march, by="orders", date_from="2026-03-02", date_to="2026-03-02")
    assert [(e["rank"], e["name"], e["orders"]) for e in body["entries"]] == [
        (1, "张三丰", 1),
        (2, "王五", 1),
        (3, "李四", 0),
    ]
    assert [e["name"] for e in board(march, by="orders", limit=1)["entries"]] == ["张三丰"]


def test_products_by_gmv_and_by_every_order(march):
    def rows(body):
        return [
            (e["name"], e["gmv"], e["orders"], e["all_gmv"], e["all_orders"], e["commission"]) for e in body["entries"]
        ]

    assert rows(board(march, dimension="products")) == [
        ("Tea", "300.00", 2, "300.00", 2, "37.50"),
        ("Cup", "50.00", 1, "600.00", 3, "6.00"),
    ]
    assert [e["name"] for e in board(march, dimension="products", by="all_gmv")["entries"]] == ["Cup", "Tea"]
    assert [e["name"] for e in board(march, dimension="products", by="all_orders")["entries"]] == ["Cup", "Tea"]


def test_categories_name_the_uncategorised_with_an_empty_key(march):
    body = board(march, dimension="categories")
    assert [(e["key"], e["name"], e["gmv"], e["all_gmv"]) for e in body["entries"]] == [
        (str(march.drinks.pk), "Drinks", "300.00", "300.00"),
        ("", "", "50.00", "600.00"),
    ]
    assert [e["name"] for e in board(march, dimension="categories", by="all_gmv")["entries"]] == ["", "Drinks"]


def test_channels_carry_their_label(march):
    body = board(march, dimension="channels", by="all_gmv")
    assert [(e["key"], e["name"], e["gmv"], e["all_gmv"], e["all_orders"]) for e in body["entries"]] == [
        ("direct", "Direct", "0.00", "550.00", 2),
        ("share_link", "Share link", "350.00", "350.00", 3),
    ]


def test_conversion_ranks_distributors_only_and_limits_are_bounded(march):
    for dimension in ("products", "categories", "channels"):
        error = assert_error(
            march.client.get("/api/v1/analytics/leaderboard", {"dimension": dimension, "by": "conversion"}),
            400,
            "unsupported_ranking",
        )
        assert "by" in error["fields"]
    assert_error(march.client.get("/api/v1/analytics/leaderboard", {"by": "all_gmv"}), 400, "unsupported_ranking")
    for limit in ("0", "101", "x", "１"):
        assert_error(march.client.get("/api/v1/analytics/leaderboard", {"limit": limit}), 400, "invalid")
    assert_error(march.client.get("/api/v1/analytics/leaderboard", {"dimension": "cities"}), 400, "invalid")
