"""Leased runs: long jobs (settlement runs, tier recalculations, export jobs, later rollup rebuilds) done in
resumable chunks by whichever worker holds the run's lease.

A run is a row (a `LeasedRun`); its app gives the engine one function, `step(run, chunk_size)`, that
does the next chunk inside the chunk's transaction and says whether work remains. The engine does the
rest the same way for every kind of run:

* claim the lease (distribution.leases): one worker works a run at a time, and a worker that died is
  replaced once its lease lapses;
* one transaction per chunk, the run's row locked and its lease checked first, so a worker that lost
  the lease stops without writing anything; a chunk that hit a deadlock or a serialization failure was
  rolled back whole and is tried again (twice);
* completion is a guarded transition (RUN_STATES) in the last chunk's transaction, with the app's
  `on_complete` hook;
* stale runs (lapsed lease, or never picked up) are queued again by task name through the outbox, so the
  engine needs no import of the app's tasks, and a run that keeps crashing is failed after
  `leases.MAX_ATTEMPTS` tries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import OperationalError, models, transaction
from django.utils import timezone

from distribution import leases, outbox
from distribution.state import StateMachine
from distribution.tenancy import TenantModel

logger = logging.getLogger(__name__)

PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"
# A run's life; a lapsed lease moves a running run to running again under another worker (leases.claim).
RUN_STATES = StateMachine(
    "run",
    {PENDING: {RUNNING, FAILED}, RUNNING: {RUNNING, COMPLETED, FAILED}, COMPLETED: set(), FAILED: set()},
)
RETRIED_SQLSTATES = ("40P01", "40001")  # deadlock detected, serialization failure
CHUNK_ATTEMPTS = 3


class LeasedRun(TenantModel):
    """What every leased run has. A concrete run declares its own `status` (with these four values, and
    labels of its own), its cursor and its counters."""

    as_of = models.DateTimeField()
    status = models.CharField(max_length=12, default=PENDING)
    cursor = models.BigIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


Run = TypeVar("Run", bound=LeasedRun)


def default_lease() -> timedelta:
    return timedelta(seconds=settings.RUN_LEASE_SECONDS)


@dataclass(frozen=True)
class RunEngine(Generic[Run]):
    """The machine for one kind of run. `step(run, chunk_size)` works the next chunk (and records its
    progress, heartbeat included) and returns False when nothing was left to do."""

    model: type[Run]
    task: str  # the Celery task that executes one run, by name: "settlements.execute_run"
    step: Callable[[Any, int], bool]
    default_chunk: Callable[[], int]
    on_complete: Callable[[Any], None] | None = None

    def enqueue(self, run_id: int) -> None:
        """Execute the run after commit (through the outbox, so a crash before publishing loses nothing)."""
        outbox.enqueue(self.task, run_id)

    def execute(
        self,
        run_id: int,
        *,
        worker: str | None = None,
        chunk_size: int | None = None,
        lease: timedelta | None = None,
        max_chunks: int | None = None,
    ) -> Run | None:
        """Work through the run until it is done (or `max_chunks`, for tests); None when another worker
        holds it. Safe to call from any number of workers at once."""
        worker = worker or leases.worker_name()
        chunk_size = chunk_size or self.default_chunk()
        if not leases.claim(self.model, run_id, worker, lease if lease is not None else default_lease()):
            return None
        done = 0
        while max_chunks is None or done < max_chunks:
            more = self._chunk_with_retries(run_id, worker, chunk_size)
            done += 1
            if not more:
                break
            if settings.RUN_CHUNK_PAUSE_MS:
                time.sleep(settings.RUN_CHUNK_PAUSE_MS / 1000)
        return self.model.objects.unscoped().get(pk=run_id)

    def _chunk_with_retries(self, run_id: int, worker: str, chunk_size: int) -> bool | None:
        for attempt in range(CHUNK_ATTEMPTS):
            try:
                return self._chunk(run_id, worker, chunk_size)
            except OperationalError as exc:  # the chunk rolled back whole: doing it again is safe
                if getattr(exc.__cause__, "sqlstate", None) not in RETRIED_SQLSTATES or attempt == CHUNK_ATTEMPTS - 1:
                    raise
                logger.warning("%s %s: chunk retried after %s", self.model.__name__, run_id, exc)
        return None  # not reached: the last attempt returns or raises

    @transaction.atomic
    def _chunk(self, run_id: int, worker: str, chunk_size: int) -> bool | None:
        """The next chunk; False when the run is complete, None when the lease was lost."""
        run = self.model.objects.unscoped().select_for_update().get(pk=run_id)
        if run.status != RUNNING or run.lease_owner != worker:
            return None
        if self.step(run, chunk_size):
            return True
        now = timezone.now()
        RUN_STATES.apply(self.model.objects.unscoped(), run.pk, COMPLETED, finished_at=now, heartbeat_at=now)
        if self.on_complete is not None:
            self.on_complete(run)
        return False

    def resume_stale(self, *, lease: timedelta | None = None) -> list[int]:
        """Runs whose worker stopped renewing its lease (it died), or that were never started: queued
        again by task name."""
        run_ids = leases.stale(self.model, lease if lease is not None else default_lease())
        for run_id in run_ids:
            self.enqueue(run_id)
        return run_ids
