"""Export jobs: the 202 answer, the leased run in chunks (resumed by another worker), the download, who may
see it, and the expired files' cleanup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from distribution.auth import Actor
from distribution.exports import read_xlsx
from distribution.models import AuditEvent
from exports import tasks
from exports.kinds import COMMISSION_LINES, DISTRIBUTORS
from exports.models import ExportJob
from exports.services import export_execute, export_request, storage
from merchants.roles import Role
from tests.builders.distributors import join
from tests.builders.factories import make_merchant
from tests.exports.conftest import EVIL
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def file_of(response) -> bytes:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


@override_settings(EXPORT_STREAM_MAX_ROWS=2, EXPORT_CHUNK_SIZE=1)
def test_a_large_export_is_a_job_whose_file_is_the_same_as_at_once(
    api, merchant, data, django_capture_on_commit_callbacks
):
    client = api.staff(merchant, Role.VIEWER)
    with django_capture_on_commit_callbacks(execute=True):  # the worker (eager) runs the job after commit
        response = client.get("/api/v1/exports/distributors?status=active")
    assert response.status_code == 202
    job = ExportJob.objects.for_merchant(merchant).get()
    assert response["Location"] == f"/api/v1/exports/jobs/{job.pk}"
    body = response.json()
    assert (body["kind"], body["format"], body["status"], body["rows_total"], body["rows_done"]) == (
        "distributors",
        "csv",
        "queued",  # as it was answered, before the worker ran
        4,
        0,
    )
    assert body["filters"] == {"status": ["active"]}
    done = client.get(f"/api/v1/exports/jobs/{job.pk}").json()
    job.refresh_from_db()
    assert job.attempts == 1 and job.parts == []
    assert (done["status"], done["rows_total"], done["rows_done"], done["file_size"]) == ("done", 4, 4, job.file_size)
    assert done["file_name"] == job.file_name.rsplit("/", 1)[-1] and done["file_name"].endswith(f"-{job.pk}.csv")
    assert done["download"] == f"/api/v1/exports/jobs/{job.pk}/download"
    assert (
        timezone.now() + timedelta(days=7) - timedelta(minutes=1) < job.expires_at <= timezone.now() + timedelta(days=7)
    )
    content = file_of(client.get(done["download"]))
    assert len(content) == job.file_size
    with override_settings(EXPORT_STREAM_MAX_ROWS=5000):
        at_once = b"".join(client.get("/api/v1/exports/distributors?status=active").streaming_content)
    assert content == at_once
    assert ("'" + EVIL).replace('"', '""').encode() in content  # escaped in the job's file too


@override_settings(EXPORT_STREAM_MAX_ROWS=1)
def test_an_xlsx_job(api, merchant, data, django_capture_on_commit_callbacks):
    client = api.staff(merchant, Role.FINANCE)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.get("/api/v1/exports/commission-lines?format=xlsx&depth=1").json()["id"]
    response = client.get(f"/api/v1/exports/jobs/{job_id}/download")
    sheet = read_xlsx(file_of(response))
    assert response["Content-Disposition"].endswith(f'-{job_id}.xlsx"')
    assert [(row[2], row[3], row[6], row[15]) for row in sheet[1:]] == [
        ("L2", 1, "seller", 5.0),
        ("L1", 1, "seller", 19.0),
    ]


def test_a_job_is_worked_in_chunks_and_resumed_by_another_worker(api, merchant, data):
    job = export_request(merchant=merchant, actor=ACTOR, kind=DISTRIBUTORS, file_format="csv", filters={}, rows=4)
    export_execute(job.pk, worker="first", chunk_size=3, max_chunks=1)  # then the first worker dies
    job.refresh_from_db()
    assert (job.status, job.rows_done, len(job.parts), job.lease_owner) == ("running", 3, 1, "first")
    assert storage().exists(job.parts[0])
    client = api.staff(merchant)
    running = client.get(f"/api/v1/exports/jobs/{job.pk}").json()
    assert (running["status"], running["rows_done"], running["rows_total"], running["download"]) == (
        "running",
        3,
        4,
        None,
    )
    error = assert_error(client.get(f"/api/v1/exports/jobs/{job.pk}/download"), 409, "export_not_ready")
    assert (error["status"], error["rows_done"]) == ("running", 3)
    assert export_execute(job.pk, worker="second", chunk_size=3) is None  # the first one's lease holds
    export_execute(job.pk, worker="second", chunk_size=3, lease=timedelta(0))  # it lapsed: taken over
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_total, job.attempts, job.parts) == ("completed", 4, 4, 2, [])
    lines = file_of(client.get(f"/api/v1/exports/jobs/{job.pk}/download")).decode().splitlines()
    ids = [int(line.split(",")[0]) for line in lines[1:]]
    assert ids == [data["evil"].pk, data["recruit"].pk, data["seller"].pk, data["boss"].pk]


def test_rows_added_while_a_job_runs_stay_out(merchant, data):
    job = export_request(merchant=merchant, actor=ACTOR, kind=DISTRIBUTORS, file_format="csv", filters={}, rows=4)
    join(merchant, "late")
    job = export_execute(job.pk, chunk_size=2)
    assert (job.status, job.rows_done) == ("completed", 4)


def test_a_job_that_keeps_crashing_fails(api, merchant, data):
    job = export_request(merchant=merchant, actor=ACTOR, kind=DISTRIBUTORS, file_format="csv", filters={}, rows=4)
    ExportJob.objects.for_merchant(merchant).filter(pk=job.pk).update(
        status="running", attempts=10, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert tasks.resume_stale_jobs() == []
    assert_error(api.staff(merchant).get(f"/api/v1/exports/jobs/{job.pk}/download"), 409, "export_failed")
    assert api.staff(merchant).get(f"/api/v1/exports/jobs/{job.pk}").json()["status"] == "failed"


def test_a_stale_job_is_queued_again(merchant, data, django_capture_on_commit_callbacks):
    job = export_request(merchant=merchant, actor=ACTOR, kind=DISTRIBUTORS, file_format="csv", filters={}, rows=4)
    ExportJob.objects.for_merchant(merchant).filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.resume_stale_jobs() == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.rows_done) == ("completed", 4)


@override_settings(EXPORT_STREAM_MAX_ROWS=1)
def test_the_same_export_while_queued_is_the_same_job(api, merchant, data):
    client = api.staff(merchant)
    client.get("/api/v1/exports/distributors")
    again = client.get("/api/v1/exports/distributors")
    other_format = client.get("/api/v1/exports/distributors?format=xlsx")
    assert again.status_code == 202 and other_format.status_code == 202
    jobs = ExportJob.objects.for_merchant(merchant).filter(kind="distributors")
    assert sorted(jobs.values_list("file_format", flat=True)) == ["csv", "xlsx"]
    assert again.json()["id"] == jobs.get(file_format="csv").pk


def test_jobs_of_a_finance_kind_are_for_finance_roles_only(api, merchant, data):
    finance_job = export_request(
        merchant=merchant, actor=ACTOR, kind=COMMISSION_LINES, file_format="csv", filters={}, rows=4
    )
    export_execute(finance_job.pk)
    open_job = export_request(merchant=merchant, actor=ACTOR, kind=DISTRIBUTORS, file_format="csv", filters={}, rows=4)
    viewer = api.staff(merchant, Role.VIEWER)
    assert [j["id"] for j in viewer.get("/api/v1/exports/jobs").json()["results"]] == [open_job.pk]
    for url in (f"/api/v1/exports/jobs/{finance_job.pk}", f"/api/v1/exports/jobs/{finance_job.pk}/download"):
        error = assert_error(viewer.get(url), 403, "permission_denied")
        assert error["required_permission"] == "finance.export"
    finance = api.staff(merchant, Role.FINANCE)
    assert [j["id"] for j in finance.get("/api/v1/exports/jobs").json()["results"]] == [open_job.pk, finance_job.pk]
    assert [j["id"] for j in finance.get("/api/v1/exports/jobs?kind=commission-lines").json()["results"]] == [
        finance_job.pk
    ]
    assert file_of(finance.get(f"/api/v1/exports/jobs/{finance_job.pk}/download")).startswith(b"Line ID,Order,")


def test_another_merchants_job_is_not_found(api, merchant, data):
    other = make_merchant("beta")
    job = export_request(merchant=other, actor=ACTOR, kind=DISTRIBUTORS, file_format="csv", filters={}, rows=0)
    export_execute(job.pk)
    client = api.staff(merchant)
    for url in (f"/api/v1/exports/jobs/{job.pk}", f"/api/v1/exports/jobs/{job.pk}/download"):
        assert_error(client.get(url), 404, "not_found")
    assert client.get("/api/v1/exports/jobs").json()["results"] == []


@override_settings(EXPORT_STREAM_MAX_ROWS=0)
def test_a_job_is_audited_when_asked_for_and_at_each_download(api, merchant, data, django_capture_on_commit_callbacks):
    client = api.staff(merchant, Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.get("/api/v1/exports/orders").json()["id"]
    file_of(client.get(f"/api/v1/exports/jobs/{job_id}/download"))
    file_of(client.get(f"/api/v1/exports/jobs/{job_id}/download"))
    events = AuditEvent.objects.for_merchant(merchant).filter(object_type="exports.exportjob").order_by("id")
    expected = {"kind": "orders", "format": "csv", "filters": {}, "rows": 1}
    assert [(e.action, e.object_id, e.actor_label, e.changes) for e in events] == [
        ("export.requested", str(job_id), f"{merchant.slug}-admin", expected),
        ("export.downloaded", str(job_id), f"{merchant.slug}-admin", expected),
        ("export.downloaded", str(job_id), f"{merchant.slug}-admin", expected),
    ]


def test_expired_files_are_deleted_and_no_longer_downloaded(api, merchant, data):
    job = export_execute(
        export_request(merchant=merchant, actor=ACTOR, kind=DISTRIBUTORS, file_format="csv", filters={}, rows=4).pk
    )
    kept = export_execute(
        export_request(merchant=merchant, actor=ACTOR, kind=DISTRIBUTORS, file_format="xlsx", filters={}, rows=4).pk
    )
    ExportJob.objects.for_merchant(merchant).filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert storage().exists(job.file_name)
    assert tasks.delete_expired() == [job.pk]
    job.refresh_from_db()
    assert not storage().exists(job.file_name) and job.deleted_at is not None
    assert storage().exists(kept.file_name)
    assert_error(api.staff(merchant).get(f"/api/v1/exports/jobs/{job.pk}/download"), 410, "export_expired")
    assert api.staff(merchant).get(f"/api/v1/exports/jobs/{job.pk}").json()["download"] is None
    assert tasks.delete_expired() == []  # once
