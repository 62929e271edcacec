"""What the analytics group orders by: the channel (sent, or inferred), the delivery region, and the
category each item's product was in when the order was paid. The new keys are optional and have no
defaults, so an order first sent without them still matches its fingerprint when it is sent again."""

import json

import pytest
from rest_framework.exceptions import ValidationError

from catalog.models import Product
from distribution.api.validation import validate
from orders.inputs import OrderPaidInput
from orders.models import Order, OrderItem
from orders.services import intake
from orders.tasks import ingest
from tests.builders.factories import CategoryFactory
from tests.builders.orders import PAID_AT, paid_body, send
from tests.helpers import assert_error
from tests.orders.test_webhooks import deliver, endpoint, paid_event  # noqa: F401 - endpoint is a fixture

pytestmark = pytest.mark.django_db


def stored(merchant, external_id="o-1"):
    order = Order.objects.for_merchant(merchant).get(external_id=external_id)
    return order.channel, order.province, order.city


@pytest.mark.parametrize(
    ("extra", "share", "channel"),
    [
        ({"channel": "qr_poster"}, True, "qr_poster"),  # what the shop says wins over the share code
        ({"channel": "miniprogram_code", "kind": "group_buy"}, False, "miniprogram_code"),
        ({}, True, "share_link"),
        ({"kind": "group_buy"}, True, "share_link"),  # a share code before the kind
        ({"kind": "group_buy"}, False, "group_buy"),
        ({}, False, "direct"),
        ({"kind": "gift"}, False, "direct"),
    ],
)
def test_the_channel_is_the_shops_else_inferred(shop, merchant, extra, share, channel):
    code = shop.people["seller"].invite_code if share else ""
    response = send(shop, paid_body(share_code=code, **extra))
    assert response.status_code == 201, response.content
    assert response.json()["order"]["channel"] == channel
    assert stored(merchant) == (channel, "", "")


def test_order_channel_reads_the_validated_body():
    assert intake.order_channel({"channel": "market", "share_code": "ABC"}) == "market"
    assert intake.order_channel({"share_code": "ABC", "kind": "group_buy"}) == "share_link"
    assert intake.order_channel({"share_code": "", "kind": "group_buy"}) == "group_buy"
    assert intake.order_channel({"share_code": "", "kind": "normal"}) == "direct"


def test_the_region_is_stored_and_shown_and_the_list_filters_by_them(shop, merchant):
    send(shop, paid_body(province="广东省", city="深圳市", channel="distributor_shop"))
    send(shop, paid_body(external_id="o-2", province="浙江省", city="杭州市"))
    send(shop, paid_body(external_id="o-3"))
    assert stored(merchant, "o-1") == ("distributor_shop", "广东省", "深圳市")
    assert stored(merchant, "o-2") == ("direct", "浙江省", "杭州市")
    assert stored(merchant, "o-3") == ("direct", "", "")
    detail = shop.get("/api/v1/orders/o-1").json()
    assert (detail["channel"], detail["province"], detail["city"]) == ("distributor_shop", "广东省", "深圳市")

    def ids(query):
        return sorted(o["external_id"] for o in shop.get(f"/api/v1/orders?{query}").json()["results"])

    assert ids("channel=direct") == ["o-2", "o-3"]
    assert ids("channel=distributor_shop") == ["o-1"]
    assert ids("province=浙江省") == ["o-2"]
    assert ids("city=深圳市") == ["o-1"]
    listed = shop.get("/api/v1/orders?external_id=o-2").json()["results"][0]
    assert (listed["channel"], listed["province"], listed["city"]) == ("direct", "浙江省", "杭州市")
    assert_error(shop.get("/api/v1/orders?channel=carrier_pigeon"), 400, "invalid")


def test_left_out_keys_stay_out_of_the_body_and_its_fingerprint(shop, merchant):
    body = paid_body()
    data = validate(OrderPaidInput, body, context={"merchant": merchant, "currency": "CNY"})
    assert not {"channel", "province", "city"} & set(data)
    # the fingerprint of an order as received before these fields existed: the same keys, the same hash
    send(shop, body)
    order = Order.objects.for_merchant(merchant).get()
    assert order.fingerprint == intake.fingerprint(dict(data))
    assert set(dict(data)) == {
        "external_id",
        "customer_external_id",
        "share_code",
        "kind",
        "paid_at",
        "payment_transaction_id",
        "shipping_amount",
        "items",
    }


def test_an_order_sent_again_without_the_new_keys_is_a_duplicate(shop, merchant):
    first = send(shop, paid_body())
    assert first.status_code == 201
    again = send(shop, paid_body())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Order.objects.for_merchant(merchant).count() == 1
    # the same order with a region it did not have is other content
    assert_error(send(shop, paid_body(province="广东省")), 409, "order_conflict")
    assert_error(send(shop, paid_body(channel="direct")), 409, "order_conflict")
    assert stored(merchant) == ("direct", "", "")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"channel": None}, "channel"),
        ({"province": "省" * 33}, "province"),
        ({"city": "x" * 33}, "city"),
    ],
)
def test_a_bad_channel_or_region_is_refused_and_nothing_is_written(shop, merchant, extra, field):
    error = assert_error(send(shop, paid_body(**extra)), 400, "invalid")
    assert list(error["fields"]) == [field]
    assert Order.objects.for_merchant(merchant).count() == 0


def test_the_webhook_and_the_ingest_task_take_them_too(endpoint, merchant):  # noqa: F811 - the fixture
    ok = deliver(endpoint, paid_event(channel="market", province="广东省", city="广州市"))
    assert ok.status_code == 200, ok.content
    assert stored(merchant) == ("market", "广东省", "广州市")
    refused = deliver(endpoint, paid_event("evt-2", external_id="o-2", channel="fax"))
    error = assert_error(refused, 400, "invalid")
    assert list(error["fields"]) == ["data.channel"]

    body = json.loads(json.dumps(paid_body(external_id="o-3", city="珠海市"), default=str))
    ingest.run(merchant.pk, body)
    assert stored(merchant, "o-3") == ("direct", "", "珠海市")
    with pytest.raises(ValidationError) as bad:
        ingest.run(merchant.pk, {**body, "external_id": "o-4", "channel": "fax"})
    assert list(bad.value.detail) == ["channel"]
    assert Order.objects.for_merchant(merchant).filter(external_id__in=["o-2", "o-4"]).count() == 0


def test_each_item_keeps_the_category_its_product_had_when_paid(shop, merchant):
    green = CategoryFactory(merchant=merchant, external_id="green", name="绿茶")
    CategoryFactory(merchant=merchant, external_id="cups", name="茶具")
    Product.objects.for_merchant(merchant).filter(external_id="tea").update(category=green)
    answered = send(shop, paid_body()).json()["order"]
    assert [(i["line_id"], i["category"]) for i in answered["items"]] == [("L1", "green"), ("L2", None)]

    # the shop recategorises both products: the sold items keep what they had, the next order has the new ones
    products = [
        {"external_id": "tea", "title": "Tea", "price": "100.00", "category": "cups"},
        {"external_id": "cup", "title": "Cup", "price": "50.00", "category": "cups"},
    ]
    assert shop.post("/api/v1/products", {"products": products}, format="json").status_code == 200
    send(shop, paid_body(external_id="o-2", paid_at=PAID_AT.isoformat()))

    def categories(external_id):
        return list(
            OrderItem.objects.for_merchant(merchant)
            .filter(order__external_id=external_id)
            .order_by("line_id")
            .values_list("line_id", "category__external_id")
        )

    assert categories("o-1") == [("L1", "green"), ("L2", None)]
    assert categories("o-2") == [("L1", "cups"), ("L2", "cups")]
    assert [(i["line_id"], i["category"]) for i in shop.get("/api/v1/orders/o-1").json()["items"]] == [
        ("L1", "green"),
        ("L2", None),
    ]
    # a category an item was sold in cannot be archived away from under a product, and stays for history
    shop.post(
        "/api/v1/products", {"external_id": "tea", "title": "Tea", "price": "100.00", "category": None}, format="json"
    )
    assert shop.delete("/api/v1/categories/green").status_code == 204
    assert categories("o-1") == [("L1", "green"), ("L2", None)]
