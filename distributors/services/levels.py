"""Levels (分销等级): their definitions, and how a distributor measures up against them."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from distribution import rates
from distribution.audit import audit_record, diff, snapshot
from distribution.auth import Actor
from distribution.errors import NotFound, ValidationFailed
from distributors.errors import DefaultLevelRequired, LevelInUse
from distributors.models import Distributor, Level
from merchants.models import Merchant

LEVEL_FIELDS = [
    "name",
    "rank",
    "is_default",
    "condition_mode",
    "window_days",
    *Level.CONDITION_FIELDS,
    *(f"depth{d}_rate{part}" for d in rates.DEPTHS for part in ("_mode", "")),
]


def _validate(level: Level) -> None:
    errors: dict[str, list[str]] = {}
    level_rates = level.commission_rates
    if any((r["rate_bps"] or r["amount"] or 0) < 0 for r in level_rates):
        errors["commission_rates"] = ["A rate cannot be negative."]
    percent = [r["rate_bps"] for r in level_rates if r["mode"] == rates.PERCENT]
    if any(v > 10_000 for v in percent):
        errors.setdefault("commission_rates", []).append("A percent rate is at most 10000 basis points.")
    elif sum(percent) > 10_000:
        errors.setdefault("commission_rates", []).append("The percent rates of all depths add up to more than 100%.")
    for name in Level.CONDITION_FIELDS:
        value = getattr(level, name)
        if value is not None and value < 0:
            errors[name] = ["Cannot be negative."]
    if level.window_days is not None and not 1 <= level.window_days <= 3650:
        errors["window_days"] = ["Between 1 and 3650 days, or empty for cumulative."]
    if errors:
        raise ValidationFailed(fields=errors)


def _save(level: Level, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            level.save(update_fields=update_fields)
    except IntegrityError:
        raise ValidationFailed(fields={"rank": ["Another level has this rank."]}) from None


@transaction.atomic
def level_create(*, merchant: Merchant, actor: Actor, data: dict[str, Any]) -> Level:
    level = Level(merchant=merchant, **rates.with_columns(data, **Level.RATE_COLUMNS))
    _validate(level)
    has_levels = Level.objects.for_merchant(merchant).exists()
    if not has_levels:
        level.is_default = True  # the first level is where new distributors start
    elif level.is_default:
        Level.objects.for_merchant(merchant).filter(is_default=True).update(is_default=False)
    _save(level)
    if not has_levels:  # distributors who joined before any level existed start here too
        Distributor.objects.for_merchant(merchant).filter(level__isnull=True).update(level=level)
    audit_record(
        merchant=merchant,
        actor=actor,
        action="level.created",
        obj=level,
        changes={k: [None, v] for k, v in snapshot(level, LEVEL_FIELDS).items()},
    )
    return level


@transaction.atomic
def level_update(*, merchant: Merchant, actor: Actor, level_id: int, changes: dict[str, Any]) -> Level:
    level = Level.objects.for_merchant(merchant).select_for_update().filter(pk=level_id).first()
    if level is None:
        raise NotFound("Level not found.")
    before = snapshot(level, LEVEL_FIELDS)
    if changes.get("is_default") is False and level.is_default:
        raise DefaultLevelRequired("Make another level the default instead.")
    for name, value in rates.with_columns(changes, **Level.RATE_COLUMNS).items():
        setattr(level, name, value)
    _validate(level)
    if changes.get("is_default") and not before["is_default"]:
        Level.objects.for_merchant(merchant).filter(is_default=True).update(is_default=False)
    changed = diff(before, snapshot(level, LEVEL_FIELDS))
    if changed:
        _save(level, update_fields=[*changed, "updated_at"])
        audit_record(merchant=merchant, actor=actor, action="level.updated", obj=level, changes=changed)
    return level


@transaction.atomic
def level_delete(*, merchant: Merchant, actor: Actor, level_id: int) -> None:
    level = Level.objects.for_merchant(merchant).select_for_update().filter(pk=level_id).first()
    if level is None:
        raise NotFound("Level not found.")
    if level.is_default:
        raise DefaultLevelRequired()
    if Distributor.objects.for_merchant(merchant).filter(level=level).exists():
        raise LevelInUse()
    audit_record(
        merchant=merchant,
        actor=actor,
        action="level.deleted",
        obj=level,
        changes={"name": [level.name, None], "rank": [level.rank, None]},
    )
    level.delete()


def default_level(merchant: Merchant) -> Level | None:
    return Level.objects.for_merchant(merchant).filter(is_default=True).first()
