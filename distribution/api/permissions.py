from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rest_framework import permissions

from distribution.auth import Principal
from distribution.errors import PermissionDenied

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

SAFE_METHODS = permissions.SAFE_METHODS


class IsMerchantPrincipal(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        principal = request.auth
        return isinstance(principal, Principal) and principal.kind in {"staff", "api_key"}


class IsDistributorPrincipal(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        principal = request.auth
        return isinstance(principal, Principal) and principal.kind == "distributor"


class RolePermission(permissions.BasePermission):
    """The view names the permission each method needs (`required_permissions`); the caller's role
    must grant it. Reads need `view` unless the view says otherwise."""

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:  # view: a MerchantApi (permission_for)
        needed = view.permission_for(request.method)
        principal = cast(Principal, request.auth)  # IsMerchantPrincipal, before this, let only a Principal in
        if needed is None or principal.has_permission(needed):
            return True
        who = "API key" if principal.kind == "api_key" else "role"
        raise RoleNotAllowed(
            f"This needs the permission '{needed}', which your {who}'s role '{principal.role}' does not have: "
            "use a credential whose role has it (see the roles in the docs), or ask an owner or admin.",
            extra={"required_permission": needed, "role": principal.role},
        )


class RoleNotAllowed(PermissionDenied):
    code = "permission_denied"
