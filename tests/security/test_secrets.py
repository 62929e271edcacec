"""Finding 5: a secret is shown once and stored nowhere but as its hash, not even in the response kept
for Idempotency-Key replays; a replay returns the object with the secret withheld and says so."""

import pytest

from distribution.models import IdempotencyRecord
from merchants.roles import Role

pytestmark = pytest.mark.django_db

CASES = [
    ("/api/v1/api-keys", {"name": "shop server", "role": "operator"}, "key", "prefix"),
    ("/api/v1/distributor-tokens", {"external_user_id": "wx-1"}, "token", "prefix"),
    ("/api/v1/webhook-endpoint", None, "secret", "public_id"),
]


@pytest.mark.parametrize(("url", "body", "secret_field", "id_field"), CASES)
def test_a_replay_withholds_the_secret_and_says_so(api, merchant, url, body, secret_field, id_field):
    client = api.staff(merchant, Role.OWNER)
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code in (200, 201), first.content
    secret = first.json()[secret_field]
    assert secret and first.json()["secret_withheld"] is False

    record = IdempotencyRecord.objects.for_merchant(merchant).get(key="k-1")
    assert secret not in record.response_body
    assert secret.split(".")[-1] not in record.response_body

    replay = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == first.status_code and replay["Idempotent-Replayed"] == "true"
    assert replay.json()[secret_field] is None and replay.json()["secret_withheld"] is True
    assert replay.json()[id_field] == first.json()[id_field]
    assert {k: v for k, v in replay.json().items() if k not in (secret_field, "secret_withheld")} == {
        k: v for k, v in first.json().items() if k not in (secret_field, "secret_withheld")
    }


def test_the_secret_still_works_after_a_replay(api, merchant):
    client = api.staff(merchant, Role.OWNER)
    key = client.post(
        "/api/v1/api-keys", {"name": "s", "role": "viewer"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    ).json()["key"]
    client.post("/api/v1/api-keys", {"name": "s", "role": "viewer"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=key).status_code == 200


def test_other_responses_are_kept_whole(api, merchant):
    client = api.staff(merchant, Role.OWNER)
    first = client.post(
        "/api/v1/products", {"external_id": "t", "title": "T", "price": "1.00"}, format="json", HTTP_IDEMPOTENCY_KEY="p"
    )
    replay = client.post(
        "/api/v1/products", {"external_id": "t", "title": "T", "price": "1.00"}, format="json", HTTP_IDEMPOTENCY_KEY="p"
    )
    assert replay.json() == first.json() and "secret_withheld" not in replay.json()
