"""The one error shape, for every kind of refusal, and a request id on every response."""

import json
import logging

import pytest
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from catalog.models import Product
from distribution.logging import JsonFormatter, RequestIdFilter
from merchants.roles import Role
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400(api, merchant):
    client = api.api_key(merchant, Role.OPERATOR)
    response = client.generic("POST", "/api/v1/products", '{"external_id": ', content_type="application/json")
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("body", ["[]", '"text"', "null", "42", '[{"external_id": "x"}]'])
def test_a_body_that_is_not_an_object_is_a_400(api, merchant, body):
    client = api.api_key(merchant, Role.OPERATOR)
    response = client.generic("POST", "/api/v1/products", body, content_type="application/json")
    assert_error(response, 400)
    assert Product.objects.for_merchant(merchant).count() == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(api, merchant, literal):
    client = api.api_key(merchant, Role.OPERATOR)
    body = f'{{"external_id": "x", "title": "t", "price": {literal}}}'
    assert_error(client.generic("POST", "/api/v1/products", body, content_type="application/json"), 400)


def test_form_bodies_are_unsupported(api, merchant):
    client = api.api_key(merchant, Role.OPERATOR)
    response = client.post("/api/v1/products", {"external_id": "x"})  # multipart
    assert_error(response, 415, "unsupported_media_type")


def test_unknown_api_route_is_a_json_404(db):
    response = APIClient().get("/api/v1/no-such-thing")
    assert_error(response, 404, "not_found")


def test_wrong_method_is_a_405(api, merchant):
    client = api.api_key(merchant, Role.ADMIN)
    assert_error(client.delete("/api/v1/program"), 405, "method_not_allowed")
    assert_error(client.options("/api/v1/products"), 405, "method_not_allowed")


def test_throttling_answers_429_with_retry_after(api, merchant):
    client = api.api_key(merchant, Role.VIEWER)
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "merchant": "3/min"}
    with override_settings(REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}):
        statuses = [client.get("/api/v1/me").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = client.get("/api/v1/me")
        assert_error(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0
        other = api.api_key(merchant, Role.VIEWER)  # another credential has its own budget
        assert other.get("/api/v1/me").status_code == 200


def test_an_unexpected_exception_is_a_500_in_the_error_shape(api, merchant, monkeypatch):
    from merchants.api import views

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.lifecycle, "merchant_update", explode)
    client = api.staff(merchant, Role.OWNER)
    response = client.patch("/api/v1/merchant", {"name": "x"}, format="json")
    error = assert_error(response, 500, "internal_error")
    assert "boom" not in json.dumps(error)


def test_every_response_carries_a_request_id(api, merchant):
    client = api.api_key(merchant, Role.VIEWER)
    generated = client.get("/api/v1/me")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/api/v1/me", HTTP_X_REQUEST_ID="trace-123")["X-Request-ID"] == "trace-123"
    assert len(client.get("/api/v1/me", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]) == 32


def test_json_logs_carry_the_request_id():
    from distribution.context import request_id_var

    token = request_id_var.set("req-7")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        record.merchant_id = 3
        RequestIdFilter().filter(record)
        payload = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert payload["message"] == "hello world"
    assert payload["request_id"] == "req-7"
    assert payload["merchant_id"] == 3
    assert payload["level"] == "INFO"
