"""How merchant endpoints know who is calling: a staff token, a merchant API key or a staff session.

Each builds a `Principal` whose merchant comes from the credential itself.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from distribution import rls
from distribution.auth import Actor, Principal
from merchants.models import Membership, Merchant, MerchantAPIKey, PlatformAPIKey, StaffToken
from merchants.roles import permissions_of
from merchants.services.credentials import credential_touch

SESSION_MERCHANT_KEY = "merchant_id"


class MerchantSuspended(exceptions.PermissionDenied):
    default_detail = "This merchant is suspended."
    default_code = "merchant_suspended"


def _check_merchant(merchant: Merchant) -> None:
    if not merchant.is_active:
        raise MerchantSuspended()


def staff_principal(membership: Membership, *, credential_id: str | None = None) -> Principal:
    user = membership.user
    return Principal(
        kind="staff",
        merchant=membership.merchant,
        role=membership.role,
        actor=Actor(kind="staff", id=str(user.pk), label=user.get_username()),
        credential_id=credential_id,
        permissions=permissions_of(membership.role),
    )


def _bearer(request, keyword: str) -> str | None:
    """The credential after `keyword` in the Authorization header, or None when another scheme is used."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not isinstance(header, str) or not header.isascii():
        raise exceptions.AuthenticationFailed("Malformed Authorization header.")
    parts = header.split()
    if not parts or parts[0].lower() != keyword.lower():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Malformed Authorization header.")
    return parts[1]


class StaffTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` from `POST /api/v1/auth/token`."""

    def authenticate(self, request):
        key = _bearer(request, "Bearer")
        if key is None:
            return None
        token = StaffToken.objects.find_usable(key, select_related=("membership__user", "merchant"))
        if token is None or not token.membership.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        _check_merchant(token.merchant)
        rls.use_merchant(token.merchant_id)
        credential_touch(StaffToken, token.pk, last_used_at=token.last_used_at)
        token.membership.merchant = token.merchant
        return token.membership.user, staff_principal(token.membership, credential_id=token.pk)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class MerchantAPIKeyAuthentication(authentication.BaseAuthentication):
    """`X-Api-Key: <key>` or `Authorization: Api-Key <key>`: the merchant's servers."""

    def authenticate(self, request):
        key = request.headers.get("X-Api-Key") or _bearer(request, "Api-Key")
        if key is None:
            return None
        api_key = MerchantAPIKey.objects.find_usable(key, select_related=("merchant",))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        _check_merchant(api_key.merchant)
        rls.use_merchant(api_key.merchant_id)
        credential_touch(MerchantAPIKey, api_key.pk, last_used_at=api_key.last_used_at)
        principal = Principal(
            kind="api_key",
            merchant=api_key.merchant,
            role=api_key.role,
            actor=Actor(kind="api_key", id=api_key.prefix, label=api_key.name),
            credential_id=api_key.pk,
            permissions=permissions_of(api_key.role),
        )
        return AnonymousUser(), principal

    def authenticate_header(self, request) -> str:
        return "Api-Key"


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """The dashboard and the browsable API: a logged-in staff user, acting for the merchant chosen in
    the session (`POST /api/v1/auth/session/merchant`), else their first membership."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        memberships = Membership.objects.unscoped().filter(user=user).select_related("merchant", "user")
        chosen = request._request.session.get(SESSION_MERCHANT_KEY)
        membership = None
        with rls.bypass():  # the user's memberships, in whichever merchants they are
            if chosen is not None:
                membership = memberships.filter(merchant_id=chosen).first()
            membership = membership or memberships.order_by("pk").first()
        if membership is None:
            return None
        _check_merchant(membership.merchant)
        rls.use_merchant(membership.merchant_id)
        return user, staff_principal(membership)


def merchant_authenticators():
    return [StaffTokenAuthentication(), MerchantAPIKeyAuthentication(), StaffSessionAuthentication()]


class PlatformKeyAuthentication(authentication.BaseAuthentication):
    """`X-Platform-Key: <key>`: a platform operator's key (manage.py create_platform_key), for the platform API
    only. It names no merchant; a merchant's API key or staff token is not accepted there."""

    header = "HTTP_X_PLATFORM_KEY"

    def authenticate(self, request):
        key = request.META.get(self.header)
        if not key:
            return None
        if not isinstance(key, str) or not key.isascii() or len(key) > 200:
            raise exceptions.AuthenticationFailed("Malformed platform key.")
        with rls.bypass():  # a platform credential: no merchant to scope it to
            try:
                api_key = PlatformAPIKey.objects.get_from_key(key)
            except PlatformAPIKey.DoesNotExist:
                api_key = None
        if api_key is None or not api_key.is_valid(key) or api_key.has_expired:
            raise exceptions.AuthenticationFailed("Invalid platform key.")
        return (AnonymousUser(), Actor(kind="operator", id=api_key.prefix, label=f"platform key {api_key.name}"))

    def authenticate_header(self, request):
        return "Platform-Key"
