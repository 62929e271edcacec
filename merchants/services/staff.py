"""Staff: who works for a merchant and with which role. People join only by accepting an invitation;
roles change and memberships end under the grant rule and with at least one owner left."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from distribution import rls
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import InvalidTransition, NotFound, ValidationFailed
from distribution.pii import mask_email
from merchants.errors import (
    AlreadyMember,
    InvalidCredentials,
    InvitationInvalid,
    LastOwner,
    RoleNotGrantable,
    UsernameTaken,
)
from merchants.models import Invitation, Membership, Merchant, StaffToken
from merchants.roles import Role, require_grantable

if TYPE_CHECKING:
    from django.contrib.auth.models import User as StaffUser  # settings.AUTH_USER_MODEL

User = get_user_model()


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


# Staff join a merchant only by accepting its invitation: the merchant never names an existing user, so
# no answer can tell it whether a username exists, or show it anyone's e-mail.
NEW_ACCOUNT_NAME = re.compile(r"^[\w.+-]+\Z")


@transaction.atomic
def invitation_create(
    *,
    merchant: Merchant,
    actor: Actor,
    actor_role: str,
    role: str,
    email: str = "",
    invited_by: StaffUser | None = None,
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


def _new_account(merchant: Merchant, *, name: str, password: str, email: str) -> StaffUser:
    """An unsaved user named `<name>@<merchant slug>`, validated: the merchant's own name space, so that
    choosing a name never meets (and so never reveals) an account of anyone else."""
    username = f"{name}@{merchant.slug}"
    errors: dict[str, list[str]] = {}
    max_length = User._meta.get_field("username").max_length
    if not NEW_ACCOUNT_NAME.match(name):
        errors["username"] = ["Letters, digits and . + - _ only."]
    elif max_length is not None and len(username) > max_length:
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
    user: StaffUser | None = None,
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
        user = account = _new_account(merchant, name=username, password=password, email=email)  # saved below
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
