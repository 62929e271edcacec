"""Risk checks: the periodic sweep (blacklist re-check and history rules), the application check, and
the merchant's review of the flags they raise."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import NotFound
from distributors.models import Application, Distributor
from distributors.services import applications, blacklist
from merchants.models import DistributionProgram, Merchant
from risk import rules
from risk.errors import FlagAlreadyReviewed, NoDistributorToBlacklist
from risk.models import RiskFlag

logger = logging.getLogger(__name__)
SYSTEM = Actor.system("risk")
SNOOZE_DAYS = 30


def flag_raise(*, merchant_id: int, rule: str, hit: rules.Hit) -> RiskFlag | None:
    """Open a flag for a hit, unless one is open for the same rule and subject, or the merchant reviewed
    one in the last SNOOZE_DAYS (a dismissed flag does not come back every night)."""
    reviewed = RiskFlag.objects.for_merchant(merchant_id).filter(
        rule=rule, subject=hit.subject[:120], reviewed_at__gte=timezone.now() - timedelta(days=SNOOZE_DAYS)
    )
    if reviewed.exists():
        return None
    try:
        with transaction.atomic():
            return RiskFlag.objects.create(
                merchant_id=merchant_id,
                rule=rule,
                subject=hit.subject[:120],
                distributor_id=hit.distributor_id,
                evidence=hit.evidence,
            )
    except IntegrityError:
        return None


def risk_sweep(*, merchant: Merchant, now: datetime | None = None) -> dict[str, list[int] | int]:
    """The periodic check: blacklist entries against live distributors, then every history rule."""
    now = now or timezone.now()
    result: dict[str, list[int] | int] = {"blacklisted": blacklist.blacklist_sweep(merchant=merchant, actor=SYSTEM)}
    for name, rule in rules.PERIODIC_RULES.items():
        raised = [flag_raise(merchant_id=merchant.pk, rule=name, hit=hit) for hit in rule(merchant.pk, now)]
        result[name] = sum(1 for flag in raised if flag is not None)
    return result


def application_check(application_id: int) -> dict[str, str | bool | list[int]]:
    """After an application: look for the same phone or ID number on another distributor. In `hold` mode
    a clean application is approved here (when auto-approval is on) and a hit waits for review."""
    application = (
        Application.objects.unscoped().select_related("distributor", "merchant").filter(pk=application_id).first()
    )
    if application is None:
        return {"skipped": "gone"}
    merchant, distributor = application.merchant, application.distributor
    program = DistributionProgram.objects.for_merchant(merchant).get()
    shared = Q(pk__in=[])
    if distributor.phone_hash:
        shared |= Q(phone_hash=distributor.phone_hash)
    if distributor.id_number_hash:
        shared |= Q(id_number_hash=distributor.id_number_hash)
    others = list(
        Distributor.objects.for_merchant(merchant)
        .filter(shared)
        .exclude(pk=distributor.pk)
        .values_list("pk", flat=True)
    )
    if others:
        flag_raise(
            merchant_id=merchant.pk,
            rule=RiskFlag.Rule.APPLICATION,
            hit=rules.Hit(
                f"application:{application.pk}",
                distributor.pk,
                {"application": application.pk, "shares_identity_with": others},
            ),
        )
        return {"hit": True, "others": others}
    if (
        program.application_risk_check == DistributionProgram.RiskCheck.HOLD
        and program.auto_approve_applications
        and application.status == Application.Status.PENDING
    ):
        applications.application_approve(
            merchant=merchant, actor=SYSTEM, application_id=application.pk, reason="risk check passed"
        )
    return {"hit": False}


@transaction.atomic
def flag_review(*, merchant: Merchant, actor: Actor, flag_id: int, action: str, note: str = "") -> RiskFlag:
    """accept (known, nothing to do), dismiss (false alarm) or blacklist (the flagged distributor)."""
    flag = RiskFlag.objects.for_merchant(merchant).select_for_update().filter(pk=flag_id).first()
    if flag is None:
        raise NotFound("Flag not found.")
    if flag.status != RiskFlag.Status.OPEN:
        raise FlagAlreadyReviewed(extra={"status": flag.status})
    if action == "blacklist":
        if flag.distributor_id is None:
            raise NoDistributorToBlacklist()
        existing = blacklist.matching_entry(
            merchant, Distributor.objects.for_merchant(merchant).get(pk=flag.distributor_id)
        )
        if existing is None:
            blacklist.blacklist_add(
                merchant=merchant,
                actor=actor,
                kind="distributor",
                distributor_id=flag.distributor_id,
                reason=f"risk flag {flag.pk} ({flag.rule}): {note}"[:500],
            )
    status = {
        "accept": RiskFlag.Status.ACCEPTED,
        "dismiss": RiskFlag.Status.DISMISSED,
        "blacklist": RiskFlag.Status.BLACKLISTED,
    }[action]
    flag.status, flag.review_note = status, note[:500]
    flag.reviewed_by, flag.reviewed_at = actor.label or actor.kind, timezone.now()
    flag.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    audit_record(
        merchant=merchant,
        actor=actor,
        action="risk_flag.reviewed",
        obj=flag,
        changes={"status": ["open", status]},
        reason=note,
    )
    return flag
