"""Applications to become a distributor, and the merchant's decision on them."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from distribution import crypto, outbox
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import InvalidTransition, NotFound, ValidationFailed
from distribution.identifiers import canonical_phone, phone_problem
from distribution.pii import mask_phone
from distributors.errors import (
    AgreementRequired,
    AlreadyApplied,
    ApplicantBlacklisted,
    DistributorRemoved,
    IdentityRequired,
    InvalidEntry,
    InvalidInviteCode,
    InviteCycle,
    InviterNotActive,
    SelfInvite,
)
from distributors.models import Application, Distributor, Level, RecruitmentEntry, new_invite_code
from distributors.services.blacklist import applicant_entry
from distributors.services.common import advisory_lock, distributor_by_code, lock_tree
from distributors.services.identity import clean_identity, identity_fields
from distributors.services.levels import default_level
from distributors.services.lifecycle import transition
from distributors.services.recruitment import agreement_accept, current_agreement
from merchants.models import DistributionProgram, Merchant

S = Distributor.Status


def _resolve_inviter(
    merchant: Merchant, invite_code: str, external_user_id: str, existing: Distributor | None
) -> Distributor | None:
    if not invite_code:
        return None
    inviter = distributor_by_code(merchant, invite_code, error=InvalidInviteCode)
    if inviter.external_user_id == external_user_id:
        raise SelfInvite()
    if existing is not None and (inviter.pk == existing.pk or existing.pk in inviter.ancestor_ids):
        raise InviteCycle()
    if not inviter.is_active:
        raise InviterNotActive()
    return inviter


@transaction.atomic
def application_submit(
    *,
    merchant: Merchant,
    actor: Actor,
    external_user_id: str,
    channel: str,
    display_name: str = "",
    phone: str = "",
    invite_code: str = "",
    entry_code: str = "",
    agreement_version: str | None = None,
    real_name: str = "",
    id_type: str = "cn_resident",
    id_number: str = "",
    identity_verified: bool = False,
) -> Application:
    """Apply to become a distributor, under the inviter whose code is given (or at the top).

    Refused, with nothing written, for: a blacklisted applicant, a live or removed distributor, an
    invalid, own or inactive inviter's code, a loop in the tree, an unknown recruitment entry, an
    agreement not accepted, or identity the program requires but did not get. With auto-approval on,
    the distributor is active at once; otherwise the application waits for the merchant.
    """
    program = DistributionProgram.objects.for_merchant(merchant).get()
    advisory_lock("apply", merchant.pk, external_user_id)
    lock_tree(merchant, shared=True)

    if phone:
        problem = phone_problem(phone)
        if problem:
            raise ValidationFailed(fields={"phone": [problem]})
        phone = canonical_phone(phone)
    identity = None
    if real_name or id_number:
        identity = clean_identity(real_name=real_name, id_type=id_type, id_number=id_number)
    elif program.application_requires_real_name:
        raise IdentityRequired(fields={"real_name": ["Required."], "id_number": ["Required."]})
    if (
        applicant_entry(
            merchant, external_user_id=external_user_id, phone=phone, id_number=identity[2] if identity else ""
        )
        is not None
    ):
        raise ApplicantBlacklisted()

    existing = (
        Distributor.objects.for_merchant(merchant).select_for_update().filter(external_user_id=external_user_id).first()
    )
    if existing is not None:
        if existing.status == S.REMOVED:
            raise DistributorRemoved()
        if existing.status == S.BLACKLISTED:
            raise ApplicantBlacklisted()
        if existing.status != S.REJECTED:
            raise AlreadyApplied(extra={"status": existing.status})

    inviter = _resolve_inviter(merchant, invite_code, external_user_id, existing)
    entry = None
    if entry_code:
        entry = (
            RecruitmentEntry.objects.for_merchant(merchant)
            .filter(code=entry_code.strip().upper(), is_active=True)
            .first()
        )
        if entry is None:
            raise InvalidEntry()
    agreement = current_agreement(merchant)
    if agreement is not None and agreement_version != agreement.version:
        raise AgreementRequired(extra={"current_version": agreement.version})

    now = timezone.now()
    fields: dict[str, Any] = {  # the distributor's field values
        "display_name": display_name,
        "inviter": inviter,
        "ancestor_ids": [*inviter.ancestor_ids, inviter.pk] if inviter else [],
        "depth": inviter.depth + 1 if inviter else 0,
        "applied_at": now,
    }
    if phone:
        fields.update(
            phone_encrypted=crypto.encrypt(phone),
            phone_hash=crypto.keyed_hash("phone", phone),
            phone_masked=mask_phone(phone),
        )
    if identity:
        fields.update(
            identity_fields(
                real_name=identity[0], id_type=identity[1], id_number=identity[2], verified=identity_verified
            )
        )
    if existing is None:
        distributor = _create_distributor(merchant, external_user_id, default_level(merchant), fields)
        audit_record(
            merchant=merchant,
            actor=actor,
            action="distributor.applied",
            obj=distributor,
            changes={"status": [None, S.APPLIED], "inviter": [None, inviter.pk if inviter else None]},
        )
    else:
        distributor = existing
        for name, value in fields.items():
            setattr(distributor, name, value)
        distributor.save(update_fields=[*fields, "updated_at"])
        transition(distributor, merchant=merchant, actor=actor, target=S.APPLIED, reason="applied again")

    if agreement is not None:
        agreement_accept(merchant=merchant, distributor=distributor, agreement=agreement)
    application = Application.objects.create(
        merchant=merchant,
        distributor=distributor,
        channel=channel,
        invite_code=invite_code.strip().upper(),
        inviter=inviter,
        entry=entry,
        agreement=agreement,
    )
    hold = program.application_risk_check == DistributionProgram.RiskCheck.HOLD
    if program.auto_approve_applications and not hold:
        _decide(application, merchant=merchant, actor=actor, approve=True, reason="auto-approved", auto=True)
    if program.application_risk_check != DistributionProgram.RiskCheck.OFF:
        outbox.enqueue("risk.check_application", application.pk)
    return application


def _create_distributor(
    merchant: Merchant, external_user_id: str, level: Level | None, fields: dict[str, Any]
) -> Distributor:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Distributor.objects.create(
                    merchant=merchant,
                    external_user_id=external_user_id,
                    invite_code=new_invite_code(),
                    level=level,
                    status=S.APPLIED,
                    **fields,
                )
        except IntegrityError as exc:
            if "invite_code" not in str(exc):
                raise
    raise AlreadyApplied("Could not allocate an invite code; try again.")  # pragma: no cover


def _decide(
    application: Application, *, merchant: Merchant, actor: Actor, approve: bool, reason: str, auto: bool = False
) -> Application:
    if application.status != Application.Status.PENDING:
        raise InvalidTransition(
            entity="application", current=application.status, target="approved" if approve else "rejected"
        )
    distributor = Distributor.objects.for_merchant(merchant).select_for_update().get(pk=application.distributor_id)
    transition(distributor, merchant=merchant, actor=actor, target=S.ACTIVE if approve else S.REJECTED, reason=reason)
    application.status = Application.Status.APPROVED if approve else Application.Status.REJECTED
    application.decision_reason = reason[:500]
    application.decided_by = actor.label or actor.kind
    application.decided_at = timezone.now()
    application.auto_approved = auto
    application.save(update_fields=["status", "decision_reason", "decided_by", "decided_at", "auto_approved"])
    return application


def _lock_application(merchant: Merchant, application_id: int) -> Application:
    application = Application.objects.for_merchant(merchant).select_for_update().filter(pk=application_id).first()
    if application is None:
        raise NotFound("Application not found.")
    return application


@transaction.atomic
def application_approve(*, merchant: Merchant, actor: Actor, application_id: int, reason: str = "") -> Application:
    return _decide(
        _lock_application(merchant, application_id), merchant=merchant, actor=actor, approve=True, reason=reason
    )


@transaction.atomic
def application_reject(*, merchant: Merchant, actor: Actor, application_id: int, reason: str) -> Application:
    return _decide(
        _lock_application(merchant, application_id), merchant=merchant, actor=actor, approve=False, reason=reason
    )
