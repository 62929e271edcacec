"""The same order sent 200 times in parallel over the API and the webhook yields one order and one set
of lines."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.test import APIClient

from commissions.models import CommissionLine
from distribution.auth import Actor
from merchants.roles import Role
from orders.models import Order, OrderEvent, OrderItem
from orders.services import webhooks
from tests.builders.factories import make_api_key, make_merchant
from tests.builders.orders import paid_body, setup_shop


@pytest.mark.django_db(transaction=True)
def test_two_hundred_parallel_sends_make_one_order():
    merchant = make_merchant("alpha")
    people = setup_shop(merchant)
    _, key = make_api_key(merchant, Role.OPERATOR)
    endpoint, secret = webhooks.webhook_endpoint_create(merchant=merchant, actor=Actor.system("test"))
    body = paid_body(external_id="hot", share_code=people["seller"].invite_code)

    def send(i):
        try:
            client = APIClient()
            if i % 2:
                client.credentials(HTTP_X_API_KEY=key)
                headers = {"HTTP_IDEMPOTENCY_KEY": f"k-{i % 3}"} if i % 5 == 0 else {}
                response = client.post("/api/v1/orders", body, format="json", **headers)
            else:
                raw = json.dumps({"id": f"evt-{i % 7}", "type": "order.paid", "data": body}).encode()
                response = client.generic(
                    "POST",
                    f"/api/v1/webhooks/orders/{endpoint.public_id}",
                    raw,
                    content_type="application/json",
                    HTTP_X_DISTRIBUTION_SIGNATURE=webhooks.signature_header(secret, raw),
                )
            return response.status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, range(200)))
    assert set(statuses) <= {200, 201}, statuses
    assert statuses.count(201) <= 1
    order = Order.objects.for_merchant(merchant).get()
    assert order.external_id == "hot"
    assert OrderItem.objects.for_merchant(merchant).count() == 2
    assert sorted(CommissionLine.objects.for_merchant(merchant).values_list("depth", "amount")) == [
        (1, 500),
        (1, 1900),
        (2, 250),
        (2, 950),
    ]
    # one paid event per distinct event id that was used (7 webhook ids + the API's default id)
    assert OrderEvent.objects.for_merchant(merchant).count() == 8
