"""Credentials: staff logins and their tokens, the merchant's API keys, and when each was last used."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from distribution import rls
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import NotFound, ValidationFailed
from merchants.errors import InvalidCredentials, MerchantRequired, NotStaff, RoleNotGrantable
from merchants.models import Membership, Merchant, MerchantAPIKey, StaffToken
from merchants.roles import Role, require_grantable

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # settings.AUTH_USER_MODEL

    from distributors.models import DistributorToken  # distributors sits above: its authentication calls us


def staff_login(
    *, request: HttpRequest, username: str, password: str, merchant_slug: str | None = None
) -> tuple[StaffToken, str]:
    """Exchange a username and password for a staff token of one merchant.

    `request` is the login request: failures are counted against its username and client address
    (django-axes), and a locked-out username or address fails here like a wrong password while the
    middleware answers 429 `login_locked`."""
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials()
    candidates = Membership.objects.unscoped().filter(user=user, merchant__status=Merchant.Status.ACTIVE)
    if merchant_slug:
        candidates = candidates.filter(merchant__slug=merchant_slug)
    with rls.bypass():  # the user's memberships, in whichever merchants they are
        memberships = list(candidates.select_related("merchant")[:2])
    if not memberships:
        if merchant_slug:
            raise NotStaff(f"This account is not staff of the merchant '{merchant_slug}'.")
        raise NotStaff()
    if len(memberships) > 1:
        raise MerchantRequired(fields={"merchant": ["Required: you belong to several merchants."]})
    membership = memberships[0]
    # A token login is a login: the failure count of this username and address resets (django-axes) and
    # last_login is recorded, as a session login would.
    user_logged_in.send(sender=type(user), request=request, user=user)
    with rls.merchant(membership.merchant_id), transaction.atomic():
        token = StaffToken(
            merchant=membership.merchant,
            membership=membership,
            name=f"login {user.get_username()}"[:50],
            expiry_date=timezone.now() + timedelta(hours=settings.STAFF_TOKEN_TTL_HOURS),
        )
        key = StaffToken.objects.assign_key(token)
        token.save()
    return token, key


def staff_token_revoke(*, token: StaffToken) -> None:
    StaffToken.objects.unscoped().filter(pk=token.pk).update(revoked=True)


@transaction.atomic
def api_key_create(
    *,
    merchant: Merchant,
    actor: Actor,
    actor_role: str,
    name: str,
    role: str,
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> tuple[MerchantAPIKey, str]:
    """A new key; the plain key is returned once and never stored."""
    if role == Role.OWNER:
        raise RoleNotGrantable("An API key cannot have the owner role.")
    require_grantable(actor_role, role)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(fields={"expires_at": ["Must be in the future."]})
    api_key = MerchantAPIKey(merchant=merchant, name=name, role=role, expiry_date=expires_at, created_by=created_by)
    key = MerchantAPIKey.objects.assign_key(api_key)
    api_key.save()
    audit_record(
        merchant=merchant,
        actor=actor,
        action="api_key.created",
        obj=api_key,
        object_id=api_key.prefix,
        changes={"name": [None, name], "role": [None, role], "prefix": [None, api_key.prefix]},
    )
    return api_key, key


@transaction.atomic
def api_key_revoke(*, merchant: Merchant, actor: Actor, actor_role: str, api_key_id: str) -> MerchantAPIKey:
    """Revoke a key; like creating one, only a role that could grant the key's role may do it."""
    api_key = MerchantAPIKey.objects.for_merchant(merchant).select_for_update().filter(pk=api_key_id).first()
    if api_key is None:
        raise NotFound("API key not found.")
    require_grantable(actor_role, api_key.role)
    if not api_key.revoked:
        MerchantAPIKey.objects.for_merchant(merchant).filter(pk=api_key.pk).update(revoked=True)
        api_key.revoked = True
        audit_record(
            merchant=merchant,
            actor=actor,
            action="api_key.revoked",
            obj=api_key,
            object_id=api_key.prefix,
            changes={"revoked": [False, True]},
        )
    return api_key


def credential_touch(
    model: type[StaffToken | MerchantAPIKey | DistributorToken],
    pk: str,
    *,
    last_used_at: datetime | None,
    every_seconds: int = 60,
) -> None:
    """Record a credential's last use, at most once a minute (a write per request would be a hot row).

    `last_used_at` is the value on the row the caller just loaded: when it is recent, nothing is sent.
    """
    now = timezone.now()
    recent = now - timedelta(seconds=every_seconds)
    if last_used_at is not None and last_used_at > recent:
        return
    model.objects.unscoped().filter(pk=pk).exclude(last_used_at__gt=recent).update(last_used_at=now)
