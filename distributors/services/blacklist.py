"""The blacklist (黑名单): blocked distributors, phones, ID numbers and app user ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from distribution import crypto
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import NotFound, ValidationFailed
from distribution.identifiers import canonical, id_number_problem, phone_problem
from distribution.pii import mask_id_number, mask_phone
from distributors.errors import AlreadyBlacklisted
from distributors.models import BlacklistEntry, Distributor
from distributors.services.common import distributor_hash, live_blacklist, matching_entries, matching_entry  # noqa: F401 - its API
from distributors.services.lifecycle import blacklisted_transition
from distributors.signals import distributors_blacklisted
from merchants.models import Merchant

K = BlacklistEntry.Kind


def applicant_entry(
    merchant: Merchant, *, external_user_id: str, phone: str = "", id_number: str = ""
) -> BlacklistEntry | None:
    """The live entry that blocks an applicant, if any (by app user id, phone or ID number)."""
    conditions = Q(kind=K.EXTERNAL_USER_ID, value_hash=crypto.keyed_hash(K.EXTERNAL_USER_ID, external_user_id))
    if phone:
        conditions |= Q(kind=K.PHONE, value_hash=crypto.keyed_hash(K.PHONE, phone))
    if id_number:
        conditions |= Q(kind=K.ID_NUMBER, value_hash=crypto.keyed_hash(K.ID_NUMBER, id_number))
    return live_blacklist(merchant).filter(conditions).first()


@transaction.atomic
def blacklist_add(
    *,
    merchant: Merchant,
    actor: Actor,
    kind: str,
    reason: str,
    value: str = "",
    distributor_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[BlacklistEntry, list[int]]:
    """Add an entry; every existing distributor it matches is blacklisted at once (status, audited),
    which stops their new bindings and new commission. Returns the entry and those distributors' ids."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(fields={"expires_at": ["Must be in the future."]})
    distributor = None
    if kind == K.DISTRIBUTOR:
        distributor = (
            Distributor.objects.for_merchant(merchant).filter(pk=distributor_id).first()
            if distributor_id is not None
            else None
        )
        if distributor is None:
            raise NotFound("Distributor not found.", fields={"distributor": ["No such distributor."]})
        value_hash, display = distributor_hash(distributor.pk), str(distributor)
    else:
        if not value.strip():
            raise ValidationFailed(fields={"value": ["Required for this kind."]})
        problems: dict[str, Callable[[str], str | None]] = {K.PHONE: phone_problem, K.ID_NUMBER: id_number_problem}
        problem = problems.get(kind, lambda _: None)(value)
        if problem:
            raise ValidationFailed(fields={"value": [problem]})
        value = canonical(kind, value)
        value_hash = crypto.keyed_hash(kind, value)
        masks: dict[str, Callable[[str], str]] = {K.PHONE: mask_phone, K.ID_NUMBER: mask_id_number}
        display = masks.get(kind, str)(value)
    try:
        with transaction.atomic():
            entry = BlacklistEntry.objects.create(
                merchant=merchant,
                kind=kind,
                value_hash=value_hash,
                value_display=display[:80],
                distributor=distributor,
                reason=reason,
                added_by=actor.label or actor.kind,
                expires_at=expires_at,
            )
    except IntegrityError:
        raise AlreadyBlacklisted() from None
    audit_record(
        merchant=merchant,
        actor=actor,
        action="blacklist.added",
        obj=entry,
        changes={"kind": [None, kind], "value": [None, entry.value_display]},
        reason=reason,
    )

    fields: dict[str, str] = {
        K.DISTRIBUTOR: "pk",
        K.EXTERNAL_USER_ID: "external_user_id",
        K.PHONE: "phone_hash",
        K.ID_NUMBER: "id_number_hash",
    }
    field = fields[kind]
    lookup = distributor.pk if distributor else (value_hash if kind in (K.PHONE, K.ID_NUMBER) else value)
    affected = []
    candidates = (
        Distributor.objects.for_merchant(merchant)
        .filter(**{field: lookup})
        .exclude(status__in=[Distributor.Status.BLACKLISTED, Distributor.Status.REMOVED])
        .order_by("pk")
        .select_for_update()
    )
    for candidate in candidates:
        if blacklisted_transition(candidate, merchant=merchant, actor=actor, reason=f"blacklist: {reason}"):
            affected.append(candidate.pk)
    distributors_blacklisted.send(Distributor, merchant=merchant, actor=actor, distributor_ids=affected, reason=reason)
    return entry, affected


@transaction.atomic
def blacklist_sweep(*, merchant: Merchant, actor: Actor) -> list[int]:
    """Re-check live distributors against every live entry (entries added in the admin, identities
    submitted after an entry was made, ...): each match is blacklisted now."""
    entries = list(live_blacklist(merchant))
    if not entries:
        return []
    by_kind: dict[str, set[str]] = {}
    for entry in entries:
        by_kind.setdefault(entry.kind, set()).add(entry.value_hash)
    candidates = Distributor.objects.for_merchant(merchant).exclude(
        status__in=[Distributor.Status.BLACKLISTED, Distributor.Status.REMOVED]
    )
    matched: dict[int, str] = {}
    if K.PHONE in by_kind:
        for pk in candidates.filter(phone_hash__in=by_kind[K.PHONE]).values_list("pk", flat=True):
            matched[pk] = "phone"
    if K.ID_NUMBER in by_kind:
        for pk in candidates.filter(id_number_hash__in=by_kind[K.ID_NUMBER]).values_list("pk", flat=True):
            matched[pk] = "id_number"
    for pk, external in candidates.values_list("pk", "external_user_id"):
        if crypto.keyed_hash(K.EXTERNAL_USER_ID, external) in by_kind.get(K.EXTERNAL_USER_ID, ()) or distributor_hash(
            pk
        ) in by_kind.get(K.DISTRIBUTOR, ()):
            matched.setdefault(pk, "account")
    affected = []
    for distributor in candidates.filter(pk__in=list(matched)).order_by("pk").select_for_update():
        reason = f"blacklist sweep: {matched[distributor.pk]} matches a live entry"
        if blacklisted_transition(distributor, merchant=merchant, actor=actor, reason=reason):
            affected.append(distributor.pk)
    distributors_blacklisted.send(
        Distributor, merchant=merchant, actor=actor, distributor_ids=affected, reason="blacklist sweep"
    )
    return affected


@transaction.atomic
def blacklist_remove(*, merchant: Merchant, actor: Actor, entry_id: int, reason: str = "") -> BlacklistEntry:
    """Take an entry off the list. It restores nothing: the merchant reactivates distributors by hand."""
    entry = BlacklistEntry.objects.for_merchant(merchant).select_for_update().filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("Blacklist entry not found.")
    if entry.removed_at is None:
        entry.removed_at = timezone.now()
        entry.removed_by = actor.label or actor.kind
        entry.save(update_fields=["removed_at", "removed_by"])
        audit_record(
            merchant=merchant,
            actor=actor,
            action="blacklist.removed",
            obj=entry,
            changes={"removed": [False, True]},
            reason=reason,
        )
    return entry
