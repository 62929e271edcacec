"""What each role may do, checked on every merchant route and method from the URL configuration."""

from __future__ import annotations

import pytest

from merchants.errors import RoleNotGrantable
from merchants.roles import ROLE_PERMISSIONS, Perm, Role, may_grant, permissions_of, require_grantable
from tests.builders.factories import SYSTEM, make_api_key, make_member
from tests.builders.world import build_world
from tests.helpers import assert_error
from tests.routes import api_routes, object_for

pytestmark = pytest.mark.django_db


def test_only_owner_and_finance_approve_money():
    assert {role for role, perms in ROLE_PERMISSIONS.items() if Perm.MONEY_APPROVE in perms} == {
        Role.OWNER,
        Role.FINANCE,
    }


def test_grant_rules():
    assert may_grant(Role.OWNER, Role.OWNER)
    assert not may_grant(Role.ADMIN, Role.OWNER)
    assert may_grant(Role.ADMIN, Role.OPERATOR) and may_grant(Role.ADMIN, Role.VIEWER)
    assert not may_grant(Role.ADMIN, Role.FINANCE)  # admin cannot hand out money approval
    assert not may_grant(Role.OPERATOR, Role.VIEWER) or permissions_of(Role.VIEWER) <= permissions_of(Role.OPERATOR)


@pytest.mark.parametrize("actor", [r.value for r in Role])
def test_require_grantable_refuses_exactly_what_may_grant_refuses(actor):
    for first in Role:
        for second in Role:
            allowed = may_grant(actor, first) and may_grant(actor, second)
            try:
                require_grantable(actor, first, second)
            except RoleNotGrantable as exc:
                assert not allowed and exc.status_code == 403 and exc.code == "role_not_grantable"
            else:
                assert allowed, (actor, first, second)


@pytest.mark.parametrize("target", [r.value for r in Role])
@pytest.mark.parametrize("actor", [Role.OWNER, Role.ADMIN])
def test_create_revoke_demote_and_remove_follow_one_rule(actor, target, api, merchant):
    """For API keys, invitations and memberships alike: you may act on a role only if you could grant it."""
    from merchants.services.staff import invitation_create

    client = api.staff(merchant, actor, username=f"acting-{actor}")
    allowed = may_grant(actor, target)

    def check(response, name):
        if allowed:
            assert response.status_code in (200, 201, 204), (name, response.content)
        else:
            assert_error(response, 403, "role_not_grantable")

    check(client.post("/api/v1/staff/invitations", {"role": target}, format="json"), "invite")
    invitation, _ = invitation_create(merchant=merchant, actor=SYSTEM, actor_role=Role.OWNER, role=target)
    check(client.post(f"/api/v1/staff/invitations/{invitation.pk}/revoke"), "revoke invitation")
    if target != Role.OWNER:  # no key carries the owner role
        check(client.post("/api/v1/api-keys", {"name": "k", "role": target}, format="json"), "create key")
        key, _ = make_api_key(merchant, role=target)
        check(client.post(f"/api/v1/api-keys/{key.prefix}/revoke"), "revoke key")
        key.refresh_from_db()
        assert key.revoked is allowed
    member = make_member(merchant, target, username=f"target-{target}")
    check(client.patch(f"/api/v1/staff/{member.pk}", {"role": "viewer"}, format="json"), "demote")
    member = make_member(merchant, target, username=f"second-{target}")
    check(client.delete(f"/api/v1/staff/{member.pk}"), "remove")


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_matrix_on_every_merchant_route(role, api):
    merchant = build_world("alpha")
    perms = permissions_of(role)
    checked = 0
    for route in api_routes():
        if not route.is_merchant:
            continue
        for method in route.methods:
            client = api.staff(merchant, role, username=f"alpha-{role}")
            kwargs = object_for(route, merchant) if route.object_params else {}
            view = route.view()
            needed = view.permission_for(method)
            response = client.generic(method, route.url(**kwargs), data="{}", content_type="application/json")
            assert response.status_code < 500, (role, method, route.route, response.content)
            denied = response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
            assert denied == (needed not in perms), (role, method, route.route, needed, response.status_code)
            checked += 1
    assert checked >= 20
