"""Distributor tokens: issued by the merchant's server for its app users, working only on the distributor API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from distributors.models import DistributorToken
from merchants.roles import Role
from tests.builders.factories import make_distributor_token
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


class TestDistributorTokens:
    def test_merchant_issues_a_token_that_works_only_on_distributor_endpoints(self, api, merchant):
        server = api.api_key(merchant, Role.OPERATOR)
        response = server.post(
            "/api/v1/distributor-tokens", {"external_user_id": "wx-42", "ttl_seconds": 3600}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        app = APIClient()
        app.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
        me = app.get("/api/v1/distributor/me")
        assert me.status_code == 200
        assert me.json() == {
            "external_user_id": "wx-42",
            "merchant": server.get("/api/v1/merchant").json(),
            "status": "none",
            "distributor": None,
            "team": None,
            "progress": None,
        }
        # merchant endpoints never accept a distributor token
        assert_error(app.get("/api/v1/me"), 401, "authentication_failed")
        assert_error(app.get("/api/v1/products"), 401)
        # distributor endpoints never accept merchant credentials
        assert_error(server.get("/api/v1/distributor/me"), 401)
        staff = api.staff(merchant, Role.OWNER)
        assert_error(staff.get("/api/v1/distributor/me"), 401, "authentication_failed")

    def test_tokens_expire_and_can_be_revoked(self, api, merchant):
        server = api.api_key(merchant, Role.OPERATOR)
        token, key = make_distributor_token(merchant, "u1")
        app = APIClient()
        app.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert app.get("/api/v1/distributor/me").status_code == 200
        assert server.post(f"/api/v1/distributor-tokens/{token.prefix}/revoke").json()["revoked"] is True
        assert_error(app.get("/api/v1/distributor/me"), 401, "authentication_failed")

        token2, key2 = make_distributor_token(merchant, "u1")
        DistributorToken.objects.for_merchant(merchant).filter(pk=token2.pk).update(
            expiry_date=timezone.now() - timedelta(seconds=1)
        )
        app.credentials(HTTP_AUTHORIZATION=f"Bearer {key2}")
        assert_error(app.get("/api/v1/distributor/me"), 401)

    def test_revoke_user_signs_out_every_token_of_that_user(self, api, merchant):
        server = api.api_key(merchant, Role.OPERATOR)
        keys = [make_distributor_token(merchant, "u1")[1] for _ in range(3)]
        _, other_key = make_distributor_token(merchant, "u2")
        response = server.post("/api/v1/distributor-tokens/revoke-user", {"external_user_id": "u1"}, format="json")
        assert response.json() == {"revoked": 3}
        for key in keys:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            assert client.get("/api/v1/distributor/me").status_code == 401
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
        assert client.get("/api/v1/distributor/me").status_code == 200

    def test_ttl_is_bounded(self, api, merchant):
        server = api.api_key(merchant, Role.OPERATOR)
        for ttl in (59, 10**9):
            response = server.post(
                "/api/v1/distributor-tokens", {"external_user_id": "u", "ttl_seconds": ttl}, format="json"
            )
            assert_error(response, 400, "invalid")
        assert DistributorToken.objects.for_merchant(merchant).count() == 0

    def test_viewers_cannot_issue_tokens(self, api, merchant):
        viewer = api.staff(merchant, Role.VIEWER)
        response = viewer.post("/api/v1/distributor-tokens", {"external_user_id": "u"}, format="json")
        assert_error(response, 403, "permission_denied")
