"""Staff tokens, sessions, API keys and distributor tokens: who gets in, as which merchant."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from distribution.models import AuditEvent
from merchants.models import Merchant, MerchantAPIKey, StaffToken
from merchants.roles import Role
from merchants.services.lifecycle import merchant_set_status
from tests.builders.factories import SYSTEM, UserFactory, make_api_key, make_member, make_merchant
from tests.helpers import PASSWORD, assert_error, login_request

pytestmark = pytest.mark.django_db


def login(client, username, password=PASSWORD, merchant=None):
    body = {"username": username, "password": password}
    if merchant:
        body["merchant"] = merchant
    return client.post("/api/v1/auth/token", body, format="json")


class TestStaffLogin:
    def test_login_returns_a_token_that_authenticates_as_the_membership(self, merchant):
        member = make_member(merchant, Role.FINANCE, username="fin")
        response = login(APIClient(), "fin")
        assert response.status_code == 201
        body = response.json()
        assert body["role"] == "finance"
        assert body["merchant"]["slug"] == "alpha"
        token = StaffToken.objects.for_merchant(merchant).get(membership=member)
        assert token.hashed_key != body["token"] and body["token"] not in token.hashed_key

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
        me = client.get("/api/v1/me").json()
        assert me["kind"] == "staff"
        assert me["role"] == "finance"
        assert me["merchant"]["slug"] == "alpha"
        assert "money.approve" in me["permissions"] and "staff.manage" not in me["permissions"]
        assert me["actor"] == {"kind": "staff", "id": str(member.user_id), "label": "fin"}

    def test_wrong_password_and_unknown_user_look_the_same(self, merchant):
        make_member(merchant, Role.OWNER, username="own")
        assert_error(login(APIClient(), "own", "wrong"), 401, "invalid_credentials")
        assert_error(login(APIClient(), "nobody", "wrong"), 401, "invalid_credentials")
        assert StaffToken.objects.unscoped().count() == 0

    def test_a_user_without_membership_is_told_so_and_gets_no_token(self, db):
        UserFactory(username="loner")
        error = assert_error(login(APIClient(), "loner"), 403, "not_staff")
        assert "not staff of any active merchant" in error["message"] and "invitations/accept" in error["message"]
        assert StaffToken.objects.unscoped().count() == 0

    def test_several_merchants_need_a_slug(self, merchant, other_merchant):
        user = UserFactory(username="both")
        make_member(merchant, Role.VIEWER, username="both")
        make_member(other_merchant, Role.OPERATOR, username="both")
        assert user.memberships.count() == 2
        assert_error(login(APIClient(), "both"), 400, "merchant_required")
        response = login(APIClient(), "both", merchant="beta")
        assert response.status_code == 201
        assert response.json()["role"] == "operator"
        error = assert_error(login(APIClient(), "both", merchant="gamma"), 403, "not_staff")
        assert error["message"] == "This account is not staff of the merchant 'gamma'."

    def test_missing_fields_are_a_400_in_the_error_shape(self, db):
        error = assert_error(APIClient().post("/api/v1/auth/token", {}, format="json"), 400, "invalid")
        assert set(error["fields"]) == {"username", "password"}

    def test_revoke_logs_out(self, api, merchant):
        client = api.staff(merchant, Role.ADMIN)
        assert client.post("/api/v1/auth/token/revoke").status_code == 204
        assert_error(client.get("/api/v1/me"), 401, "authentication_failed")

    def test_an_expired_token_is_refused(self, api, merchant):
        client = api.staff(merchant, Role.ADMIN)
        StaffToken.objects.for_merchant(merchant).update(expiry_date=timezone.now() - timedelta(seconds=1))
        assert_error(client.get("/api/v1/me"), 401, "authentication_failed")

    def test_an_inactive_user_token_is_refused(self, api, merchant):
        client = api.staff(merchant, Role.ADMIN)
        client.membership.user.is_active = False
        client.membership.user.save()
        assert_error(client.get("/api/v1/me"), 401, "authentication_failed")

    def test_no_credentials_is_401_with_a_challenge(self, db):
        response = APIClient().get("/api/v1/me")
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'

    def test_garbage_tokens_are_401(self, db):
        for header in ["Bearer", "Bearer a b", "Bearer nodot", "Bearer abc.def", "Bearer " + "x." * 200]:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=header)
            assert client.get("/api/v1/me").status_code == 401, header


class TestSessions:
    def test_session_login_uses_the_chosen_merchant(self, merchant, other_merchant):
        make_member(merchant, Role.VIEWER, username="both")
        make_member(other_merchant, Role.ADMIN, username="both")
        client = APIClient(enforce_csrf_checks=False)
        assert client.login(request=login_request(), username="both", password=PASSWORD)
        assert client.get("/api/v1/me").json()["merchant"]["slug"] == "alpha"  # first membership
        response = client.post("/api/v1/auth/session/merchant", {"merchant": "beta"}, format="json")
        assert response.status_code == 200 and response.json()["role"] == "admin"
        assert client.get("/api/v1/me").json()["merchant"]["slug"] == "beta"
        assert_error(client.post("/api/v1/auth/session/merchant", {"merchant": "nope"}, format="json"), 404)

    def test_session_writes_need_csrf(self, merchant):
        make_member(merchant, Role.OWNER, username="own")
        client = APIClient(enforce_csrf_checks=True)
        client.login(request=login_request(), username="own", password=PASSWORD)
        assert_error(client.patch("/api/v1/program", {"after_sales_days": 9}, format="json"), 403)

    def test_token_clients_cannot_switch_session_merchant(self, api, merchant):
        client = api.staff(merchant, Role.OWNER)
        assert_error(
            client.post("/api/v1/auth/session/merchant", {"merchant": "alpha"}, format="json"), 400, "not_a_session"
        )


class TestApiKeys:
    def test_key_is_shown_once_and_stored_hashed(self, api, merchant):
        client = api.staff(merchant, Role.OWNER)
        response = client.post("/api/v1/api-keys", {"name": "shop server", "role": "operator"}, format="json")
        assert response.status_code == 201
        body = response.json()
        key = body["key"]
        prefix, _, secret = key.partition(".")
        assert body["prefix"] == prefix and len(secret) == 32
        stored = MerchantAPIKey.objects.for_merchant(merchant).get(prefix=prefix)
        assert secret not in stored.hashed_key and stored.hashed_key.startswith("sha512$$")
        assert stored.created_by == client.membership.user
        listed = client.get("/api/v1/api-keys").json()["results"]
        assert [k["prefix"] for k in listed] == [prefix]
        assert "key" not in listed[0]
        assert "key" not in client.get(f"/api/v1/api-keys/{prefix}").json()

    @pytest.mark.parametrize("style", ["x-api-key", "authorization"])
    def test_key_authenticates_with_its_role(self, merchant, style):
        api_key, key = make_api_key(merchant, role=Role.OPERATOR)
        client = APIClient()
        if style == "x-api-key":
            client.credentials(HTTP_X_API_KEY=key)
        else:
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        me = client.get("/api/v1/me").json()
        assert me["kind"] == "api_key" and me["role"] == "operator"
        assert me["actor"] == {"kind": "api_key", "id": api_key.prefix, "label": "test key"}
        api_key.refresh_from_db()
        assert api_key.last_used_at is not None
        # operators cannot change program settings
        assert_error(client.patch("/api/v1/program", {"after_sales_days": 3}, format="json"), 403, "permission_denied")

    def test_last_used_is_written_at_most_once_a_minute(self, api, merchant):
        client = api.api_key(merchant)
        client.get("/api/v1/me")
        first = MerchantAPIKey.objects.for_merchant(merchant).get().last_used_at
        client.get("/api/v1/me")
        assert MerchantAPIKey.objects.for_merchant(merchant).get().last_used_at == first
        MerchantAPIKey.objects.for_merchant(merchant).update(last_used_at=first - timedelta(minutes=2))
        client.get("/api/v1/me")
        assert MerchantAPIKey.objects.for_merchant(merchant).get().last_used_at > first

    def test_revoked_and_expired_keys_are_refused(self, api, merchant):
        admin = api.staff(merchant, Role.OWNER)
        api_key, key = make_api_key(merchant)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        assert client.get("/api/v1/me").status_code == 200
        response = admin.post(f"/api/v1/api-keys/{api_key.prefix}/revoke")
        assert response.status_code == 200 and response.json()["revoked"] is True
        assert_error(client.get("/api/v1/me"), 401, "authentication_failed")

        api_key2, key2 = make_api_key(merchant)
        MerchantAPIKey.objects.for_merchant(merchant).filter(pk=api_key2.pk).update(
            expiry_date=timezone.now() - timedelta(seconds=1)
        )
        client.credentials(HTTP_X_API_KEY=key2)
        assert_error(client.get("/api/v1/me"), 401, "authentication_failed")

    def test_a_wrong_secret_with_a_real_prefix_is_refused(self, merchant):
        api_key, _ = make_api_key(merchant)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=f"{api_key.prefix}.{'0' * 32}")
        assert_error(client.get("/api/v1/me"), 401, "authentication_failed")

    def test_a_key_cannot_revoke_itself(self, api, merchant):
        client = api.api_key(merchant, Role.ADMIN)
        assert_error(client.post(f"/api/v1/api-keys/{client.api_key.prefix}/revoke"), 403, "cannot_revoke_self")

    def test_roles_limit_which_keys_can_be_made(self, api, merchant):
        admin = api.staff(merchant, Role.ADMIN)
        assert admin.post("/api/v1/api-keys", {"name": "k", "role": "operator"}, format="json").status_code == 201
        assert_error(
            admin.post("/api/v1/api-keys", {"name": "k", "role": "finance"}, format="json"), 403, "role_not_grantable"
        )
        owner = api.staff(merchant, Role.OWNER)
        assert_error(owner.post("/api/v1/api-keys", {"name": "k", "role": "owner"}, format="json"), 400, "invalid")
        assert owner.post("/api/v1/api-keys", {"name": "k", "role": "finance"}, format="json").status_code == 201
        past = (timezone.now() - timedelta(days=1)).isoformat()
        assert_error(
            owner.post("/api/v1/api-keys", {"name": "k", "role": "viewer", "expires_at": past}, format="json"),
            400,
            "invalid",
        )
        assert MerchantAPIKey.objects.for_merchant(merchant).count() == 2

    @pytest.mark.parametrize("caller", ["api_key", "staff"])
    def test_an_admin_cannot_revoke_a_key_it_could_not_create(self, api, merchant, caller):
        finance_key, finance_plain = make_api_key(merchant, role=Role.FINANCE, name="books")
        admin = api.api_key(merchant, Role.ADMIN) if caller == "api_key" else api.staff(merchant, Role.ADMIN)
        create = admin.post("/api/v1/api-keys", {"name": "k", "role": "finance"}, format="json")
        refused_create = assert_error(create, 403, "role_not_grantable")
        events = AuditEvent.objects.for_merchant(merchant).count()

        refused = assert_error(admin.post(f"/api/v1/api-keys/{finance_key.prefix}/revoke"), 403, "role_not_grantable")

        assert refused["code"] == refused_create["code"]
        finance_key.refresh_from_db()
        assert finance_key.revoked is False
        assert AuditEvent.objects.for_merchant(merchant).count() == events
        server = APIClient()
        server.credentials(HTTP_X_API_KEY=finance_plain)
        assert server.get("/api/v1/me").status_code == 200
        # what the admin could create, it can revoke; the owner can revoke the finance key
        operator_key, _ = make_api_key(merchant, role=Role.OPERATOR, name="shop")
        assert admin.post(f"/api/v1/api-keys/{operator_key.prefix}/revoke").json()["revoked"] is True
        owner = api.staff(merchant, Role.OWNER)
        assert owner.post(f"/api/v1/api-keys/{finance_key.prefix}/revoke").json()["revoked"] is True

    def test_a_key_is_useless_at_another_merchant(self, api, merchant, other_merchant):
        client = api.api_key(other_merchant)
        ProductFactory = __import__("tests.builders.factories", fromlist=["ProductFactory"]).ProductFactory
        ProductFactory(merchant=merchant, external_id="secret-sku")
        assert_error(client.get("/api/v1/products/secret-sku"), 404, "not_found")
        assert client.get("/api/v1/products").json()["results"] == []


class TestSuspendedMerchant:
    def test_every_credential_stops_working(self, api, merchant):
        staff = api.staff(merchant, Role.OWNER)
        server = api.api_key(merchant)
        app = api.distributor(merchant)
        merchant_set_status(merchant=merchant, actor=SYSTEM, status=Merchant.Status.SUSPENDED)
        assert_error(staff.get("/api/v1/me"), 403, "merchant_suspended")
        assert_error(server.get("/api/v1/me"), 403, "merchant_suspended")
        assert_error(app.get("/api/v1/distributor/me"), 403, "merchant_suspended")
        assert_error(login(APIClient(), staff.membership.user.username), 403, "not_staff")
        merchant_set_status(merchant=merchant, actor=SYSTEM, status=Merchant.Status.ACTIVE)
        assert staff.get("/api/v1/me").status_code == 200


def test_make_merchant_gives_a_program_and_an_owner(db):
    m = make_merchant("gamma")
    assert m.program.commission_depth == 2
    assert m.currency == "CNY" and m.timezone == "Asia/Shanghai"
