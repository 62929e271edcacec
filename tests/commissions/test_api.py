"""The commission-line API: lists and totals for the merchant, and the distributor's own."""

import pytest

from merchants.roles import Role
from tests.builders.orders import event, paid_body, send

pytestmark = pytest.mark.django_db


def test_commission_lists_and_totals(shop, api, merchant):
    send(shop, paid_body(share_code=shop.people["seller"].invite_code))
    send(shop, paid_body(external_id="o-2", customer="cust-2", share_code=shop.people["seller"].invite_code))
    event(shop, "o-2", type="refunded", refund_id="r", items=[{"line_id": "L1", "amount": "190.00"}])
    staff = api.staff(merchant, Role.VIEWER)
    seller = shop.people["seller"]
    mine = staff.get(f"/api/v1/commission-lines?beneficiary={seller.pk}").json()["results"]
    assert len(mine) == 4
    totals = staff.get(f"/api/v1/commission-lines/totals?beneficiary={seller.pk}").json()
    assert totals == {
        "currency": "CNY",
        "net": "29.00",
        "by_status": {
            "pending": {"count": 3, "amount": "29.00", "reversed": "0.00", "net": "29.00"},
            "reversed": {"count": 1, "amount": "19.00", "reversed": "19.00", "net": "0.00"},
        },
    }
    app = api.distributor(merchant, "seller")
    assert app.get("/api/v1/distributor/commissions/totals").json() == totals
    listed = app.get("/api/v1/distributor/commissions?status=pending").json()["results"]
    assert len(listed) == 3 and "beneficiary" not in listed[0]
    orders = app.get("/api/v1/distributor/orders").json()["results"]
    assert [(o["external_id"], o["customer"]) for o in orders] == [("o-2", "cu**-2"), ("o-1", "cu**-1")]
    boss = api.distributor(merchant, "boss").get("/api/v1/distributor/commissions/totals").json()
    assert boss["net"] == "14.50"
