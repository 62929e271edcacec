"""Staff membership: changing roles, removing people, and the owner rules (joining: test_invitations.py)."""

import pytest

from distribution.models import AuditEvent
from merchants.models import Membership, StaffToken
from merchants.roles import Role
from tests.builders.factories import make_member, owner_of
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_staff_join_only_by_invitation(api, merchant, other_merchant):
    """POST /api/v1/staff attached any existing user by username (issue 11, finding 4); it is gone."""
    make_member(other_merchant, Role.OWNER, username="shared")
    client = api.staff(merchant, Role.OWNER)
    before = Membership.objects.unscoped().count(), AuditEvent.objects.unscoped().count()
    answers = {
        client.post("/api/v1/staff", {"username": name, "role": "viewer"}, format="json").content
        for name in ("shared", "nobody")
    }
    assert len(answers) == 1
    assert_error(client.post("/api/v1/staff", {"username": "shared", "role": "viewer"}, format="json"), 405)
    assert (Membership.objects.unscoped().count(), AuditEvent.objects.unscoped().count()) == before
    assert not Membership.objects.for_merchant(merchant).filter(user__username="shared").exists()


def test_admins_cannot_demote_or_remove_finance(api, merchant):
    finance = make_member(merchant, Role.FINANCE, username="books")
    client = api.staff(merchant, Role.ADMIN)
    assert_error(
        client.patch(f"/api/v1/staff/{finance.pk}", {"role": "viewer"}, format="json"), 403, "role_not_grantable"
    )
    assert_error(client.delete(f"/api/v1/staff/{finance.pk}"), 403, "role_not_grantable")
    assert Membership.objects.for_merchant(merchant).get(pk=finance.pk).role == Role.FINANCE
    assert not AuditEvent.objects.for_merchant(merchant).filter(action__startswith="membership.").exists()


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
