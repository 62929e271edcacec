"""Findings 2, 6 and 12: failed logins lock the username and the client address (django-axes), the client
address comes from a configured number of trusted proxies, every throttle key includes the merchant, and
order webhooks are throttled per endpoint after their signature is verified."""

import json

import pytest
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from merchants.models import StaffToken
from merchants.roles import Role
from orders.services import webhooks
from tests.builders.factories import make_member, make_merchant
from tests.builders.orders import paid_body, setup_shop
from tests.helpers import PASSWORD, assert_error

pytestmark = pytest.mark.django_db


def rates(**changes):
    return override_settings(
        REST_FRAMEWORK={
            **api_settings.user_settings,
            "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, **changes},
        }
    )


def login(username, password, ip="10.0.0.1", **extra):
    return APIClient().post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json", REMOTE_ADDR=ip, **extra
    )


@pytest.fixture
def alice(merchant):
    return make_member(merchant, Role.OWNER, username="alice")


def test_five_wrong_passwords_lock_the_username_from_every_address(alice):
    for n in range(4):
        assert_error(login("alice", f"wrong {n}", ip=f"10.0.0.{n}"), 401, "invalid_credentials")
    assert_error(login("alice", "wrong 4", ip="10.0.0.4"), 429, "login_locked")  # the fifth failure locks
    locked = login("alice", PASSWORD, ip="10.9.9.9")
    error = assert_error(locked, 429, "login_locked")
    assert "15 minutes" in error["message"] and locked["Retry-After"] == "900"
    assert not StaffToken.objects.unscoped().exists()


def test_failures_from_one_address_lock_the_address_for_every_username(merchant, alice):
    make_member(merchant, Role.VIEWER, username="bob")
    for n in range(4):
        assert_error(login(f"nobody-{n}", "guess", ip="10.0.0.7"), 401)
    assert_error(login("nobody-4", "guess", ip="10.0.0.7"), 429, "login_locked")
    assert_error(login("bob", PASSWORD, ip="10.0.0.7"), 429, "login_locked")
    assert login("bob", PASSWORD, ip="10.0.0.8").status_code == 201


def test_a_success_resets_the_count(alice):
    for _ in range(4):
        login("alice", "wrong")
    assert login("alice", PASSWORD).status_code == 201
    for _ in range(4):
        login("alice", "wrong")
    assert login("alice", PASSWORD).status_code == 201


@override_settings(LOGIN_FAILURE_LIMIT=2, AXES_FAILURE_LIMIT=2)
def test_the_limit_is_a_setting(alice):
    login("alice", "wrong")
    login("alice", "wrong")
    assert_error(login("alice", PASSWORD), 429, "login_locked")


def test_rotating_x_forwarded_for_does_not_reset_the_lock_or_the_throttle(alice):
    for n in range(5):
        login("alice", "wrong", ip="10.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}")
    assert_error(login("nobody", "x", ip="10.0.0.1", HTTP_X_FORWARDED_FOR="9.9.9.9"), 429, "login_locked")
    with rates(login="3/min"):
        answers = [login("bob", "x", ip="10.0.0.50", HTTP_X_FORWARDED_FOR=f"5.5.5.{n}").status_code for n in range(4)]
    assert answers[-1] == 429 and 429 not in answers[:3]


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_trusted_proxy_the_client_is_the_address_it_saw(alice):
    for n in range(5):
        # the client wrote the left part; our proxy appended the address it saw
        login("nobody", "x", ip="10.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.9")
    assert_error(login("alice", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"), 429, "login_locked")
    assert login("alice", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 201


def test_the_admin_and_browser_logins_lock_too(alice):
    client = APIClient(enforce_csrf_checks=False)
    for url in ("/admin/login/", "/api/auth/login/"):
        for n in range(5):
            client.post(url, {"username": f"x{n}{url}", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
        response = client.post(url, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
        assert response.status_code == 429 and response["Retry-After"] == "900"
        assert b"Too many failed logins" in response.content
        elsewhere = client.post(url, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.3")
        assert elsewhere.status_code != 429  # another address is not locked (the admin wants a staff account)
    assert (
        client.post("/api/auth/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.4").status_code
        == 302
    )


def test_a_distributor_throttle_counts_inside_its_merchant(api, merchant):
    other = make_merchant("beta")
    mine = api.distributor(merchant, external_user_id="same-user")
    theirs = api.distributor(other, external_user_id="same-user")
    with rates(distributor="3/min"):
        assert [mine.get("/api/v1/distributor/me").status_code for _ in range(4)][-1] == 429
        assert theirs.get("/api/v1/distributor/me").status_code != 429


def test_a_staff_throttle_counts_inside_its_merchant(api, merchant):
    other = make_merchant("beta")
    from tests.builders.factories import UserFactory

    user = UserFactory(username="both")
    make_member(merchant, Role.OWNER, username="both")
    make_member(other, Role.OWNER, username="both")
    assert user.memberships.count() == 2
    a = api.staff(merchant, Role.OWNER, username="both")
    b = api.staff(other, Role.OWNER, username="both")
    with rates(merchant="2/min"):
        assert [a.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
        assert b.get("/api/v1/me").status_code == 200


@pytest.fixture
def endpoint(api, merchant):
    setup_shop(merchant)
    body = api.staff(merchant, Role.OWNER).post("/api/v1/webhook-endpoint").json()
    return {"secret": body["secret"], "url": f"/api/v1/webhooks/orders/{body['public_id']}"}


def deliver(endpoint, event, ip="10.0.0.1", secret=None):
    raw = json.dumps(event).encode()
    header = webhooks.signature_header(secret or endpoint["secret"], raw)
    return APIClient().generic(
        "POST",
        endpoint["url"],
        raw,
        content_type="application/json",
        HTTP_X_DISTRIBUTION_SIGNATURE=header,
        REMOTE_ADDR=ip,
    )


def test_signed_webhooks_are_not_held_to_the_anonymous_rate(endpoint):
    with rates(anon="2/min", webhook="100/min"):
        answers = [
            deliver(endpoint, {"id": f"e{n}", "type": "order.paid", "data": paid_body(f"o{n}")}) for n in range(5)
        ]
    assert [a.status_code for a in answers] == [200] * 5


def test_signed_webhooks_are_throttled_per_endpoint(api, endpoint):
    other_merchant = make_merchant("beta")
    setup_shop(other_merchant)
    body = api.staff(other_merchant).post("/api/v1/webhook-endpoint").json()
    other = {"secret": body["secret"], "url": f"/api/v1/webhooks/orders/{body['public_id']}"}
    with rates(webhook="3/min"):
        answers = [
            deliver(endpoint, {"id": f"e{n}", "type": "order.paid", "data": paid_body(f"o{n}")}) for n in range(4)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert_error(answers[-1], 429, "throttled")
        assert int(answers[-1]["Retry-After"]) > 0
        assert deliver(other, {"id": "x", "type": "order.paid", "data": paid_body("x")}).status_code == 200


def test_forged_signatures_are_counted_per_address_and_leave_the_shop_alone(endpoint):
    with rates(anon="2/min"):
        forged = [
            deliver(endpoint, {"id": "f", "type": "order.paid", "data": {}}, secret="whsec_wrong").status_code
            for _ in range(3)
        ]
        assert forged == [401, 401, 429]
        assert (
            deliver(endpoint, {"id": "e1", "type": "order.paid", "data": paid_body()}, ip="10.0.0.1").status_code == 200
        )
