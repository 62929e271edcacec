"""Writes for merchants, staff, credentials and program settings."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, user_logged_in
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from distribution import rls
from distribution.audit import audit_record, diff, snapshot
from distribution.auth import Actor
from distribution.errors import InvalidTransition, NotFound, ValidationFailed
from distribution.pii import mask_email
from merchants.errors import (
    AlreadyMember,
    CommissionDepthNotAllowed,
    InvalidCredentials,
    InvitationInvalid,
    LastOwner,
    MerchantRequired,
    NotStaff,
    RoleNotGrantable,
    UsernameTaken,
)
from merchants.models import DistributionProgram, Invitation, Membership, Merchant, MerchantAPIKey, StaffToken
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
    owner: Any | None,
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
    with rls.bypass():  # the user's memberships, in whichever merchants they are
        memberships = list(memberships.select_related("merchant")[:2])
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


# --- invitations -----------------------------------------------------------------------------------
# Staff join a merchant only by accepting its invitation: the merchant never names an existing user, so
# no answer can tell it whether a username exists, or show it anyone's e-mail.
NEW_ACCOUNT_NAME = re.compile(r"^[\w.+-]+\Z")


@transaction.atomic
def invitation_create(
    *, merchant: Merchant, actor: Actor, actor_role: str, role: str, email: str = "", invited_by=None
) -> tuple[Invitation, str]:
    """A single-use invitation to join with `role`; the plain token is returned once and never stored."""
    require_grantable(actor_role, role)
    invitation = Invitation(
        merchant=merchant,
        role=role,
        email=email,
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(hours=settings.STAFF_INVITATION_TTL_HOURS),
    )
    token = Invitation.objects.assign_key(invitation)
    invitation.save()
    audit_record(
        merchant=merchant,
        actor=actor,
        action="invitation.created",
        obj=invitation,
        changes={"role": [None, role], "email": [None, mask_email(email)], "expires_at": [None, invitation.expires_at]},
    )
    return invitation, token


@transaction.atomic
def invitation_revoke(*, merchant: Merchant, actor: Actor, actor_role: str, invitation_id: int) -> Invitation:
    """Withdraw an invitation nobody has used (an expired one too); revoking twice changes nothing."""
    invitation = Invitation.objects.for_merchant(merchant).select_for_update().filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound("Invitation not found.")
    require_grantable(actor_role, invitation.role)
    if invitation.status == Invitation.Status.ACCEPTED:
        raise InvalidTransition(entity="invitation", current=invitation.status, target=Invitation.Status.REVOKED)
    if invitation.status == Invitation.Status.PENDING:
        old = invitation.current_status
        invitation.status = Invitation.Status.REVOKED
        invitation.save(update_fields=["status", "updated_at"])
        audit_record(
            merchant=merchant,
            actor=actor,
            action="invitation.revoked",
            obj=invitation,
            changes={"status": [old, invitation.status]},
        )
    return invitation


def _new_account(merchant: Merchant, *, name: str, password: str, email: str):
    """An unsaved user named `<name>@<merchant slug>`, validated: the merchant's own name space, so that
    choosing a name never meets (and so never reveals) an account of anyone else."""
    username = f"{name}@{merchant.slug}"
    errors: dict[str, list[str]] = {}
    if not NEW_ACCOUNT_NAME.match(name):
        errors["username"] = ["Letters, digits and . + - _ only."]
    elif len(username) > User._meta.get_field("username").max_length:
        errors["username"] = ["Too long."]
    user = User(username=username, email=email)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationFailed(fields=errors)
    user.set_password(password)
    return user


def invitation_accept(
    *,
    request: HttpRequest,
    token: str,
    user=None,
    username: str = "",
    password: str = "",
    new_account: bool = False,
    email: str = "",
) -> Membership:
    """Join the invitation's merchant with its role, as one of:

    * `new_account`: a new user `<username>@<merchant slug>` with this password (and e-mail);
    * `username` + `password`: an existing account, proved like a login;
    * `user`: the account of a logged-in browser session.

    The token is used up in the same transaction as the membership is made, by a conditional update, so
    two accepts at once make one membership; unknown, expired, revoked and used tokens look alike.
    """
    invitation = Invitation.objects.find_usable(token, select_related=("merchant",))
    if invitation is None or not invitation.merchant.is_active:
        raise InvitationInvalid()
    merchant = invitation.merchant
    account = None
    if new_account:
        account = _new_account(merchant, name=username, password=password, email=email)
    elif username or password:
        user = authenticate(request, username=username, password=password)  # counted like a login (axes)
        if user is None or not user.is_active:
            raise InvalidCredentials()
    elif user is None:
        raise ValidationFailed(
            "Log in, give your username and password, or ask for a new account.",
            fields={"username": ["Required unless logged in."], "password": ["Required unless logged in."]},
        )
    now = timezone.now()
    with rls.merchant(merchant.pk), transaction.atomic():
        claimed = (
            Invitation.objects.for_merchant(merchant)
            .filter(pk=invitation.pk, status=Invitation.Status.PENDING, expires_at__gt=now)
            .update(status=Invitation.Status.ACCEPTED, accepted_at=now, updated_at=now)
        )
        if claimed != 1:  # used or revoked since it was read (or by a concurrent accept): its row lock decided
            raise InvitationInvalid()
        if account is not None:
            try:
                with transaction.atomic():
                    account.save()
            except IntegrityError:
                raise UsernameTaken(fields={"username": [UsernameTaken.default_message]}) from None
            user = account
        try:
            with transaction.atomic():
                membership = Membership.objects.create(merchant=merchant, user=user, role=invitation.role)
        except IntegrityError:
            raise AlreadyMember("You are already a member of this merchant.") from None
        Invitation.objects.for_merchant(merchant).filter(pk=invitation.pk).update(accepted_by=user)
        actor = Actor(kind="staff", id=str(user.pk), label=user.get_username())
        audit_record(
            merchant=merchant,
            actor=actor,
            action="invitation.accepted",
            obj=invitation,
            changes={"status": [Invitation.Status.PENDING, Invitation.Status.ACCEPTED]},
        )
        audit_record(
            merchant=merchant,
            actor=actor,
            action="membership.added",
            obj=membership,
            changes={
                "user": [None, user.get_username()],
                "role": [None, membership.role],
                "invitation": [None, invitation.pk],
                "new_account": [None, account is not None],
            },
        )
    return membership


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
