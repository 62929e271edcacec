from rest_framework import permissions

from distribution.auth import Principal
from distribution.errors import PermissionDenied

SAFE_METHODS = permissions.SAFE_METHODS


class IsMerchantPrincipal(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        principal = request.auth
        return isinstance(principal, Principal) and principal.kind in {"staff", "api_key"}


class IsDistributorPrincipal(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        principal = request.auth
        return isinstance(principal, Principal) and principal.kind == "distributor"


class RolePermission(permissions.BasePermission):
    """The view names the permission each method needs (`required_permissions`); the caller's role
    must grant it. Reads need `view` unless the view says otherwise."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        needed = view.permission_for(request.method)
        if needed is None or request.auth.has_permission(needed):
            return True
        principal = request.auth
        who = "API key" if principal.kind == "api_key" else "role"
        raise RoleNotAllowed(
            f"This needs the permission '{needed}', which your {who}'s role '{principal.role}' does not have: "
            "use a credential whose role has it (see the roles in the docs), or ask an owner or admin.",
            extra={"required_permission": needed, "role": principal.role},
        )


class RoleNotAllowed(PermissionDenied):
    code = "permission_denied"
