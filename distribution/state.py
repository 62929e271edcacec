"""Declared state machines with guarded transitions.

A transition is one conditional UPDATE (`... WHERE id = ? AND status IN (allowed sources)`) and acts
only when exactly one row changed; anything else is an `InvalidTransition` (409) naming the current
state, so two concurrent callers cannot both move the same row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from distribution.errors import InvalidTransition, NotFound


class StateMachine:
    def __init__(self, entity: str, transitions: Mapping[str, Iterable[str]], field: str = "status"):
        self.entity = entity
        self.field = field
        self.transitions = {src: frozenset(dsts) for src, dsts in transitions.items()}

    def can(self, current: str, target: str) -> bool:
        return target in self.transitions.get(current, ())

    def sources(self, target: str) -> list[str]:
        return sorted(src for src, dsts in self.transitions.items() if target in dsts)

    def check(self, current: str, target: str) -> None:
        if not self.can(current, target):
            raise InvalidTransition(entity=self.entity, current=current, target=target)

    def apply_many(self, queryset: models.QuerySet, target: str, **updates: Any) -> int:
        """Move every row of `queryset` that may go to `target` (the others are left as they are); returns
        how many moved. For set-based transitions, where the filter picks the rows."""
        return queryset.filter(**{f"{self.field}__in": self.sources(target)}).update(**{self.field: target}, **updates)

    def apply(self, queryset: models.QuerySet, pk: Any, target: str, **updates: Any) -> None:
        """Move row `pk` (inside `queryset`, already tenant-scoped) to `target`, atomically guarded."""
        changed = queryset.filter(pk=pk, **{f"{self.field}__in": self.sources(target)}).update(
            **{self.field: target}, **updates
        )
        if changed == 1:
            return
        current = queryset.filter(pk=pk).values_list(self.field, flat=True).first()
        if current is None:
            raise NotFound(f"{self.entity} not found.")
        raise InvalidTransition(entity=self.entity, current=current, target=target)
