from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from distribution import rls
from distribution.auth import Actor, Principal
from distributors.models import DistributorToken
from merchants.authentication import _bearer, _check_merchant
from merchants.services.credentials import credential_touch


class DistributorTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <distributor token>`; merchant credentials are not accepted here."""

    def authenticate(self, request):
        key = _bearer(request, "Bearer")
        if key is None:
            return None
        token = DistributorToken.objects.find_usable(key, select_related=("merchant",))
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired distributor token.")
        _check_merchant(token.merchant)
        rls.use_merchant(token.merchant_id)
        credential_touch(DistributorToken, token.pk, last_used_at=token.last_used_at)
        principal = Principal(
            kind="distributor",
            merchant=token.merchant,
            external_user_id=token.external_user_id,
            actor=Actor(kind="distributor", id=token.external_user_id, label=token.external_user_id),
            credential_id=token.pk,
        )
        return AnonymousUser(), principal

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="distributor"'


def distributor_authenticators() -> list:
    """The distributor API's authentication (settings.DISTRIBUTOR_AUTHENTICATORS)."""
    return [DistributorTokenAuthentication()]
