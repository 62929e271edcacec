"""Export tasks: one job's run, the sweeper for jobs whose worker died, and the expired files' cleanup."""

from __future__ import annotations

from celery import shared_task

from distribution import rls
from distribution.jobs import RETRY_TRANSIENT, merchant_of_row, tracked
from exports.services import export_delete_expired, export_execute, export_resume_stale

_job_merchant = merchant_of_row("exports.ExportJob", "job_id")


@shared_task(name="exports.execute_job", acks_late=True, **RETRY_TRANSIENT)
@tracked("exports.execute_job", merchant_of=_job_merchant)
@rls.tenant_task(merchant_of=_job_merchant)
def execute_job(job_id: int) -> dict | None:
    job = export_execute(job_id)
    if job is None:
        return None
    return {"job": job.pk, "status": job.status, "rows_done": job.rows_done}


@shared_task(name="exports.resume_stale_jobs")
@rls.platform_task
def resume_stale_jobs() -> list[int]:
    return export_resume_stale()


@shared_task(name="exports.delete_expired")
@rls.platform_task
def delete_expired() -> list[int]:
    return export_delete_expired()
