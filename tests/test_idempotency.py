"""Idempotency-Key: replay, mismatch, scoping, refused requests, and concurrent duplicates."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from distribution.models import IdempotencyRecord
from merchants.roles import Role
from tests.builders.factories import make_api_key, make_merchant
from tests.helpers import assert_error, parallel

PRODUCT = {"external_id": "sku-1", "title": "Tea", "price": "12.30"}


def post(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/products", body, format="json", **headers)


@pytest.mark.django_db
class TestReplay:
    def test_same_key_same_body_replays_the_first_response(self, api, merchant):
        client = api.api_key(merchant, Role.OPERATOR)
        first = post(client, PRODUCT, key="k-1")
        assert first.status_code == 201
        assert "Idempotent-Replayed" not in first
        Product.objects.for_merchant(merchant).update(title="changed since")
        second = post(client, PRODUCT, key="k-1")
        assert second.status_code == 201
        assert second["Idempotent-Replayed"] == "true"
        assert second.json() == first.json()  # the stored response, not a new run
        assert Product.objects.for_merchant(merchant).get().title == "changed since"
        record = IdempotencyRecord.objects.for_merchant(merchant).get()
        assert (record.key, record.method, record.path, record.response_status) == (
            "k-1",
            "POST",
            "/api/v1/products",
            201,
        )
        assert record.scope == f"api_key:{client.api_key.prefix}"

    def test_same_key_different_body_is_refused(self, api, merchant):
        client = api.api_key(merchant, Role.OPERATOR)
        post(client, PRODUCT, key="k-1")
        response = post(client, {**PRODUCT, "price": "99.00"}, key="k-1")
        assert_error(response, 422, "idempotency_key_reused")
        assert Product.objects.for_merchant(merchant).get().price == 1230

    def test_key_order_in_the_body_does_not_matter(self, api, merchant):
        client = api.api_key(merchant, Role.OPERATOR)
        post(client, PRODUCT, key="k-1")
        reordered = dict(reversed(list(PRODUCT.items())))
        assert post(client, reordered, key="k-1")["Idempotent-Replayed"] == "true"

    def test_a_refused_request_keeps_no_record_and_can_be_retried(self, api, merchant):
        client = api.api_key(merchant, Role.OPERATOR)
        assert_error(post(client, {**PRODUCT, "price": "-1"}, key="k-1"), 400, "invalid")
        assert IdempotencyRecord.objects.for_merchant(merchant).count() == 0
        response = post(client, PRODUCT, key="k-1")
        assert response.status_code == 201 and "Idempotent-Replayed" not in response

    def test_keys_are_scoped_per_credential_and_merchant(self, api, merchant, other_merchant):
        one = api.api_key(merchant, Role.OPERATOR)
        _, key2 = make_api_key(merchant, Role.OPERATOR, name="second")
        two = APIClient()
        two.credentials(HTTP_X_API_KEY=key2)
        elsewhere = api.api_key(other_merchant, Role.OPERATOR)
        assert post(one, PRODUCT, key="same").status_code == 201
        assert "Idempotent-Replayed" not in post(two, {**PRODUCT, "title": "Other"}, key="same")
        assert post(elsewhere, PRODUCT, key="same").status_code == 201
        assert IdempotencyRecord.objects.unscoped().filter(key="same").count() == 3
        assert Product.objects.for_merchant(merchant).get().title == "Other"

    @pytest.mark.parametrize("bad", ["", "has space", "x" * 256, "ключ"])
    def test_malformed_keys_are_refused(self, api, merchant, bad):
        client = api.api_key(merchant, Role.OPERATOR)
        response = client.post("/api/v1/products", PRODUCT, format="json", HTTP_IDEMPOTENCY_KEY=bad)
        assert_error(response, 400, "invalid_idempotency_key")
        assert Product.objects.for_merchant(merchant).count() == 0

    def test_expired_keys_are_cleaned_up(self, api, merchant):
        from datetime import timedelta

        from django.utils import timezone

        from distribution.tasks import idempotency_cleanup

        client = api.api_key(merchant, Role.OPERATOR)
        post(client, PRODUCT, key="old")
        post(client, {**PRODUCT, "external_id": "sku-2"}, key="new")
        IdempotencyRecord.objects.for_merchant(merchant).filter(key="old").update(
            created_at=timezone.now() - timedelta(hours=25)
        )
        assert idempotency_cleanup() == 1
        assert list(IdempotencyRecord.objects.for_merchant(merchant).values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_from_parallel_connections_run_once():
    merchant = make_merchant("alpha")
    _, key = make_api_key(merchant, Role.OPERATOR)

    def call(i):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        response = post(client, PRODUCT, key="storm-1")
        return response.status_code, response.json(), response.get("Idempotent-Replayed")

    results = parallel(16, call)
    assert {status for status, _, _ in results} == {201}
    bodies = {str(body) for _, body, _ in results}
    assert len(bodies) == 1
    assert sum(1 for *_, replayed in results if replayed is None) == 1  # exactly one did the work
    assert Product.objects.for_merchant(merchant).count() == 1
    assert IdempotencyRecord.objects.for_merchant(merchant).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_without_a_key_never_fail():
    merchant = make_merchant("alpha")
    _, key = make_api_key(merchant, Role.OPERATOR)

    def call(i):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        return post(client, {**PRODUCT, "title": f"Tea {i % 2}"}).status_code

    statuses = parallel(12, call)
    assert set(statuses) <= {200, 201} and statuses.count(201) >= 1
    assert Product.objects.for_merchant(merchant).count() == 1
