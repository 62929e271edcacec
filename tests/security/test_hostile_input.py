"""Finding 7: hostile bodies, paths, cursors and signature headers are refused with a 4xx in the one error
shape on every endpoint, including the login endpoints and the webhook, and none is a 500."""

import json

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from merchants.roles import Role
from orders.models import Order
from orders.services import webhooks
from tests.builders.orders import setup_shop
from tests.helpers import assert_error
from tests.routes import api_routes

pytestmark = pytest.mark.django_db

DEEP = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
BIG = b'{"title": "' + b"x" * 3_000_000 + b'"}'


@pytest.fixture
def endpoint(api, merchant):
    setup_shop(merchant)
    body = api.staff(merchant, Role.OWNER).post("/api/v1/webhook-endpoint").json()
    return {"secret": body["secret"], "url": f"/api/v1/webhooks/orders/{body['public_id']}"}


def _post(client, url, raw, **headers):
    return client.generic("POST", url, raw, content_type="application/json", **headers)


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT, b'{"items": ' + b"[" * 40 + b"]" * 40 + b"}"])
def test_deeply_nested_json_is_a_400_invalid_json(api, merchant, raw):
    client = api.api_key(merchant, Role.ADMIN)
    assert_error(_post(client, "/api/v1/products", raw), 400, "invalid_json")
    assert_error(_post(client, "/api/v1/orders", raw), 400, "invalid_json")
    assert_error(_post(APIClient(), "/api/v1/auth/token", raw), 400, "invalid_json")
    assert not Product.objects.for_merchant(merchant).exists()


def test_nesting_up_to_the_limit_is_parsed(api, merchant):
    raw = b'{"external_id": "x", "title": "t", "price": "1.00", "deep": ' + b"[" * 30 + b"]" * 30 + b"}"
    error = assert_error(_post(api.api_key(merchant, Role.ADMIN), "/api/v1/products", raw), 400, "unknown_field")
    assert list(error["fields"]) == ["deep"]


def test_deep_json_through_the_signed_webhook_is_a_400_invalid_json(endpoint, merchant):
    header = webhooks.signature_header(endpoint["secret"], DEEP)
    assert_error(_post(APIClient(), endpoint["url"], DEEP, HTTP_X_DISTRIBUTION_SIGNATURE=header), 400, "invalid_json")
    assert not Order.objects.for_merchant(merchant).exists()


def test_a_body_over_the_limit_is_a_413_everywhere(api, merchant, endpoint, settings):
    urls = ["/api/v1/products", "/api/v1/auth/token", "/api/auth/login/", "/admin/login/", endpoint["url"]]
    client = api.api_key(merchant, Role.ADMIN)
    for url in urls:
        response = _post(client, url, BIG)
        error = assert_error(response, 413, "payload_too_large")
        assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]
    assert not Product.objects.for_merchant(merchant).filter(external_id="x").exists()


def test_the_limit_is_a_setting(api, merchant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = b'{"external_id": "x", "title": "' + b"t" * 100 + b'", "price": "1.00"}'
    assert_error(_post(api.api_key(merchant, Role.ADMIN), "/api/v1/products", body), 413, "payload_too_large")


def test_a_malformed_content_length_is_a_400(api, merchant):
    response = api.api_key(merchant, Role.ADMIN).generic(
        "POST", "/api/v1/products", b"{}", content_type="application/json", CONTENT_LENGTH="１２"
    )
    assert_error(response, 400, "malformed_request")


@pytest.mark.parametrize("segment", ["a%00b", "a%01b", "%00", "a%7Fb"])
def test_a_control_character_in_a_path_is_a_404(api, merchant, segment):
    staff = api.staff(merchant)
    for url in [
        f"/api/v1/orders/{segment}",
        f"/api/v1/products/{segment}",
        f"/api/v1/api-keys/{segment}",
        f"/api/v1/webhooks/orders/{segment}",
        f"/api/v1/orders/{segment}/events",
    ]:
        assert_error(staff.get(url), 404, "not_found")
        assert_error(staff.post(url, {}, format="json"), 404, "not_found")


def test_a_nul_in_a_query_string_is_a_400(api, merchant):
    staff = api.staff(merchant)
    for query in ["q=a%00b", "external_id=%00", "cursor=%00", "format=csv%00"]:
        assert_error(staff.get(f"/api/v1/products?{query}"), 400, "malformed_request")


GARBAGE_CURSORS = [
    "cD1hYmM=",
    "cD0xMA==",
    "cD0xMA==:forged",
    "cD0=",
    "bz0tMQ==",
    "cj14",
    "not base64!",
    "cD0xMjM0NTY3ODkwMTIzNDU2Nzg5MDEy",
    "wq==",
]


@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
def test_a_garbage_cursor_is_a_400_invalid_cursor_on_every_list(api, merchant, cursor):
    staff = api.staff(merchant)
    distributor = api.distributor(merchant)
    checked = 0
    for route in api_routes():
        if route.object_params or "GET" not in route.methods or not hasattr(route.view, "list"):
            continue
        client = distributor if route.is_distributor else staff
        plain = client.get(route.url())
        if plain.status_code != 200 or "next" not in plain.json():
            continue  # not a paged list (or the caller is not a distributor yet: refused before paging)
        assert_error(client.get(route.url(), {"cursor": cursor}), 400, "invalid_cursor")
        checked += 1
    assert checked >= 15


def test_a_real_cursor_still_pages(api, merchant):
    for n in range(3):
        Product.objects.create(merchant=merchant, external_id=f"p{n}", title="t", price=1)
    staff = api.staff(merchant)
    first = staff.get("/api/v1/products", {"limit": 2}).json()
    second = staff.get(first["next"]).json()
    assert [p["external_id"] for p in first["results"] + second["results"]] == ["p2", "p1", "p0"]


@pytest.mark.parametrize(
    "header",
    [
        "t=\xb2,v1=" + "a" * 64,
        "t=,v1=" + "a" * 64,
        "v1=" + "a" * 64,
        "t=1",
        "t=１７００,v1=" + "a" * 64,
        "t=1700000000,v1=\xe9" * 3,
        "t=1700000000,v1=" + "g" * 64,
        "garbage",
        ",,,",
        "t=99999999999999999999,v1=aa",
    ],
)
def test_a_malformed_signature_header_is_a_401(endpoint, merchant, header):
    response = _post(APIClient(), endpoint["url"], b"{}", HTTP_X_DISTRIBUTION_SIGNATURE=header)
    assert_error(response, 401, "invalid_signature")
    assert not Order.objects.for_merchant(merchant).exists()


@pytest.mark.parametrize("key", ["abc.\x00def", "é.é", "x" * 500, "a.b\u2028"])
def test_odd_credentials_are_a_401(key):
    for headers in ({"HTTP_X_API_KEY": key}, {"HTTP_AUTHORIZATION": f"Bearer {key}"}):
        assert_error(APIClient().get("/api/v1/me", **headers), 401)
        assert_error(APIClient().get("/api/v1/distributor/me", **headers), 401)


def test_a_webhook_id_sent_again_is_acknowledged_with_the_same_body_and_refused_with_another(endpoint, merchant):
    """Finding 13: what the README says about a replayed webhook id is what happens."""
    from tests.builders.orders import paid_body

    def deliver(event):
        raw = json.dumps(event).encode()
        header = webhooks.signature_header(endpoint["secret"], raw)
        return _post(APIClient(), endpoint["url"], raw, HTTP_X_DISTRIBUTION_SIGNATURE=header)

    first = {"id": "evt-9", "type": "order.paid", "data": paid_body("o-9")}
    assert deliver(first).json()["duplicate"] is False
    again = deliver(first)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    changed = {"id": "evt-9", "type": "order.paid", "data": paid_body("o-10")}
    assert_error(deliver(changed), 409, "event_id_reused")
    assert sorted(Order.objects.for_merchant(merchant).values_list("external_id", flat=True)) == ["o-9"]


@pytest.mark.parametrize("raw", [b'{"kind": "\\ud800", "value": "x", "reason": "x"}', b'{"\\udc00": 1}'])
def test_a_lone_surrogate_is_a_400_invalid_json_with_or_without_an_idempotency_key(api, merchant, raw):
    """(Found by the fuzz campaign) JSON allows the escape, but no database, log or answer can hold it."""
    client = api.staff(merchant)
    assert_error(_post(client, "/api/v1/blacklist", raw), 400, "invalid_json")
    assert_error(_post(client, "/api/v1/blacklist", raw, HTTP_IDEMPOTENCY_KEY="k"), 400, "invalid_json")
    from distributors.models import BlacklistEntry

    assert not BlacklistEntry.objects.for_merchant(merchant).exists()


def test_a_nul_in_a_field_that_names_an_object_is_a_400(api, merchant):
    body = {"name": "x", "kind": "product", "product": "a\x00b"}
    error = assert_error(api.staff(merchant).post("/api/v1/recruitment-entries", body, format="json"), 400)
    assert list(error["fields"]) == ["product"]


def test_a_huge_username_on_the_browser_logins_is_counted_not_a_500(db):
    from axes.models import AccessAttempt

    for url in ("/admin/login/", "/api/auth/login/"):
        response = APIClient().post(url, {"username": "9" * 15_000, "password": "x"})
        assert response.status_code == 200  # the form again, with its error
    assert AccessAttempt.objects.filter(username="9" * 150).exists()


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1E+999999999", "incorrect_type"),  # as a JSON number: a Decimal, never turned into an int
        ("1.5", "incorrect_type"),
        ('"99999999999999999999999"', "does_not_exist"),
        ('"１２"', "does_not_exist"),
        ("-3", "does_not_exist"),
    ],
)
def test_a_related_id_is_a_whole_number_and_a_huge_exponent_costs_nothing(api, merchant, value, code):
    """Found by the fuzz: `{"level": 1E+999999999}` reached int() through the ORM and ran for minutes."""
    import time

    distributor = setup_shop(merchant)["seller"]
    client = api.staff(merchant, Role.OWNER)
    start = time.monotonic()
    response = client.generic(
        "POST",
        f"/api/v1/distributors/{distributor.pk}/level",
        f'{{"level": {value}, "reason": "x"}}',
        content_type="application/json",
    )
    assert time.monotonic() - start < 5  # not a timing assertion on speed: a guard against minutes of CPU
    error = assert_error(response, 400, "invalid")
    assert error["fields"]["level"] == [
        {"incorrect_type": "Incorrect type.", "does_not_exist": "No such object."}[code]
    ]
