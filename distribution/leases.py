"""Leases for long, resumable jobs (settlement runs, tier recalculations): one worker works a run at a
time; a run whose worker stopped renewing its lease (it died) can be taken over and resumed."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from django.db.models import F, Q
from django.utils import timezone

if TYPE_CHECKING:
    from distribution.tenancy import TenantManager

MAX_ATTEMPTS = 10


class RunModel(Protocol):
    """A run's model (a tenant model of an app above the kernel), with the fields `claim` and `stale` name."""

    objects: TenantManager[Any]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(model: RunModel, run_id: int, worker: str, lease: timedelta) -> bool:
    """Take the run: it is pending, or running under a lapsed lease, or already ours.

    The model needs `status` (pending/running/...), `lease_owner`, `heartbeat_at`, `attempts`, `started_at`.
    """
    now = timezone.now()
    claimed = (
        model.objects.unscoped()
        .filter(
            Q(status="pending")
            | Q(status="running", heartbeat_at__lt=now - lease)
            | Q(status="running", lease_owner=worker),
            pk=run_id,
        )
        .update(status="running", lease_owner=worker, heartbeat_at=now, attempts=F("attempts") + 1)
    )
    if claimed:
        model.objects.unscoped().filter(pk=run_id, started_at__isnull=True).update(started_at=now)
    return bool(claimed)


def stale(model: RunModel, lease: timedelta, max_attempts: int = MAX_ATTEMPTS) -> list[int]:
    """Runs nobody is working on: running with a lapsed lease, or pending and never picked up.

    A run taken `max_attempts` times without finishing keeps failing (a bug, not a crash): it is marked
    failed instead (its committed chunks stand; the job status view shows the error), and a new run
    can be requested.
    """
    cutoff = timezone.now() - lease
    lapsed = model.objects.unscoped().filter(
        Q(status="running", heartbeat_at__lt=cutoff) | Q(status="pending", created_at__lt=cutoff)
    )
    lapsed.filter(attempts__gte=max_attempts).update(status="failed", finished_at=timezone.now())
    return list(lapsed.filter(attempts__lt=max_attempts).values_list("pk", flat=True))
