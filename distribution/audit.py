"""Audit trail: services call `audit_record` in the same transaction as the change they describe."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from distribution.auth import Actor
from distribution.context import current_request_id
from distribution.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: _jsonable(getattr(instance, name)) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def audit_record(
    *,
    merchant: Any,  # the tenant, an instance of settings.TENANT_MODEL (a model the kernel does not import)
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    return AuditEvent.objects.create(
        merchant=merchant,
        actor_kind=actor.kind,
        actor_id=str(actor.id)[:64],
        actor_label=str(actor.label)[:150],
        action=action,
        object_type=object_type or "",
        object_id=str(object_id if object_id is not None else ""),
        changes=_jsonable(dict(changes or {})),
        reason=reason,
        request_id=current_request_id(),
    )
