"""Staff roles and what each may do. API keys carry one of the same roles (never owner)."""

from __future__ import annotations

from enum import StrEnum

from django.db import models

from merchants.errors import RoleNotGrantable


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    FINANCE = "finance", "Finance"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"


class Perm(StrEnum):
    VIEW = "view"  # read everything of the merchant's program
    PROGRAM_MANAGE = "program.manage"  # program settings, merchant profile
    STAFF_MANAGE = "staff.manage"  # memberships and roles
    API_KEYS_MANAGE = "api_keys.manage"
    AUDIT_VIEW = "audit.view"
    CATALOG_MANAGE = "catalog.manage"  # products
    ORDERS_MANAGE = "orders.manage"  # order intake and events
    DISTRIBUTORS_MANAGE = "distributors.manage"  # applications, status, levels, bindings, blacklist
    TOKENS_ISSUE = "tokens.issue"  # distributor tokens for the merchant's app users
    MONEY_APPROVE = "money.approve"  # withdrawals, payouts: only owner and finance
    SETTLEMENT_RUN = "settlement.run"
    FINANCE_EXPORT = "finance.export"  # bulk exports of commission lines and withdrawals


_OPERATE = {Perm.VIEW, Perm.CATALOG_MANAGE, Perm.ORDERS_MANAGE, Perm.DISTRIBUTORS_MANAGE, Perm.TOKENS_ISSUE}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(Perm),
    Role.ADMIN: frozenset(
        _OPERATE | {Perm.PROGRAM_MANAGE, Perm.STAFF_MANAGE, Perm.API_KEYS_MANAGE, Perm.AUDIT_VIEW, Perm.FINANCE_EXPORT}
    ),
    Role.FINANCE: frozenset({Perm.VIEW, Perm.AUDIT_VIEW, Perm.MONEY_APPROVE, Perm.SETTLEMENT_RUN, Perm.FINANCE_EXPORT}),
    Role.OPERATOR: frozenset(_OPERATE),
    Role.VIEWER: frozenset({Perm.VIEW}),
}

API_KEY_ROLES = [Role.ADMIN, Role.FINANCE, Role.OPERATOR, Role.VIEWER]
API_KEY_ROLE_CHOICES = [(r.value, r.label) for r in API_KEY_ROLES]


def permissions_of(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())


def may_grant(granter_role: str, role: str) -> bool:
    """A role may hand out another role only if it holds every permission of that role.
    Only an owner makes owners."""
    if role == Role.OWNER:
        return granter_role == Role.OWNER
    return permissions_of(role) <= permissions_of(granter_role)


def require_grantable(actor_role: str, *roles: str) -> None:
    """The one rule for acting on anything that carries a role (a membership, an API key, an invitation):
    create, change, demote, revoke or remove it only if you could grant every role involved (the one it
    has and, on a change, the new one). Refused with 403 `role_not_grantable`."""
    if not all(may_grant(actor_role, role) for role in roles):
        raise RoleNotGrantable()
