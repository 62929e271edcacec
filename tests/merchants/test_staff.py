"""Staff membership: adding people, changing roles, removing them, and the owner rules."""

import pytest
from rest_framework.test import APIClient

from distribution.models import AuditEvent
from merchants.models import Membership, StaffToken
from merchants.roles import Role
from tests.factories import UserFactory, make_member, owner_of
from tests.helpers import PASSWORD, assert_error

pytestmark = pytest.mark.django_db


def test_owner_adds_a_new_user(api, merchant):
    client = api.staff(merchant, Role.OWNER)
    response = client.post(
        "/api/v1/staff",
        {"username": "newbie", "email": "n@example.com", "password": "a long enough pass 42", "role": "finance"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["role"] == "finance" and response.json()["user"]["username"] == "newbie"
    login = APIClient().post(
        "/api/v1/auth/token", {"username": "newbie", "password": "a long enough pass 42"}, format="json"
    )
    assert login.status_code == 201
    event = AuditEvent.objects.for_merchant(merchant).get(action="membership.added")
    assert event.changes == {"user": [None, "newbie"], "role": [None, "finance"]}


def test_an_existing_user_is_attached_without_touching_their_password(api, merchant, other_merchant):
    make_member(other_merchant, Role.OWNER, username="shared")
    client = api.staff(merchant, Role.OWNER)
    response = client.post(
        "/api/v1/staff", {"username": "shared", "password": "hijack attempt 123", "role": "viewer"}, format="json"
    )
    assert response.status_code == 201
    user = Membership.objects.for_merchant(merchant).get(user__username="shared").user
    assert user.check_password(PASSWORD)


def test_a_new_user_needs_a_good_password(api, merchant):
    client = api.staff(merchant, Role.OWNER)
    assert_error(client.post("/api/v1/staff", {"username": "np", "role": "viewer"}, format="json"), 400, "invalid")
    error = assert_error(
        client.post("/api/v1/staff", {"username": "np", "role": "viewer", "password": "123"}, format="json"),
        400,
        "invalid",
    )
    assert "password" in error["fields"]
    assert not Membership.objects.for_merchant(merchant).filter(user__username="np").exists()


def test_adding_twice_is_a_conflict(api, merchant):
    make_member(merchant, Role.VIEWER, username="dup")
    client = api.staff(merchant, Role.OWNER)
    assert_error(
        client.post("/api/v1/staff", {"username": "dup", "role": "viewer"}, format="json"), 409, "already_member"
    )


def test_admins_cannot_make_owners_or_finance(api, merchant):
    UserFactory(username="target")
    client = api.staff(merchant, Role.ADMIN)
    for role in ("owner", "finance"):
        assert_error(
            client.post("/api/v1/staff", {"username": "target", "role": role}, format="json"), 403, "role_not_grantable"
        )
    assert client.post("/api/v1/staff", {"username": "target", "role": "operator"}, format="json").status_code == 201


def test_admins_cannot_touch_owners(api, merchant):
    owner = owner_of(merchant)
    client = api.staff(merchant, Role.ADMIN)
    assert_error(
        client.patch(f"/api/v1/staff/{owner.pk}", {"role": "viewer"}, format="json"), 403, "role_not_grantable"
    )
    assert_error(client.delete(f"/api/v1/staff/{owner.pk}"), 403, "role_not_grantable")
    assert Membership.objects.for_merchant(merchant).get(pk=owner.pk).role == Role.OWNER


def test_the_last_owner_stays(api, merchant):
    owner = owner_of(merchant)
    second = make_member(merchant, Role.OWNER, username="second-owner")
    client = api.staff(merchant, Role.OWNER, username="second-owner")
    assert client.patch(f"/api/v1/staff/{owner.pk}", {"role": "admin"}, format="json").status_code == 200
    assert_error(
        client.patch(f"/api/v1/staff/{second.pk}", {"role": "admin"}, format="json"), 403, "role_not_grantable"
    )  # not your own role
    other = api.staff(merchant, Role.ADMIN, username=owner.user.username)
    assert other.get("/api/v1/me").json()["role"] == "admin"
    third = make_member(merchant, Role.OWNER, username="third-owner")
    c3 = api.staff(merchant, Role.OWNER, username="third-owner")
    assert c3.delete(f"/api/v1/staff/{second.pk}").status_code == 204
    assert_error(c3.patch(f"/api/v1/staff/{third.pk}", {"role": "viewer"}, format="json"), 403)
    # now third is the only owner: nobody can demote or remove them
    assert list(Membership.objects.for_merchant(merchant).filter(role=Role.OWNER)) == [third]


def test_removing_a_member_revokes_their_tokens(api, merchant):
    victim = api.staff(merchant, Role.OPERATOR, username="leaving")
    owner = api.staff(merchant, Role.OWNER)
    membership = victim.membership
    assert owner.delete(f"/api/v1/staff/{membership.pk}").status_code == 204
    assert_error(victim.get("/api/v1/me"), 401)
    assert not StaffToken.objects.for_merchant(merchant).filter(revoked=False, membership_id=membership.pk).exists()
    event = AuditEvent.objects.for_merchant(merchant).get(action="membership.removed")
    assert event.changes == {"user": ["leaving", None], "role": ["operator", None]}


def test_staff_list_filters_by_role(api, merchant):
    make_member(merchant, Role.VIEWER, username="v1")
    make_member(merchant, Role.VIEWER, username="v2")
    client = api.staff(merchant, Role.VIEWER, username="v1")
    names = sorted(m["user"]["username"] for m in client.get("/api/v1/staff?role=viewer").json()["results"])
    assert names == ["v1", "v2"]
