"""Exports: a small one answered at once, a large one written by a worker as a leased run (an ExportJob).

A job's chunk reads the next rows of its kind (exports.kinds) from the run's cursor, writes them to a part
file in the exports storage and records the part, the rows done and the cursor in the chunk's transaction;
a chunk redone after a crash writes its part again under the same name. The last chunk joins the parts
into the file (CSV, or XLSX) and deletes them. Files live in `storages["exports"]` (settings: a directory,
EXPORTS_DIR, unless STORAGES["exports"] names another backend) and are deleted once they expire.

Every export is audited: `export.streamed` for one answered at once, `export.requested` for a job, and
`export.downloaded` for each download of a job's file, each with the kind, the filters and the rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from distribution import exports as files
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.runs import RunEngine
from exports.errors import ExportExpired, ExportFailed, ExportNotReady
from exports.kinds import Cell, Filters, Kind, kind_of
from exports.models import ExportJob
from merchants.models import Merchant

J = ExportJob.Status


def storage() -> Storage:
    return storages["exports"]


def file_stem(kind: Kind, job_id: int | None = None) -> str:
    """The download's name without its extension: `orders-2026-12-06` (and the job's id for a job)."""
    stem = f"{kind.name}-{timezone.now().date().isoformat()}"
    return stem if job_id is None else f"{stem}-{job_id}"


def _audit_changes(kind: Kind, file_format: str, filters: Filters, rows: int, **more: Any) -> dict[str, Any]:
    return {"kind": kind.name, "format": file_format, "filters": filters, "rows": rows, **more}


# --- at once -------------------------------------------------------------------------------------------------
def export_record_streamed(
    *, merchant: Merchant, actor: Actor, kind: Kind, file_format: str, filters: Filters, rows: int
) -> None:
    """The audit event of an export answered at once (written before the file is sent)."""
    audit_record(
        merchant=merchant,
        actor=actor,
        action="export.streamed",
        object_type="export",
        object_id=kind.name,
        changes=_audit_changes(kind, file_format, filters, rows),
    )


def export_rows(merchant: Merchant, kind: Kind, filters: Filters, *, chunk_size: int) -> Iterator[list[Any]]:
    """Every matching row, ready for the file, read chunk by chunk (keyset, no server-side cursor)."""
    queryset = kind.queryset(merchant, filters)
    cursor = kind.start(queryset)
    while True:
        objects, cursor = kind.chunk(queryset, cursor, chunk_size)
        if not objects:
            return
        for row in kind.rows(objects, merchant):
            yield kind.typed(row)


# --- jobs --------------------------------------------------------------------------------------------------
@transaction.atomic
def export_request(
    *, merchant: Merchant, actor: Actor, kind: Kind, file_format: str, filters: Filters, rows: int
) -> ExportJob:
    """A job for the export (the worker writes it after commit). The same export, queued or running, is
    answered instead of a second one, so a repeated request does not pile up jobs."""
    if file_format not in files.FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    same = (
        ExportJob.objects.for_merchant(merchant)
        .filter(kind=kind.name, file_format=file_format, filters=filters, status__in=[J.PENDING, J.RUNNING])
        .order_by("-id")
        .first()
    )
    if same is not None:
        return same
    job = ExportJob.objects.create(
        merchant=merchant,
        as_of=timezone.now(),
        kind=kind.name,
        file_format=file_format,
        filters=filters,
        requested_by_kind=actor.kind,
        requested_by_id=str(actor.id)[:64],
        requested_by_label=str(actor.label)[:150],
        rows_total=rows,
        cursor=kind.start(kind.queryset(merchant, filters)),
    )
    audit_record(
        merchant=merchant,
        actor=actor,
        action="export.requested",
        obj=job,
        changes=_audit_changes(kind, file_format, filters, rows),
    )
    EXPORT_JOBS.enqueue(job.pk)
    return job


def export_execute(
    job_id: int,
    *,
    worker: str | None = None,
    chunk_size: int | None = None,
    lease: timedelta | None = None,
    max_chunks: int | None = None,
) -> ExportJob | None:
    """Work through the job (distribution.runs.RunEngine.execute: worker, chunk_size, lease, max_chunks)."""
    return EXPORT_JOBS.execute(job_id, worker=worker, chunk_size=chunk_size, lease=lease, max_chunks=max_chunks)


def export_resume_stale() -> list[int]:
    """Jobs whose worker stopped renewing its lease: queued again by task name (through the outbox)."""
    return EXPORT_JOBS.resume_stale()


def _job_dir(job: ExportJob) -> str:
    return f"{job.merchant_id}/{job.pk}"


def _put(name: str, content: bytes) -> str:
    """Write `content` as `name`, replacing a file left by an earlier try of the same chunk."""
    if storage().exists(name):
        storage().delete(name)
    return storage().save(name, ContentFile(content))


def _step(job: ExportJob, chunk_size: int) -> bool:
    """The next chunk of rows to a part file (in the engine's chunk transaction); False when none is left."""
    kind = kind_of(job.kind)
    merchant = Merchant.objects.get(pk=job.merchant_id)
    objects, cursor = kind.chunk(kind.queryset(merchant, job.filters), job.cursor, chunk_size)
    if not objects:
        return False
    rows = kind.rows(objects, merchant)
    part = _put(f"{_job_dir(job)}/parts/{job.cursor:020d}.json", json.dumps(rows).encode())
    ExportJob.objects.unscoped().filter(pk=job.pk).update(
        cursor=cursor,
        rows_done=F("rows_done") + len(rows),
        parts=[*job.parts, part],
        heartbeat_at=timezone.now(),
    )
    return True


def _stored_rows(job: ExportJob, kind: Kind) -> Iterator[list[Any]]:
    for part in job.parts:
        with storage().open(part, "rb") as handle:
            stored: list[list[Cell]] = json.loads(handle.read())
        for row in stored:
            yield kind.typed(row)


def _complete(job: ExportJob) -> None:
    """Join the parts into the file, keep it until it expires, drop the parts."""
    kind = kind_of(job.kind)
    rows = _stored_rows(job, kind)
    if job.file_format == "xlsx":
        content = files.to_xlsx(kind.header, rows, title=kind.title)
    else:
        content = files.to_csv(kind.header, rows)
    name = _put(f"{_job_dir(job)}/{file_stem(kind, job.pk)}.{job.file_format}", content)
    for part in job.parts:
        storage().delete(part)
    ExportJob.objects.unscoped().filter(pk=job.pk).update(
        file_name=name,
        file_size=len(content),
        parts=[],
        rows_total=job.rows_done,
        expires_at=timezone.now() + timedelta(seconds=settings.EXPORT_FILE_TTL_SECONDS),
    )


EXPORT_JOBS = RunEngine(
    model=ExportJob,
    task="exports.execute_job",
    step=_step,
    default_chunk=lambda: settings.EXPORT_CHUNK_SIZE,
    on_complete=_complete,
)


# --- the file ----------------------------------------------------------------------------------------------
def export_download(*, merchant: Merchant, actor: Actor, job: ExportJob) -> tuple[Any, str]:
    """The job's file (an open file of the storage) and its download name; audited. Refused while the job is
    not done (409), when it failed (409) and once the file has expired (410)."""
    job.assert_merchant(merchant)
    if job.status == J.FAILED:
        raise ExportFailed()
    if job.status != J.COMPLETED:
        raise ExportNotReady(extra={"status": job.status, "rows_done": job.rows_done, "rows_total": job.rows_total})
    if job.deleted_at is not None or (job.expires_at is not None and job.expires_at <= timezone.now()):
        raise ExportExpired()
    kind = kind_of(job.kind)
    audit_record(
        merchant=merchant,
        actor=actor,
        action="export.downloaded",
        obj=job,
        changes=_audit_changes(kind, job.file_format, job.filters, job.rows_done),
    )
    return storage().open(job.file_name, "rb"), job.file_name.rsplit("/", 1)[-1]


def export_delete_expired(*, now: datetime | None = None) -> list[int]:
    """Delete the files of every merchant's jobs that have expired, and the parts of jobs that failed that
    long ago; the jobs stay, marked deleted."""
    now = now or timezone.now()
    failed_before = now - timedelta(seconds=settings.EXPORT_FILE_TTL_SECONDS)
    expired = list(
        ExportJob.objects.unscoped().filter(
            Q(expires_at__lte=now) | Q(status=J.FAILED, created_at__lte=failed_before), deleted_at__isnull=True
        )
    )
    for job in expired:
        for name in [job.file_name, *job.parts]:
            if name and storage().exists(name):
                storage().delete(name)
        ExportJob.objects.unscoped().filter(pk=job.pk).update(deleted_at=now, parts=[])
    return [job.pk for job in expired]
