"""Writes for distributors."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import NotFound, ValidationFailed
from distributors.models import DistributorToken
from merchants.models import Merchant


@transaction.atomic
def distributor_token_issue(
    *, merchant: Merchant, actor: Actor, external_user_id: str, ttl_seconds: int | None = None
) -> tuple[DistributorToken, str]:
    """A token for one of the merchant's app users; the plain token is returned once."""
    ttl = ttl_seconds if ttl_seconds is not None else settings.DISTRIBUTOR_TOKEN_TTL_SECONDS
    if not 60 <= ttl <= settings.DISTRIBUTOR_TOKEN_MAX_TTL_SECONDS:
        raise ValidationFailed(
            fields={"ttl_seconds": [f"Must be between 60 and {settings.DISTRIBUTOR_TOKEN_MAX_TTL_SECONDS}."]}
        )
    token = DistributorToken(
        merchant=merchant,
        external_user_id=external_user_id,
        name=f"user {external_user_id}"[:50],
        expiry_date=timezone.now() + timedelta(seconds=ttl),
    )
    key = DistributorToken.objects.assign_key(token)
    token.save()
    audit_record(
        merchant=merchant,
        actor=actor,
        action="distributor_token.issued",
        obj=token,
        object_id=token.prefix,
        changes={"external_user_id": [None, external_user_id], "prefix": [None, token.prefix]},
    )
    return token, key


@transaction.atomic
def distributor_token_revoke(*, merchant: Merchant, actor: Actor, token_id: str) -> DistributorToken:
    token = DistributorToken.objects.for_merchant(merchant).select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound("Token not found.")
    if not token.revoked:
        DistributorToken.objects.for_merchant(merchant).filter(pk=token.pk).update(revoked=True)
        token.revoked = True
        audit_record(
            merchant=merchant,
            actor=actor,
            action="distributor_token.revoked",
            obj=token,
            object_id=token.prefix,
            changes={"revoked": [False, True]},
        )
    return token


@transaction.atomic
def distributor_tokens_revoke_user(*, merchant: Merchant, actor: Actor, external_user_id: str) -> int:
    """Sign a user out everywhere: revoke all of their tokens."""
    count = (
        DistributorToken.objects.for_merchant(merchant)
        .filter(external_user_id=external_user_id, revoked=False)
        .update(revoked=True)
    )
    if count:
        audit_record(
            merchant=merchant,
            actor=actor,
            action="distributor_token.revoked_all",
            object_type="distributors.distributortoken",
            object_id=external_user_id,
            changes={"revoked": [0, count]},
        )
    return count
