"""Customer binding (客户关系): which distributor a customer of the merchant belongs to.

The program decides: first touch keeps the customer with the first distributor whose link they used
(while the binding is valid); last touch moves them to the latest one, except during the protection
period. A binding lasts `binding_validity_days` (empty = permanent). History is kept: a binding that
ends keeps its row with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import NotFound, ValidationFailed
from distribution.tenancy import TenantQuerySet
from distributors.errors import (
    BindingProtected,
    CustomerBoundElsewhere,
    DistributorNotActive,
    SelfBindingNotAllowed,
    VisitReplayMismatch,
)
from distributors.models import CustomerBinding, Distributor, ShareVisit
from distributors.services.common import advisory_lock, distributor_by_code
from merchants.models import DistributionProgram, Merchant

B = CustomerBinding


@dataclass(frozen=True)
class BindingDecision:
    decision: str  # bound | already_bound | moved
    binding: CustomerBinding
    previous: CustomerBinding | None = None
    replayed: bool = False


def live_bindings(merchant: Merchant | int, at: datetime | None = None) -> TenantQuerySet[CustomerBinding]:
    """Active bindings that had started and had not expired at `at` (now)."""
    at = at or timezone.now()
    return (
        CustomerBinding.objects.for_merchant(merchant)
        .filter(status=B.Status.ACTIVE, bound_at__lte=at)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
    )


def _new_binding(
    merchant: Merchant,
    program: DistributionProgram,
    *,
    customer: str,
    distributor_id: int,
    at: datetime,
    source: str,
) -> CustomerBinding:
    validity, protection = program.binding_validity_days, program.binding_protection_days
    return CustomerBinding(
        merchant=merchant,
        customer_external_id=customer,
        distributor_id=distributor_id,
        source=source,
        bound_at=at,
        expires_at=at + timedelta(days=validity) if validity is not None else None,
        protected_until=at + timedelta(days=protection) if protection else None,
    )


def _end(binding: CustomerBinding, *, at: datetime, reason: str) -> None:
    binding.status = B.Status.ENDED
    binding.ended_at = at
    binding.end_reason = reason
    binding.save(update_fields=["status", "ended_at", "end_reason"])


@transaction.atomic
def binding_record_visit(
    *,
    merchant: Merchant,
    customer_external_id: str,
    share_code: str,
    visited_at: datetime | None = None,
    visit_id: str | None = None,
    source: str = B.Source.SHARE_LINK,
    distributor: Distributor | None = None,
    program: DistributionProgram | None = None,
) -> BindingDecision:
    """A customer came through a distributor's share link: bind them per the program's rules.

    Refused (4xx, nothing written) when the distributor is not active, when it would bind a distributor
    to themselves without self-purchase commission, when first touch keeps the customer elsewhere, and
    when the current binding is protected. The same `visit_id` twice answers the first decision again.
    A caller that has read the share code's distributor and the program already passes them in.
    """
    now = timezone.now()
    at = visited_at or now
    if at > now + timedelta(minutes=5):
        raise ValidationFailed(fields={"visited_at": ["Cannot be in the future."]})
    distributor = distributor or distributor_by_code(merchant, share_code)
    if visit_id:
        replay = _replay(merchant, visit_id, customer_external_id, distributor)
        if replay is not None:
            return replay
    advisory_lock("customer", merchant.pk, customer_external_id)
    program = program or DistributionProgram.objects.for_merchant(merchant).get()
    if not distributor.is_active:
        raise DistributorNotActive()
    if distributor.external_user_id == customer_external_id and not program.self_purchase_commission:
        raise SelfBindingNotAllowed()

    try:
        with transaction.atomic():
            return _decide(merchant, program, customer_external_id, distributor, at, visit_id, source)
    except IntegrityError:
        # A merchant's transfer gave this customer a new binding while we waited for the old one's lock;
        # decide again against it.
        return _decide(merchant, program, customer_external_id, distributor, at, visit_id, source)


def _decide(
    merchant: Merchant,
    program: DistributionProgram,
    customer_external_id: str,
    distributor: Distributor,
    at: datetime,
    visit_id: str | None,
    source: str,
) -> BindingDecision:
    current = (
        CustomerBinding.objects.for_merchant(merchant)
        .select_for_update()
        .filter(customer_external_id=customer_external_id, status=B.Status.ACTIVE)
        .first()
    )
    if current is not None and current.expires_at is not None and current.expires_at <= at:
        _end(current, at=current.expires_at, reason=B.EndReason.EXPIRED)
        current = None

    previous: CustomerBinding | None = None
    binding: CustomerBinding | None = None  # the current one when already bound to this distributor
    if current is None:
        decision = "bound"
    elif current.distributor_id == distributor.pk:
        decision, binding = "already_bound", current
    elif program.binding_mode == DistributionProgram.BindingMode.FIRST_TOUCH or at < current.bound_at:
        raise CustomerBoundElsewhere()
    elif current.protected_until is not None and at < current.protected_until:
        raise BindingProtected(extra={"protected_until": current.protected_until.isoformat()})
    else:
        decision, previous = "moved", current
        _end(current, at=at, reason=B.EndReason.REPLACED)

    if binding is None:
        binding = _new_binding(
            merchant, program, customer=customer_external_id, distributor_id=distributor.pk, at=at, source=source
        )
        binding.save()
    if visit_id:
        ShareVisit.objects.create(
            merchant=merchant,
            visit_id=visit_id,
            customer_external_id=customer_external_id,
            distributor=distributor,
            visited_at=at,
            decision=decision,
            binding=binding,
        )
    return BindingDecision(decision=decision, binding=binding, previous=previous)


def _replay(merchant: Merchant, visit_id: str, customer: str, distributor: Distributor) -> BindingDecision | None:
    visit = ShareVisit.objects.for_merchant(merchant).select_related("binding").filter(visit_id=visit_id).first()
    if visit is None:
        return None
    if visit.customer_external_id != customer or visit.distributor_id != distributor.pk:
        raise VisitReplayMismatch()
    return BindingDecision(decision=visit.decision, binding=visit.binding, replayed=True)


@transaction.atomic
def binding_transfer(
    *,
    merchant: Merchant,
    actor: Actor,
    from_distributor_id: int,
    to_distributor_id: int | None,
    customer_external_ids: list[str] | None = None,
    reason: str = "",
) -> int:
    """Move a distributor's customers (all, or the ones named) to another distributor, or release them
    (`to_distributor_id=None`). Set-based; returns how many bindings moved."""
    source = Distributor.objects.for_merchant(merchant).filter(pk=from_distributor_id).first()
    if source is None:
        raise NotFound("Distributor not found.", fields={"from_distributor": ["No such distributor."]})
    target = None
    if to_distributor_id is not None:
        target = Distributor.objects.for_merchant(merchant).filter(pk=to_distributor_id).first()
        if target is None:
            raise NotFound("Distributor not found.", fields={"to_distributor": ["No such distributor."]})
        if not target.is_active:
            raise DistributorNotActive("The distributor receiving the customers is not active.")
        if target.pk == source.pk:
            raise ValidationFailed(fields={"to_distributor": ["Same as the source."]})
    now = timezone.now()
    program = DistributionProgram.objects.for_merchant(merchant).get()
    moving = live_bindings(merchant, now).filter(distributor=source).select_for_update()
    if customer_external_ids is not None:
        moving = moving.filter(customer_external_id__in=customer_external_ids)
    customers = list(moving.order_by("customer_external_id").values_list("customer_external_id", flat=True))
    if not customers:
        return 0
    end_reason = B.EndReason.TRANSFERRED if target else B.EndReason.RELEASED
    CustomerBinding.objects.for_merchant(merchant).filter(
        distributor=source, status=B.Status.ACTIVE, customer_external_id__in=customers
    ).update(status=B.Status.ENDED, ended_at=now, end_reason=end_reason)
    if target is not None:
        CustomerBinding.objects.bulk_create(
            [
                _new_binding(merchant, program, customer=c, distributor_id=target.pk, at=now, source=B.Source.TRANSFER)
                for c in customers
            ],
            batch_size=1000,
        )
    audit_record(
        merchant=merchant,
        actor=actor,
        action="bindings.transferred" if target else "bindings.released",
        obj=source,
        changes={"customers": [len(customers), 0], "to_distributor": [None, target and target.pk]},
        reason=reason,
    )
    return len(customers)
