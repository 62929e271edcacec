"""Date ranges: the defaults, the bounds and their codes, on every analytics endpoint that takes a range."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.builders.distributors import join
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

RANGED = (
    "/api/v1/analytics/summary",
    "/api/v1/analytics/timeseries",
    "/api/v1/analytics/leaderboard",
    "/api/v1/analytics/funnel",
    "/api/v1/analytics/buyers",
    "/api/v1/analytics/distributors/activity",
)


def today(merchant):
    return timezone.now().astimezone(merchant.tz).date()


@pytest.mark.parametrize("path", RANGED)
def test_every_range_is_checked_the_same_way(path, merchant, owner_client):
    t = today(merchant)
    error = assert_error(
        owner_client.get(path, {"date_from": "2026-03-02", "date_to": "2026-03-01"}), 400, "invalid_date_range"
    )
    assert set(error["fields"]) == {"date_from"}
    longest = {"date_from": str(t - timedelta(days=730)), "date_to": str(t)}
    assert owner_client.get(path, longest).status_code == 200
    too_long = {"date_from": str(t - timedelta(days=731)), "date_to": str(t)}
    assert_error(owner_client.get(path, too_long), 400, "date_range_too_long")
    tomorrow = str(t + timedelta(days=1))
    error = assert_error(owner_client.get(path, {"date_to": tomorrow}), 400, "date_in_future")
    assert set(error["fields"]) == {"date_to"}
    assert_error(owner_client.get(path, {"date_from": tomorrow}), 400, "date_in_future")


@pytest.mark.parametrize("raw", ["2026-3-1", "2026/03/01", "２０２６-03-01", "1999-12-31", "2026-02-30", "today"])
def test_a_day_is_yyyy_mm_dd_in_ascii_digits(raw, owner_client):
    error = assert_error(owner_client.get("/api/v1/analytics/summary", {"date_from": raw}), 400, "invalid")
    assert set(error["fields"]) == {"date_from"}


def test_only_date_from_runs_to_today_and_only_date_to_covers_30_days(merchant, owner_client):
    t = today(merchant)
    body = owner_client.get("/api/v1/analytics/funnel", {"date_from": str(t - timedelta(days=3))}).json()
    assert body["range"] == {"date_from": str(t - timedelta(days=3)), "date_to": str(t)}
    body = owner_client.get("/api/v1/analytics/funnel", {"date_to": "2026-03-31"}).json()
    assert body["range"] == {"date_from": "2026-03-02", "date_to": "2026-03-31"}


def test_the_repurchase_day_and_the_distributor_ranges_are_checked_too(merchant, owner_client, api):
    tomorrow = str(today(merchant) + timedelta(days=1))
    error = assert_error(owner_client.get("/api/v1/analytics/repurchase", {"date_to": tomorrow}), 400, "date_in_future")
    assert set(error["fields"]) == {"date_to"}
    join(merchant, "app-user-1")
    client = api.distributor(merchant)
    assert_error(client.get("/api/v1/distributor/leaderboard", {"date_to": tomorrow}), 400, "date_in_future")
    assert_error(
        client.get("/api/v1/distributor/leaderboard", {"date_from": "2026-03-02", "date_to": "2026-03-01"}),
        400,
        "invalid_date_range",
    )
