"""A distributor's life: status transitions, level, inviter changes. Each change is audited."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import InvalidTransition, NotFound
from distribution.state import StateMachine
from distributors.errors import InviteCycle, InviterNotActive, StillBlacklisted
from distributors.models import Distributor, Level, LevelChange
from distributors.selectors import SUBTREE_IDS
from distributors.services.bindings import binding_transfer
from distributors.services.common import lock_distributor, lock_tree, matching_entry
from merchants.models import Merchant

S = Distributor.Status
DISTRIBUTOR_STATES = StateMachine(
    "distributor",
    {
        S.APPLIED: {S.ACTIVE, S.REJECTED, S.BLACKLISTED, S.REMOVED},
        S.REJECTED: {S.APPLIED, S.BLACKLISTED},
        S.ACTIVE: {S.FROZEN, S.BLACKLISTED, S.REMOVED},
        S.FROZEN: {S.ACTIVE, S.BLACKLISTED, S.REMOVED},
        S.BLACKLISTED: {S.ACTIVE, S.REMOVED},
        S.REMOVED: set(),
    },
)


def _require(distributor: Distributor, expected: str, target: str) -> None:
    """For actions that make sense from one state only (unfreeze, reactivate)."""
    if distributor.status != expected:
        raise InvalidTransition(entity="distributor", current=distributor.status, target=target)


def transition(
    distributor: Distributor, *, merchant: Merchant, actor: Actor, target: str, reason: str = ""
) -> Distributor:
    """Move a locked distributor row to `target` (or raise 409), recording who, why and when."""
    DISTRIBUTOR_STATES.check(distributor.status, target)
    old = distributor.status
    now = timezone.now()
    distributor.status = target
    distributor.status_reason = reason[:500]
    distributor.status_changed_at = now
    fields = ["status", "status_reason", "status_changed_at", "updated_at"]
    if target == S.ACTIVE and distributor.activated_at is None:
        distributor.activated_at = now
        fields.append("activated_at")
    distributor.save(update_fields=fields)
    audit_record(
        merchant=merchant,
        actor=actor,
        action="distributor.status_changed",
        obj=distributor,
        changes={"status": [old, target]},
        reason=reason,
    )
    return distributor


@transaction.atomic
def distributor_freeze(*, merchant: Merchant, actor: Actor, distributor_id: int, reason: str) -> Distributor:
    return transition(
        lock_distributor(merchant, distributor_id), merchant=merchant, actor=actor, target=S.FROZEN, reason=reason
    )


@transaction.atomic
def distributor_unfreeze(*, merchant: Merchant, actor: Actor, distributor_id: int, reason: str = "") -> Distributor:
    distributor = lock_distributor(merchant, distributor_id)
    _require(distributor, S.FROZEN, S.ACTIVE)
    return transition(distributor, merchant=merchant, actor=actor, target=S.ACTIVE, reason=reason)


@transaction.atomic
def distributor_reactivate(*, merchant: Merchant, actor: Actor, distributor_id: int, reason: str) -> Distributor:
    """Bring a blacklisted distributor back by hand; refused while a live entry still matches them."""
    distributor = lock_distributor(merchant, distributor_id)
    _require(distributor, S.BLACKLISTED, S.ACTIVE)
    if matching_entry(merchant, distributor) is not None:
        raise StillBlacklisted()
    return transition(distributor, merchant=merchant, actor=actor, target=S.ACTIVE, reason=reason)


@transaction.atomic
def distributor_remove(
    *, merchant: Merchant, actor: Actor, distributor_id: int, reason: str, customers: str = "release"
) -> Distributor:
    """清退: remove a distributor for good. Their customers are released, or handed to their inviter
    when `customers="to_inviter"` and the inviter is active (else released)."""

    distributor = lock_distributor(merchant, distributor_id)
    transition(distributor, merchant=merchant, actor=actor, target=S.REMOVED, reason=reason)
    target = None
    if customers == "to_inviter" and distributor.inviter_id:
        inviter = Distributor.objects.for_merchant(merchant).filter(pk=distributor.inviter_id).first()
        target = inviter.pk if inviter and inviter.is_active else None
    binding_transfer(
        merchant=merchant,
        actor=actor,
        from_distributor_id=distributor.pk,
        to_distributor_id=target,
        reason=f"distributor removed: {reason}",
    )
    return distributor


@transaction.atomic
def distributor_set_level(
    *, merchant: Merchant, actor: Actor, distributor_id: int, level_id: int, lock: bool, reason: str
) -> Distributor:
    """Set a distributor's level by hand; `lock` keeps the automatic recalculation away from it."""
    level = Level.objects.for_merchant(merchant).filter(pk=level_id).first()
    if level is None:
        raise NotFound("Level not found.", fields={"level": ["No such level."]})
    distributor = lock_distributor(merchant, distributor_id)
    changes = {}
    if distributor.level_id != level.pk:
        changes["level"] = [distributor.level_id, level.pk]
    if distributor.level_locked != lock:
        changes["level_locked"] = [distributor.level_locked, lock]
    old_level_id = distributor.level_id
    distributor.level = level
    distributor.level_locked = lock
    distributor.level_lock_reason = reason[:500] if lock else ""
    distributor.level_changed_at = timezone.now() if old_level_id != level.pk else distributor.level_changed_at
    distributor.save(update_fields=["level", "level_locked", "level_lock_reason", "level_changed_at", "updated_at"])
    if old_level_id != level.pk:
        LevelChange.objects.create(
            merchant_id=distributor.merchant_id,
            distributor=distributor,
            old_level_id=old_level_id,
            new_level_id=distributor.level_id,
            direction=LevelChange.Direction.MANUAL,
            reason=reason[:500],
        )
    if changes:
        audit_record(
            merchant=merchant,
            actor=actor,
            action="distributor.level_set",
            obj=distributor,
            changes=changes,
            reason=reason,
        )
    return distributor


@transaction.atomic
def distributor_change_inviter(
    *, merchant: Merchant, actor: Actor, distributor_id: int, inviter_id: int | None, reason: str
) -> Distributor:
    """换上级: move a distributor (and their whole team) under another inviter, or to the top.

    The new inviter must be active and outside the distributor's own team (no loops). Every path in
    the moved subtree is rewritten in one statement.
    """
    lock_tree(merchant, shared=False)
    distributor = lock_distributor(merchant, distributor_id)
    new_ancestors: list[int] = []
    inviter = None
    if inviter_id is not None:
        inviter = Distributor.objects.for_merchant(merchant).filter(pk=inviter_id).first()
        if inviter is None:
            raise NotFound("Inviter not found.", fields={"inviter": ["No such distributor."]})
        if inviter.pk == distributor.pk or distributor.pk in inviter.ancestor_ids:
            raise InviteCycle()
        if not inviter.is_active:
            raise InviterNotActive()
        new_ancestors = [*inviter.ancestor_ids, inviter.pk]
    old_inviter = distributor.inviter_id
    if old_inviter == (inviter.pk if inviter else None):
        return distributor
    old_prefix_length = distributor.depth + 1  # the ancestors and the distributor itself
    table = Distributor._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table}
               SET ancestor_ids = %s::bigint[] || ancestor_ids[%s:],
                   depth = cardinality(%s::bigint[] || ancestor_ids[%s:]),
                   updated_at = now()
             WHERE merchant_id = %s AND id IN ({SUBTREE_IDS})
            """,  # noqa: S608  (the subtree through distributor_tree and its GIN index: selectors.SUBTREE_IDS)
            [
                [*new_ancestors, distributor.pk],
                old_prefix_length + 1,
                [*new_ancestors, distributor.pk],
                old_prefix_length + 1,
                merchant.pk,
                merchant.pk,
                distributor.pk,
            ],
        )
    distributor.inviter = inviter
    distributor.ancestor_ids = new_ancestors
    distributor.depth = len(new_ancestors)
    distributor.save(update_fields=["inviter", "ancestor_ids", "depth", "updated_at"])
    audit_record(
        merchant=merchant,
        actor=actor,
        action="distributor.inviter_changed",
        obj=distributor,
        changes={"inviter": [old_inviter, inviter.pk if inviter else None]},
        reason=reason,
    )
    return distributor


def blacklisted_transition(distributor: Distributor, *, merchant: Merchant, actor: Actor, reason: str) -> bool:
    """Blacklist a locked distributor if their state allows it; False when already blacklisted or removed."""
    if distributor.status in (S.BLACKLISTED, S.REMOVED):
        return False
    transition(distributor, merchant=merchant, actor=actor, target=S.BLACKLISTED, reason=reason)
    return True


@transaction.atomic
def distributor_set_leaderboard_opt_in(
    *, merchant: Merchant, actor: Actor, distributor_id: int, opted_in: bool
) -> Distributor:
    """The distributor's own choice to appear (name masked) on the distributors' leaderboard, or not.
    Setting what is already set changes nothing and records nothing."""
    distributor = lock_distributor(merchant, distributor_id)
    if distributor.leaderboard_opt_in != opted_in:
        audit_record(
            merchant=merchant,
            actor=actor,
            action="distributor.leaderboard_opt_in",
            obj=distributor,
            changes={"leaderboard_opt_in": [distributor.leaderboard_opt_in, opted_in]},
        )
        distributor.leaderboard_opt_in = opted_in
        distributor.save(update_fields=["leaderboard_opt_in", "updated_at"])
    return distributor
