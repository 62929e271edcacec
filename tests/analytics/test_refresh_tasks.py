"""The analytics queue's tasks: the refresh pass, the repurchase snapshots and the nightly re-check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import tasks
from analytics.models import DailyMerchant, RepurchaseSnapshot
from analytics.refresh import refresh_repurchase
from orders.services import intake
from tests.builders.factories import make_merchant
from tests.builders.orders import setup_shop

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


def paid(merchant, external_id, customer, paid_at):
    intake.order_ingest_paid(
        merchant=merchant,
        data={
            "external_id": external_id,
            "customer_external_id": customer,
            "paid_at": paid_at,
            "items": [{"line_id": "L1", "product": "cup", "quantity": 1, "unit_price": 5000, "discount": 0}],
        },
        source="api",
    )


@pytest.fixture
def shop():
    merchant = make_merchant("figures")
    setup_shop(merchant)
    # c1 buys three times (10, 50 and 200 days ago), c2 twice (5 and 100 days ago), c3 once (400 days ago)
    for n, (customer, days) in enumerate([("c1", 10), ("c1", 50), ("c1", 200), ("c2", 5), ("c2", 100), ("c3", 400)]):
        paid(merchant, f"o{n}", customer, NOW - timedelta(days=days))
    return merchant


def test_the_refresh_task_brings_the_rollups_up_to_date(shop):
    assert tasks.refresh_pass()["days"] == 6
    assert DailyMerchant.objects.for_merchant(shop).count() == 6
    assert sum(DailyMerchant.objects.for_merchant(shop).values_list("gmv", flat=True)) == 6 * 5000


def test_repurchase_snapshots_count_buyers_with_two_or_more_orders_in_each_window(shop):
    refresh_repurchase(shop.pk)
    snapshots = {s.window_days: (s.buyers, s.repeat_buyers) for s in RepurchaseSnapshot.objects.for_merchant(shop)}
    # 30 days: c1, c2 once each; 90: c1 twice, c2 once; 365: c1 three times, c2 twice (c3 is older)
    assert snapshots == {30: (2, 0), 90: (2, 1), 365: (2, 2)}
    assert tasks.repurchase()["merchants"] >= 1


def test_the_nightly_recheck_rebuilds_recent_days_whatever_the_watermarks_said(shop, settings):
    tasks.refresh_pass()
    DailyMerchant.objects.for_merchant(shop).update(gmv=1)  # as if a pass had missed something
    settings.ANALYTICS_RECHECK_DAYS = 60
    tasks.recheck()
    gmv = dict(DailyMerchant.objects.for_merchant(shop).values_list("day", "gmv"))
    today = NOW.astimezone(shop.tz).date()
    recent = {d: g for d, g in gmv.items() if d >= today - timedelta(days=59)}
    older = {d: g for d, g in gmv.items() if d < today - timedelta(days=59)}
    assert sorted(recent.values()) == [5000, 5000, 5000]
    assert sorted(older.values()) == [1, 1, 1]  # outside the re-check's days: left as they were
