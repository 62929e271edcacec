"""Finding 10: unknown fields are refused at every depth of a body (400 `unknown_field`, each named by
its path), through the API, the signed webhook and the ingest task alike, and nothing is written."""

import json

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from distribution.errors import ValidationFailed
from merchants.roles import Role
from orders.models import Order
from orders.services import webhooks
from orders.tasks import ingest
from tests.builders.orders import paid_body, setup_shop
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_an_unknown_field_inside_an_item_is_refused(api, merchant):
    setup_shop(merchant)
    body = paid_body()
    body["items"][0]["evil"] = 1
    error = assert_error(
        api.api_key(merchant, Role.OPERATOR).post("/api/v1/orders", body, format="json"), 400, "unknown_field"
    )
    assert error["fields"] == {"items[0].evil": ["Unknown field."]}
    assert not Order.objects.for_merchant(merchant).exists()


def test_a_merchant_inside_a_product_batch_is_refused(api, merchant):
    body = {
        "products": [
            {"external_id": "a", "title": "A", "price": "1.00"},
            {"external_id": "b", "title": "B", "price": "1.00", "merchant": 99},
        ]
    }
    error = assert_error(
        api.api_key(merchant, Role.OPERATOR).post("/api/v1/products", body, format="json"), 400, "unknown_field"
    )
    assert error["fields"] == {"products[1].merchant": ["Unknown field."]}
    assert not Product.objects.for_merchant(merchant).exists()


def test_every_unknown_path_is_named(api, merchant):
    setup_shop(merchant)
    body = paid_body()
    body["evil"] = True
    body["items"][0]["x"] = 1
    body["items"][1]["y"] = {"z": 1}
    error = assert_error(
        api.api_key(merchant, Role.OPERATOR).post("/api/v1/orders", body, format="json"), 400, "unknown_field"
    )
    assert set(error["fields"]) == {"evil", "items[0].x", "items[1].y"}


def test_unknown_fields_inside_a_webhook_event_are_refused(api, merchant):
    setup_shop(merchant)
    secret_body = api.staff(merchant).post("/api/v1/webhook-endpoint").json()
    url = f"/api/v1/webhooks/orders/{secret_body['public_id']}"
    data = paid_body()
    data["items"][0]["evil"] = 1
    for event in (
        {"id": "e1", "type": "order.paid", "data": data},
        {"id": "e2", "type": "order.paid", "data": paid_body(), "extra": 1},
    ):
        raw = json.dumps(event).encode()
        header = webhooks.signature_header(secret_body["secret"], raw)
        response = APIClient().generic(
            "POST", url, raw, content_type="application/json", HTTP_X_DISTRIBUTION_SIGNATURE=header
        )
        assert_error(response, 400, "unknown_field")
    assert not Order.objects.for_merchant(merchant).exists()


def test_the_ingest_task_refuses_them_too(merchant):
    setup_shop(merchant)
    body = paid_body()
    body["items"][0]["evil"] = 1
    with pytest.raises(ValidationFailed) as refused:
        ingest.run(merchant.pk, json.loads(json.dumps(body, default=str)))
    assert refused.value.code == "unknown_field" and refused.value.fields == {"items[0].evil": ["Unknown field."]}
    assert not Order.objects.for_merchant(merchant).exists()


def test_known_nested_fields_still_pass(api, merchant):
    setup_shop(merchant)
    assert api.api_key(merchant, Role.OPERATOR).post("/api/v1/orders", paid_body(), format="json").status_code == 201
