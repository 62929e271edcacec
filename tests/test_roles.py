"""What each role may do, checked on every merchant route and method from the URL configuration."""

from __future__ import annotations

import pytest

from merchants.errors import RoleNotGrantable
from merchants.roles import ROLE_PERMISSIONS, Perm, Role, may_grant, permissions_of, require_grantable
from tests.routes import api_routes, object_for
from tests.world import build_world

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
