"""A merchant's life as a tenant: created (with its program and first owner), its profile changed,
suspended and reactivated. Each change is audited and keeps the settlement schedule in step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from distribution.audit import audit_record, diff, snapshot
from distribution.auth import Actor
from distribution.errors import ValidationFailed
from merchants.models import DistributionProgram, Invitation, Membership, Merchant
from merchants.roles import Role
from merchants.schedule import sync_settlement_schedule
from merchants.services.staff import invitation_create

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # settings.AUTH_USER_MODEL

MERCHANT_PROFILE_FIELDS = ["name", "timezone"]


@transaction.atomic
def merchant_create(
    *,
    name: str,
    slug: str,
    owner: User | None,
    currency: str = "CNY",
    timezone_name: str = "Asia/Shanghai",
    actor: Actor | None = None,
    **program_settings: Any,
) -> Merchant:
    """A new tenant with its program settings and its first owner (None: see merchant_create_inviting_owner)."""
    merchant = Merchant(name=name, slug=slug, currency=currency, timezone=timezone_name)
    try:
        merchant.full_clean()
    except DjangoValidationError as exc:
        raise ValidationFailed(fields=exc.message_dict) from None
    merchant.save()
    program = DistributionProgram(merchant=merchant, **program_settings)
    program.full_clean(exclude=["merchant"])
    program.save()
    if owner is not None:
        Membership.objects.create(merchant=merchant, user=owner, role=Role.OWNER)
    sync_settlement_schedule(merchant)
    audit_record(
        merchant=merchant,
        actor=actor or Actor.system(),
        action="merchant.created",
        obj=merchant,
        changes={"name": [None, name], "slug": [None, slug], "owner": [None, owner.get_username() if owner else None]},
    )
    return merchant


@transaction.atomic
def merchant_create_inviting_owner(
    *, name: str, slug: str, owner_email: str, actor: Actor, currency: str = "CNY", timezone_name: str = "Asia/Shanghai"
) -> tuple[Merchant, Invitation, str]:
    """A new tenant whose first owner is invited: the invitation's token is returned once, to be sent to them
    (they accept it at POST /api/v1/auth/invitations/accept with a username and password of their choice).
    A platform operation: the caller works across merchants (rls.bypass)."""
    merchant = merchant_create(
        name=name, slug=slug, owner=None, currency=currency, timezone_name=timezone_name, actor=actor
    )
    invitation, token = invitation_create(
        merchant=merchant, actor=actor, actor_role=Role.OWNER, role=Role.OWNER, email=owner_email
    )
    return merchant, invitation, token


@transaction.atomic
def merchant_update(*, merchant: Merchant, actor: Actor, changes: dict[str, Any]) -> Merchant:
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    before = snapshot(merchant, MERCHANT_PROFILE_FIELDS)
    for field, value in changes.items():
        if field not in MERCHANT_PROFILE_FIELDS:
            raise ValidationFailed(fields={field: ["This field cannot be changed."]})
        setattr(merchant, field, value)
    try:
        merchant.full_clean()
    except DjangoValidationError as exc:
        raise ValidationFailed(fields=exc.message_dict) from None
    changed = diff(before, snapshot(merchant, MERCHANT_PROFILE_FIELDS))
    if changed:
        merchant.save(update_fields=[*changed, "updated_at"])
        audit_record(merchant=merchant, actor=actor, action="merchant.updated", obj=merchant, changes=changed)
        if "timezone" in changed:
            sync_settlement_schedule(merchant)
    return merchant


@transaction.atomic
def merchant_set_status(*, merchant: Merchant, actor: Actor, status: str) -> Merchant:
    """Suspend (every credential of the merchant stops working) or reactivate a merchant."""
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    if merchant.status != status:
        old = merchant.status
        merchant.status = status
        merchant.save(update_fields=["status", "updated_at"])
        sync_settlement_schedule(merchant)
        audit_record(
            merchant=merchant,
            actor=actor,
            action="merchant.status_changed",
            obj=merchant,
            changes={"status": [old, status]},
        )
    return merchant
