"""Export jobs as the merchant's staff see them."""

from __future__ import annotations

from rest_framework import serializers

from distribution.api.fields import IntegerField
from distribution.api.serializers import ModelSerializer
from exports.models import ExportJob

# the run's states, in the words of an export
STATUS_WORDS = {"pending": "queued", "running": "running", "completed": "done", "failed": "failed"}


class ExportJobOutput(ModelSerializer):
    status = serializers.SerializerMethodField(help_text="queued, running, done or failed.")
    format = serializers.CharField(source="file_format", help_text="csv or xlsx.")
    filters = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="The list's query parameters the export was asked with (name → values).",
    )
    requested_by = serializers.CharField(source="requested_by_label")
    rows_total = IntegerField(help_text="Rows matching when it was asked for (the rows written, once done).")
    rows_done = IntegerField()
    file_name = serializers.SerializerMethodField(help_text="The download's file name, once done.")
    file_size = IntegerField(allow_null=True, help_text="In bytes, once done.")
    download = serializers.SerializerMethodField(help_text="The file's URL, once done and until it expires.")

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "kind",
            "format",
            "filters",
            "status",
            "rows_total",
            "rows_done",
            "file_name",
            "file_size",
            "expires_at",
            "deleted_at",
            "download",
            "requested_by",
            "attempts",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_status(self, job: ExportJob) -> str:
        return STATUS_WORDS[job.status]

    def get_file_name(self, job: ExportJob) -> str | None:
        return job.file_name.rsplit("/", 1)[-1] if job.file_name else None

    def get_download(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.COMPLETED or job.deleted_at is not None:
            return None
        return f"/api/v1/exports/jobs/{job.pk}/download"
