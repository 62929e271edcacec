"""Writes for merchants, staff, credentials and program settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, user_logged_in
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from distribution.audit import audit_record, diff, snapshot
from distribution.auth import Actor
from distribution.errors import NotFound, ValidationFailed
from merchants.errors import (
    AlreadyMember,
    CommissionDepthNotAllowed,
    InvalidCredentials,
    LastOwner,
    MerchantRequired,
    RoleNotGrantable,
)
from merchants.models import DistributionProgram, Membership, Merchant, MerchantAPIKey, StaffToken
from merchants.roles import Role, require_grantable
from merchants.schedule import sync_settlement_schedule

User = get_user_model()

PROGRAM_FIELDS = [
    f.name for f in DistributionProgram._meta.concrete_fields if f.name not in {"id", "merchant", "updated_at"}
]
MERCHANT_PROFILE_FIELDS = ["name", "timezone"]
SCHEDULE_FIELDS = {"settlement_schedule", "settlement_hour", "settlement_weekday", "settlement_monthday"}


# --- merchants -------------------------------------------------------------------------------------
@transaction.atomic
def merchant_create(
    *,
    name: str,
    slug: str,
    owner: Any,
    currency: str = "CNY",
    timezone_name: str = "Asia/Shanghai",
    actor: Actor | None = None,
    **program_settings: Any,
) -> Merchant:
    """A new tenant with its program settings and its first owner."""
    merchant = Merchant(name=name, slug=slug, currency=currency, timezone=timezone_name)
    try:
        merchant.full_clean()
    except DjangoValidationError as exc:
        raise ValidationFailed(fields=exc.message_dict) from None
    merchant.save()
    program = DistributionProgram(merchant=merchant, **program_settings)
    program.full_clean(exclude=["merchant"])
    program.save()
    Membership.objects.create(merchant=merchant, user=owner, role=Role.OWNER)
    sync_settlement_schedule(merchant)
    audit_record(
        merchant=merchant,
        actor=actor or Actor.system(),
        action="merchant.created",
        obj=merchant,
        changes={"name": [None, name], "slug": [None, slug], "owner": [None, owner.get_username()]},
    )
    return merchant


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


# --- program settings ------------------------------------------------------------------------------
def _validate_program(program: DistributionProgram) -> None:
    if not 1 <= program.commission_depth <= 3:
        raise CommissionDepthNotAllowed(fields={"commission_depth": ["Must be 1, 2 or 3."]})
    errors: dict[str, list[str]] = {}
    try:
        program.full_clean(exclude=["merchant"], validate_constraints=False)
    except DjangoValidationError as exc:
        errors.update(exc.message_dict)
    if program.binding_validity_days is not None and program.binding_protection_days > program.binding_validity_days:
        errors.setdefault("binding_protection_days", []).append("Cannot be longer than the binding validity.")
    if program.withdrawal_min_amount > program.withdrawal_daily_max_amount:
        errors.setdefault("withdrawal_min_amount", []).append("Cannot be above the daily maximum.")
    total = sum(program.rate_bps_for_depth(d) for d in range(1, program.commission_depth + 1))
    if total > 10_000:
        errors.setdefault("depth1_rate_bps", []).append("The rates of all depths add up to more than 100%.")
    if errors:
        raise ValidationFailed(fields=errors)


@transaction.atomic
def program_update(
    *, merchant: Merchant, actor: Actor, changes: dict[str, Any], reason: str = ""
) -> DistributionProgram:
    """Change program settings; every changed field is audited with its old and new value."""
    program = DistributionProgram.objects.for_merchant(merchant).select_for_update().get()
    before = snapshot(program, PROGRAM_FIELDS)
    for field, value in changes.items():
        if field not in PROGRAM_FIELDS:
            raise ValidationFailed(fields={field: ["Unknown setting."]})
        setattr(program, field, value)
    _validate_program(program)
    changed = diff(before, snapshot(program, PROGRAM_FIELDS))
    if changed:
        program.save(update_fields=[*changed, "updated_at"])
        audit_record(
            merchant=merchant, actor=actor, action="program.updated", obj=program, changes=changed, reason=reason
        )
        if SCHEDULE_FIELDS & set(changed):
            sync_settlement_schedule(merchant)
    return program


# --- staff -----------------------------------------------------------------------------------------
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
    memberships = Membership.objects.unscoped().filter(user=user, merchant__status=Merchant.Status.ACTIVE)
    if merchant_slug:
        memberships = memberships.filter(merchant__slug=merchant_slug)
    memberships = list(memberships.select_related("merchant")[:2])
    if not memberships:
        raise InvalidCredentials()
    if len(memberships) > 1:
        raise MerchantRequired(fields={"merchant": ["Required: you belong to several merchants."]})
    membership = memberships[0]
    # A token login is a login: the failure count of this username and address resets (django-axes) and
    # last_login is recorded, as a session login would.
    user_logged_in.send(sender=type(user), request=request, user=user)
    with transaction.atomic():
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
def membership_add(
    *,
    merchant: Merchant,
    actor: Actor,
    actor_role: str,
    username: str,
    role: str,
    email: str = "",
    password: str | None = None,
) -> Membership:
    """Give a user a role in the merchant, creating the user when the username is new.

    An existing user is attached as is: their password and e-mail are theirs, not the merchant's.
    """
    require_grantable(actor_role, role)
    user = User.objects.filter(username=username).first()
    if user is None:
        if not password:
            raise ValidationFailed(fields={"password": ["Required for a new user."]})
        user = User(username=username, email=email)
        try:
            user.set_password(password)
            from django.contrib.auth.password_validation import validate_password

            validate_password(password, user)
            user.full_clean(exclude=["password"])
        except DjangoValidationError as exc:
            fields = exc.message_dict if hasattr(exc, "error_dict") else {"password": exc.messages}
            raise ValidationFailed(fields=fields) from None
        user.save()
    try:
        with transaction.atomic():
            membership = Membership.objects.create(merchant=merchant, user=user, role=role)
    except IntegrityError:
        raise AlreadyMember() from None
    audit_record(
        merchant=merchant,
        actor=actor,
        action="membership.added",
        obj=membership,
        changes={"user": [None, username], "role": [None, role]},
    )
    return membership


def _owners_left(merchant: Merchant, excluding: Membership) -> int:
    return Membership.objects.for_merchant(merchant).filter(role=Role.OWNER).exclude(pk=excluding.pk).count()


def _lock_membership(merchant: Merchant, membership_id: int) -> Membership:
    # Lock every owner row first (fixed order), so two demotions cannot both pass the last-owner check.
    list(Membership.objects.for_merchant(merchant).filter(role=Role.OWNER).order_by("pk").select_for_update())
    membership = (
        Membership.objects.for_merchant(merchant)
        .select_for_update()
        .select_related("user")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:
        raise NotFound("Membership not found.")
    return membership


@transaction.atomic
def membership_change_role(
    *,
    merchant: Merchant,
    actor: Actor,
    actor_role: str,
    actor_user_id: int | None,
    membership_id: int,
    role: str,
) -> Membership:
    membership = _lock_membership(merchant, membership_id)
    if membership.user_id == actor_user_id:
        raise RoleNotGrantable("You cannot change your own role.")
    require_grantable(actor_role, membership.role, role)
    if membership.role == Role.OWNER and role != Role.OWNER and _owners_left(merchant, membership) == 0:
        raise LastOwner()
    if membership.role != role:
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        audit_record(
            merchant=merchant,
            actor=actor,
            action="membership.role_changed",
            obj=membership,
            changes={"role": [old, role]},
        )
    return membership


@transaction.atomic
def membership_remove(*, merchant: Merchant, actor: Actor, actor_role: str, membership_id: int) -> None:
    membership = _lock_membership(merchant, membership_id)
    require_grantable(actor_role, membership.role)
    if membership.role == Role.OWNER and _owners_left(merchant, membership) == 0:
        raise LastOwner()
    StaffToken.objects.for_merchant(merchant).filter(membership=membership).update(revoked=True)
    audit_record(
        merchant=merchant,
        actor=actor,
        action="membership.removed",
        obj=membership,
        changes={"user": [membership.user.get_username(), None], "role": [membership.role, None]},
    )
    membership.delete()


# --- API keys --------------------------------------------------------------------------------------
@transaction.atomic
def api_key_create(
    *,
    merchant: Merchant,
    actor: Actor,
    actor_role: str,
    name: str,
    role: str,
    expires_at: datetime | None = None,
    created_by=None,
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


def credential_touch(model, pk: str, *, last_used_at: datetime | None, every_seconds: int = 60) -> None:
    """Record a credential's last use, at most once a minute (a write per request would be a hot row).

    `last_used_at` is the value on the row the caller just loaded: when it is recent, nothing is sent.
    """
    now = timezone.now()
    recent = now - timedelta(seconds=every_seconds)
    if last_used_at is not None and last_used_at > recent:
        return
    model.objects.unscoped().filter(pk=pk).exclude(last_used_at__gt=recent).update(last_used_at=now)
