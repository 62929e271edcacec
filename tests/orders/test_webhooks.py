"""Signed order webhooks: every way a signature can be wrong is refused and writes nothing."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from distribution import crypto
from merchants.roles import Role
from orders.models import Order, OrderEvent, WebhookEndpoint
from orders.services import webhooks
from tests.builders.factories import make_merchant
from tests.builders.orders import paid_body, setup_shop
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(api, merchant):
    setup_shop(merchant)
    body = api.staff(merchant, Role.OWNER).post("/api/v1/webhook-endpoint").json()
    return {"id": body["public_id"], "secret": body["secret"], "url": f"/api/v1/webhooks/orders/{body['public_id']}"}


def deliver(endpoint, payload, *, secret=None, timestamp=None, header=None, body=None):
    raw = body if body is not None else json.dumps(payload).encode()
    if header is None:
        header = webhooks.signature_header(secret or endpoint["secret"], raw, timestamp)
    return APIClient().generic(
        "POST", endpoint["url"], raw, content_type="application/json", HTTP_X_DISTRIBUTION_SIGNATURE=header
    )


def paid_event(event_id="evt-1", **order):
    return {"id": event_id, "type": "order.paid", "data": paid_body(**order)}


def written(merchant):
    return Order.objects.for_merchant(merchant).count(), OrderEvent.objects.for_merchant(merchant).count()


def test_a_signed_event_is_processed_and_a_repeat_is_acknowledged(endpoint, merchant):
    response = deliver(endpoint, paid_event())
    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False, "order": "o-1", "status": "paid"}
    again = deliver(endpoint, paid_event())
    assert again.json()["duplicate"] is True
    assert written(merchant) == (1, 1)
    event = OrderEvent.objects.for_merchant(merchant).get()
    assert (event.event_id, event.source, event.type, event.payload["external_id"]) == (
        "evt-1",
        "webhook",
        "paid",
        "o-1",
    )


@pytest.mark.parametrize(
    "attack", ["tampered", "wrong_secret", "stale", "future", "missing", "malformed", "no_v1", "unknown_endpoint"]
)
def test_bad_signatures_are_refused_and_nothing_is_written(endpoint, merchant, attack):
    payload = paid_event()
    raw = json.dumps(payload).encode()
    kwargs = {}
    if attack == "tampered":
        kwargs = {"header": webhooks.signature_header(endpoint["secret"], raw), "body": raw.replace(b"o-1", b"o-2")}
    elif attack == "wrong_secret":
        kwargs = {"secret": "whsec_not_the_secret"}
    elif attack == "stale":
        kwargs = {"timestamp": int(time.time()) - 360}  # well past the 300 s tolerance, whatever the load
    elif attack == "future":
        kwargs = {"timestamp": int(time.time()) + 360}
    elif attack == "missing":
        kwargs = {"header": ""}
    elif attack == "malformed":
        kwargs = {"header": "sha256=abc"}
    elif attack == "no_v1":
        kwargs = {"header": f"t={int(time.time())}"}
    elif attack == "unknown_endpoint":
        endpoint = {**endpoint, "url": "/api/v1/webhooks/orders/whk_nope"}
    response = deliver(endpoint, payload, **kwargs)
    code = "signature_expired" if attack in ("stale", "future") else "invalid_signature"
    assert_error(response, 401, code)
    assert written(merchant) == (0, 0)


def test_a_replayed_delivery_outside_the_window_is_refused(endpoint, merchant):
    raw = json.dumps(paid_event()).encode()
    header = webhooks.signature_header(endpoint["secret"], raw, int(time.time()))
    assert deliver(endpoint, None, header=header, body=raw).status_code == 200
    old = webhooks.signature_header(endpoint["secret"], raw, int(time.time()) - 3600)
    assert_error(deliver(endpoint, None, header=old, body=raw), 401, "signature_expired")


def test_another_merchants_secret_is_refused(api, endpoint, merchant):
    other = make_merchant("other")
    theirs = api.staff(other, Role.OWNER).post("/api/v1/webhook-endpoint").json()
    assert_error(deliver(endpoint, paid_event(), secret=theirs["secret"]), 401, "invalid_signature")
    assert written(merchant) == (0, 0) and written(other) == (0, 0)


def test_rotation_keeps_the_previous_secret_for_a_while(api, endpoint, merchant):
    old_secret = endpoint["secret"]
    rotated = api.staff(merchant, Role.OWNER).post("/api/v1/webhook-endpoint/rotate-secret").json()
    assert rotated["secret"] != old_secret and rotated["previous_secret_valid_until"]
    assert deliver(endpoint, paid_event("e1", external_id="o-1"), secret=old_secret).status_code == 200
    assert deliver(endpoint, paid_event("e2", external_id="o-2"), secret=rotated["secret"]).status_code == 200
    WebhookEndpoint.objects.for_merchant(merchant).update(previous_valid_until=timezone.now() - timedelta(seconds=1))
    assert_error(deliver(endpoint, paid_event("e3", external_id="o-3"), secret=old_secret), 401, "invalid_signature")
    stored = WebhookEndpoint.objects.for_merchant(merchant).get()
    assert (
        rotated["secret"] not in stored.secret_encrypted
        and crypto.decrypt(stored.secret_encrypted) == rotated["secret"]
    )


def test_an_event_for_an_order_not_yet_received_is_a_409_then_works(endpoint, merchant):
    completed = {"id": "evt-done", "type": "order.completed", "data": {"order": "o-1"}}
    assert_error(deliver(endpoint, completed), 409, "unknown_order")
    assert written(merchant) == (0, 0)
    deliver(endpoint, paid_event())
    assert deliver(endpoint, completed).json()["status"] == "completed"


def test_refund_and_bad_bodies_through_the_webhook(endpoint, merchant):
    deliver(endpoint, paid_event())
    refund = {"id": "evt-r", "type": "order.refunded", "data": {"order": "o-1", "refund_id": "r1", "amount": "10.00"}}
    assert deliver(endpoint, refund).status_code == 200
    assert Order.objects.for_merchant(merchant).get().refunded_amount == 1000
    too_much = {
        "id": "evt-r2",
        "type": "order.refunded",
        "data": {"order": "o-1", "refund_id": "r2", "amount": "999.00"},
    }
    assert_error(deliver(endpoint, too_much), 422, "refund_exceeds_paid")
    assert_error(deliver(endpoint, {"id": "x", "type": "order.exploded", "data": {}}), 400, "invalid")
    assert_error(deliver(endpoint, None, body=b"{not json"), 400, "invalid_json")


def test_the_endpoint_is_shown_without_its_secret(api, endpoint, merchant):
    body = api.staff(merchant, Role.ADMIN).get("/api/v1/webhook-endpoint").json()
    assert body["url"].endswith(endpoint["url"]) and "secret" not in body
    assert body["signature_header"] == "X-Distribution-Signature"
    assert_error(api.staff(merchant, Role.OPERATOR).get("/api/v1/webhook-endpoint"), 403)
