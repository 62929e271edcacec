"""Staff join by invitation: a single-use, expiring token the merchant makes and the invitee accepts."""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from distribution.models import AuditEvent
from merchants.models import Invitation, Membership
from merchants.roles import Role
from merchants.services.lifecycle import merchant_set_status
from merchants.services.staff import invitation_create
from tests.builders.factories import SYSTEM, UserFactory, make_member, make_merchant, owner_of
from tests.helpers import PASSWORD, assert_error, login_request, parallel

User = get_user_model()
ACCEPT = "/api/v1/auth/invitations/accept"
NEW_PASSWORD = "a long enough pass 42"


def anonymous() -> APIClient:
    """A caller from an address of its own, so that the per-address login throttle counts this test alone."""
    return APIClient(REMOTE_ADDR=f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}")


def invite(client, role="operator", **body):
    response = client.post("/api/v1/staff/invitations", {"role": role, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def accept(client, token, **body):
    return client.post(ACCEPT, {"token": token, **body}, format="json")


def state():
    """What an invitation flow can write: users, memberships, invitations and audit events."""
    return (
        sorted(User.objects.values_list("pk", "username", "password", "email")),
        sorted(Membership.objects.unscoped().values_list("pk", "merchant_id", "user_id", "role")),
        sorted(Invitation.objects.unscoped().values_list("pk", "status", "accepted_by_id", "accepted_at")),
        AuditEvent.objects.unscoped().count(),
    )


def without_ids(content: bytes) -> str:
    """A response body with its ids, timestamps and tokens blanked, for comparing two answers byte by byte."""
    text = re.sub(r'"(id|expires_at|created_at|updated_at|token)": ?("[^"]*"|\d+)', r'"\1": _', content.decode())
    return text


@pytest.mark.django_db
class TestInviting:
    def test_the_token_is_shown_once_and_stored_hashed(self, owner_client, merchant):
        with override_settings(STAFF_INVITATION_TTL_HOURS=5):
            before = timezone.now()
            body = invite(owner_client, "finance", email="fin@example.com")
        token = body.pop("token")
        assert body.pop("secret_withheld") is False
        prefix, _, secret = token.partition(".")
        stored = Invitation.objects.for_merchant(merchant).get()
        assert stored.prefix == prefix and len(secret) == 32
        assert stored.hashed_key.startswith("sha512$$") and secret not in stored.hashed_key
        assert body == {
            "id": stored.pk,
            "email": "fin@example.com",
            "role": "finance",
            "status": "pending",
            "expires_at": body["expires_at"],
            "invited_by": "alpha-owner",
            "accepted_by": None,
            "accepted_at": None,
            "created_at": body["created_at"],
        }
        assert before + timedelta(hours=5) <= stored.expires_at <= timezone.now() + timedelta(hours=5)
        listed = owner_client.get("/api/v1/staff/invitations").json()["results"]
        assert listed == [body]
        assert owner_client.get(f"/api/v1/staff/invitations/{stored.pk}").json() == body
        assert token not in json.dumps(
            AuditEvent.objects.for_merchant(merchant).get(action="invitation.created").changes
        )
        event = AuditEvent.objects.for_merchant(merchant).get(action="invitation.created")
        assert event.changes["role"] == [None, "finance"] and event.changes["email"] == [None, "f***@example.com"]

    def test_an_invitation_without_email_shows_null(self, owner_client):
        assert invite(owner_client, "viewer")["email"] is None

    def test_roles_limit_what_can_be_invited_and_revoked(self, api, merchant):
        admin = api.staff(merchant, Role.ADMIN)
        before = state()
        for role in ("owner", "finance"):
            error = assert_error(
                admin.post("/api/v1/staff/invitations", {"role": role}, format="json"), 403, "role_not_grantable"
            )
            assert error["code"] == "role_not_grantable"
        assert state() == before
        assert invite(admin, "operator")["role"] == "operator"

        finance = invite(api.staff(merchant, Role.OWNER), "finance")
        before = state()
        assert_error(admin.post(f"/api/v1/staff/invitations/{finance['id']}/revoke"), 403, "role_not_grantable")
        assert state() == before
        assert Invitation.objects.for_merchant(merchant).get(pk=finance["id"]).status == "pending"

    def test_managing_invitations_needs_staff_manage(self, api, merchant):
        viewer = api.staff(merchant, Role.VIEWER)
        assert_error(viewer.get("/api/v1/staff/invitations"), 403, "permission_denied")
        assert_error(viewer.post("/api/v1/staff/invitations", {"role": "viewer"}, format="json"), 403)
        assert not Invitation.objects.for_merchant(merchant).exists()

    def test_revoke_then_the_token_is_dead(self, owner_client, merchant):
        body = invite(owner_client)
        revoked = owner_client.post(f"/api/v1/staff/invitations/{body['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
        again = owner_client.post(f"/api/v1/staff/invitations/{body['id']}/revoke")
        assert again.status_code == 200 and again.json()["status"] == "revoked"
        events = AuditEvent.objects.for_merchant(merchant).filter(action="invitation.revoked")
        assert [e.changes for e in events] == [{"status": ["pending", "revoked"]}]
        assert_error(accept(anonymous(), body["token"], username="alpha-owner", password=PASSWORD), 400)

    def test_an_accepted_invitation_cannot_be_revoked(self, owner_client, merchant):
        body = invite(owner_client)
        joiner = UserFactory(username="joiner")
        assert accept(anonymous(), body["token"], username="joiner", password=PASSWORD).status_code == 201
        before = state()
        assert_error(owner_client.post(f"/api/v1/staff/invitations/{body['id']}/revoke"), 409, "invalid_transition")
        assert state() == before
        shown = owner_client.get(f"/api/v1/staff/invitations/{body['id']}").json()
        assert shown["status"] == "accepted" and shown["accepted_by"] == joiner.username

    def test_expired_is_shown_and_filtered(self, owner_client, merchant):
        old, new = invite(owner_client), invite(owner_client)
        Invitation.objects.for_merchant(merchant).filter(pk=old["id"]).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        statuses = {i["id"]: i["status"] for i in owner_client.get("/api/v1/staff/invitations").json()["results"]}
        assert statuses == {old["id"]: "expired", new["id"]: "pending"}
        expired = owner_client.get("/api/v1/staff/invitations?status=expired").json()["results"]
        pending = owner_client.get("/api/v1/staff/invitations?status=pending").json()["results"]
        assert [i["id"] for i in expired] == [old["id"]] and [i["id"] for i in pending] == [new["id"]]


@pytest.mark.django_db
class TestAccepting:
    def test_a_new_account_is_made_for_the_merchant(self, owner_client, merchant):
        token = invite(owner_client, "finance")["token"]
        client = anonymous()
        response = accept(client, token, new_account=True, username="newbie", password=NEW_PASSWORD, email="n@ex.com")
        assert response.status_code == 201, response.content
        body = response.json()
        membership = Membership.objects.for_merchant(merchant).get(user__username="newbie@alpha")
        assert body == {
            "id": membership.pk,
            "user": {"id": membership.user_id, "username": "newbie@alpha", "email_masked": "n***@ex.com"},
            "role": "finance",
            "created_at": body["created_at"],
            "updated_at": body["updated_at"],
            "merchant": {**body["merchant"], "slug": "alpha"},
        }
        assert membership.user.email == "n@ex.com" and membership.user.check_password(NEW_PASSWORD)
        login = client.post("/api/v1/auth/token", {"username": "newbie@alpha", "password": NEW_PASSWORD}, format="json")
        assert login.status_code == 201 and login.json()["role"] == "finance"
        invitation = Invitation.objects.for_merchant(merchant).get()
        assert invitation.status == "accepted" and invitation.accepted_by == membership.user
        added = AuditEvent.objects.for_merchant(merchant).get(action="membership.added")
        assert added.changes == {
            "user": [None, "newbie@alpha"],
            "role": [None, "finance"],
            "invitation": [None, invitation.pk],
            "new_account": [None, True],
        }
        assert (added.actor_kind, added.actor_label) == ("staff", "newbie@alpha")
        assert AuditEvent.objects.for_merchant(merchant).get(action="invitation.accepted").changes == {
            "status": ["pending", "accepted"]
        }

    def test_an_existing_account_joins_with_its_password_and_keeps_it(self, owner_client, merchant, other_merchant):
        shared = make_member(other_merchant, Role.OWNER, username="shared").user
        token = invite(owner_client, "viewer")["token"]
        response = accept(anonymous(), token, username="shared", password=PASSWORD)
        assert response.status_code == 201
        assert response.json()["user"] == {"id": shared.pk, "username": "shared", "email_masked": "s***@example.com"}
        assert Membership.objects.for_merchant(merchant).get(user=shared).role == "viewer"
        shared.refresh_from_db()
        assert shared.check_password(PASSWORD)
        assert Membership.objects.for_merchant(other_merchant).get(user=shared).role == "owner"

    def test_a_logged_in_session_joins(self, owner_client, merchant):
        UserFactory(username="browser")
        token = invite(owner_client, "operator")["token"]
        client = anonymous()
        assert client.login(request=login_request(), username="browser", password=PASSWORD)
        response = accept(client, token)
        assert response.status_code == 201 and response.json()["user"]["username"] == "browser"
        assert Membership.objects.for_merchant(merchant).get(user__username="browser").role == "operator"

    def test_a_session_accept_needs_the_csrf_token(self, owner_client, merchant):
        UserFactory(username="browser")
        token = invite(owner_client, "operator")["token"]
        client = APIClient(enforce_csrf_checks=True, REMOTE_ADDR="10.200.0.1")
        assert client.login(request=login_request(), username="browser", password=PASSWORD)
        before = state()
        assert_error(accept(client, token), 403)
        assert state() == before

    def test_wrong_password_and_unknown_user_answer_alike(self, owner_client, merchant):
        UserFactory(username="real")
        token = invite(owner_client)["token"]
        before = state()
        wrong = accept(anonymous(), token, username="real", password="wrong password")
        unknown = accept(anonymous(), token, username="nobody-at-all", password="wrong password")
        assert_error(wrong, 401, "invalid_credentials")
        assert (wrong.status_code, wrong.content) == (unknown.status_code, unknown.content)
        assert state() == before

    def test_unknown_wrong_expired_revoked_and_used_tokens_answer_alike(self, owner_client, merchant):
        UserFactory(username="joiner")
        used, revoked, expired, good = (invite(owner_client)["token"] for _ in range(4))
        assert accept(anonymous(), used, username="joiner", password=PASSWORD).status_code == 201
        revoked_id = Invitation.objects.for_merchant(merchant).get(prefix=revoked.partition(".")[0]).pk
        owner_client.post(f"/api/v1/staff/invitations/{revoked_id}/revoke")
        Invitation.objects.for_merchant(merchant).filter(prefix=expired.partition(".")[0]).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        prefix = good.partition(".")[0]
        tokens = [used, revoked, expired, f"{prefix}.{'0' * 32}", "Abcdefgh." + "x" * 32, "garbage", "a.b"]
        UserFactory(username="other")
        before = state()
        answers = set()
        for token in tokens:
            response = accept(anonymous(), token, username="other", password=PASSWORD)
            assert_error(response, 400, "invitation_invalid")
            answers.add((response.status_code, response.content))
        assert len(answers) == 1
        assert state() == before

    def test_a_suspended_merchants_invitation_is_invalid(self, owner_client, merchant):
        UserFactory(username="joiner")
        token = invite(owner_client)["token"]
        merchant_set_status(merchant=merchant, actor=SYSTEM, status="suspended")
        before = state()
        assert_error(accept(anonymous(), token, username="joiner", password=PASSWORD), 400, "invitation_invalid")
        assert state() == before

    def test_an_invitation_is_used_once(self, owner_client, merchant):
        UserFactory(username="first")
        UserFactory(username="second")
        token = invite(owner_client)["token"]
        assert accept(anonymous(), token, username="first", password=PASSWORD).status_code == 201
        before = state()
        assert_error(accept(anonymous(), token, username="second", password=PASSWORD), 400, "invitation_invalid")
        assert state() == before

    def test_a_member_already_is_a_conflict_and_the_invitation_stays(self, owner_client, merchant):
        make_member(merchant, Role.VIEWER, username="dup")
        token = invite(owner_client)["token"]
        before = state()
        assert_error(accept(anonymous(), token, username="dup", password=PASSWORD), 409, "already_member")
        assert state() == before
        assert Invitation.objects.for_merchant(merchant).get().status == "pending"

    def test_a_new_account_needs_a_good_password_and_a_plain_name(self, owner_client, merchant):
        token = invite(owner_client)["token"]
        before = state()
        weak = assert_error(accept(anonymous(), token, new_account=True, username="np", password="123"), 400, "invalid")
        assert set(weak["fields"]) == {"password"}
        odd = accept(anonymous(), token, new_account=True, username="a@b", password=NEW_PASSWORD)
        assert set(assert_error(odd, 400, "invalid")["fields"]) == {"username"}
        missing = assert_error(accept(anonymous(), token, new_account=True, username="np"), 400, "invalid")
        assert set(missing["fields"]) == {"password"}
        assert state() == before

    def test_the_input_is_strict(self, owner_client, merchant):
        token = invite(owner_client)["token"]
        before = state()
        nothing = assert_error(accept(anonymous(), token), 400, "invalid")
        assert set(nothing["fields"]) == {"username", "password"}
        assert_error(accept(anonymous(), token, username="x"), 400, "invalid")
        assert_error(accept(anonymous(), token, username="x", password="y", email="x@example.com"), 400, "invalid")
        assert_error(accept(anonymous(), token, role="owner", username="x", password="y"), 400, "unknown_field")
        assert state() == before

    def test_accepting_is_throttled_like_a_login(self, owner_client):
        token = invite(owner_client)["token"]
        client = anonymous()
        rates = {**api_settings.DEFAULT_THROTTLE_RATES, "login": "2/min"}
        with override_settings(REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}):
            for _ in range(2):
                assert_error(accept(client, token, username="nobody", password="wrong"), 401)
            assert_error(accept(client, token, username="nobody", password="wrong"), 429, "throttled")


@pytest.mark.django_db
class TestNoUserIsNamedByAnotherMerchant:
    """Finding 4 of issue 11: merchant B attached merchant A's owner, or the superuser, by username and
    answered with their e-mail; an unknown username answered differently."""

    @pytest.fixture
    def superuser(self, db):
        return User.objects.create_superuser("root", "root@platform.example.com", PASSWORD)

    def test_merchant_b_cannot_attach_a_user_by_username(self, api, merchant, other_merchant, superuser):
        b = api.staff(other_merchant, Role.OWNER)
        before = state()
        answers = {}
        for username in ("alpha-owner", "root", "never-existed"):
            for path, body in [
                ("/api/v1/staff", {"username": username, "role": "owner"}),
                ("/api/v1/staff", {"username": username, "role": "viewer", "password": NEW_PASSWORD}),
                ("/api/v1/staff/invitations", {"username": username, "role": "viewer"}),
            ]:
                response = b.post(path, body, format="json")
                answers.setdefault((path, json.dumps(sorted(body))), set()).add(
                    (response.status_code, response.content)
                )
        assert state() == before
        assert not Membership.objects.for_merchant(other_merchant).filter(user__username__in=["alpha-owner", "root"])
        for (path, _), seen in answers.items():
            assert len(seen) == 1, (path, seen)  # byte-identical for an existing and an unknown username
            status, content = seen.pop()
            assert status in (400, 405) and b"example.com" not in content

    def test_invitations_answer_alike_whoever_the_email_belongs_to(self, api, merchant, other_merchant, superuser):
        b = api.staff(other_merchant, Role.OWNER)
        known = b.post(
            "/api/v1/staff/invitations", {"role": "viewer", "email": "root@platform.example.com"}, format="json"
        )
        unknown = b.post(
            "/api/v1/staff/invitations", {"role": "viewer", "email": "root@platform.example.org"}, format="json"
        )
        assert known.status_code == unknown.status_code == 201
        assert without_ids(known.content).replace(".com", ".org") == without_ids(unknown.content)

    def test_a_new_accounts_name_never_meets_another_merchants_user(self, api, merchant, other_merchant, superuser):
        b = api.staff(other_merchant, Role.OWNER)
        answers = []
        for name in ("alpha-owner", "root", "never-existed"):
            token = invite(b, "viewer")["token"]
            response = accept(anonymous(), token, new_account=True, username=name, password=NEW_PASSWORD)
            assert response.status_code == 201, response.content
            assert response.json()["user"]["username"] == f"{name}@beta"
            answers.append(without_ids(response.content).replace(name, "NAME"))
        assert len(set(answers)) == 1
        alpha_owner = owner_of(merchant).user
        assert alpha_owner.check_password(PASSWORD)
        assert not Membership.objects.for_merchant(other_merchant).filter(user__in=[alpha_owner, superuser]).exists()
        # a name is taken only inside the merchant's own name space
        token = invite(b, "viewer")["token"]
        before = state()
        taken = accept(anonymous(), token, new_account=True, username="root", password=NEW_PASSWORD)
        assert_error(taken, 409, "username_taken")
        assert state() == before

    def test_staff_lists_mask_the_email_of_people_who_also_work_elsewhere(self, api, merchant, other_merchant):
        shared = make_member(merchant, Role.OWNER, username="shared").user
        token = invite(api.staff(other_merchant, Role.OWNER), "viewer")["token"]
        assert accept(anonymous(), token, username="shared", password=PASSWORD).status_code == 201
        viewer = api.staff(other_merchant, Role.VIEWER)
        for response in (
            viewer.get("/api/v1/staff"),
            viewer.get(f"/api/v1/staff/{Membership.objects.for_merchant(other_merchant).get(user=shared).pk}"),
        ):
            assert response.status_code == 200
            assert shared.email not in response.content.decode() and b"s***@example.com" in response.content
            assert b'"email"' not in response.content


@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_of_one_invitation_make_one_membership():
    merchant = make_merchant("alpha")
    _, token = invitation_create(merchant=merchant, actor=SYSTEM, actor_role=Role.OWNER, role=Role.OPERATOR)
    for i in range(0, 8, 2):
        UserFactory(username=f"racer{i}")

    def go(i):
        client = APIClient(REMOTE_ADDR=f"10.250.0.{i}")
        if i % 2:
            body = {"new_account": True, "username": f"fresh{i}", "password": NEW_PASSWORD}
        else:
            body = {"username": f"racer{i}", "password": PASSWORD}
        response = accept(client, token, **body)
        return response.status_code, response.json()

    results = parallel(8, go)
    assert sorted(status for status, _ in results) == [201] + [400] * 7
    assert {body["error"]["code"] for status, body in results if status == 400} == {"invitation_invalid"}
    joined = Membership.objects.for_merchant(merchant).exclude(role=Role.OWNER)
    assert joined.count() == 1
    winner = next(body for status, body in results if status == 201)
    assert joined.get().user.username == winner["user"]["username"]
    assert User.objects.filter(username__endswith="@alpha").count() == (1 if "@" in winner["user"]["username"] else 0)
    assert AuditEvent.objects.for_merchant(merchant).filter(action="membership.added").count() == 1
    invitation = Invitation.objects.for_merchant(merchant).get()
    assert invitation.status == "accepted" and invitation.accepted_by_id == joined.get().user_id
