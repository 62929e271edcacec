"""Export jobs: a large spreadsheet file written by a worker as a leased run, kept for a while for download."""

from __future__ import annotations

from django.db import models

from distribution.runs import LeasedRun


class ExportJob(LeasedRun):
    """One file of one export kind (distributors, commission lines, …) with the list's filters, written in
    chunks: each chunk's rows go to a part file in the exports storage and the run's cursor advances; the
    last chunk joins the parts into the file. `filters` are the query parameters as given (name → values),
    with any default (a date range) filled in when it was requested, so a resumed run writes the same rows."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    kind = models.CharField(max_length=32)
    file_format = models.CharField(max_length=8)
    filters = models.JSONField(default=dict, blank=True)
    requested_by_kind = models.CharField(max_length=16)
    requested_by_id = models.CharField(max_length=64, blank=True)
    requested_by_label = models.CharField(max_length=150, blank=True)
    rows_total = models.IntegerField(default=0, help_text="Rows matching when it was requested.")
    rows_done = models.IntegerField(default=0)
    parts = models.JSONField(default=list, blank=True, help_text="The part files written so far, in order.")
    file_name = models.CharField(max_length=255, blank=True, help_text="The file's name in the exports storage.")
    file_size = models.BigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When the expired file was deleted.")

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "-id"], name="exportjob_recent"),
            models.Index(fields=["merchant", "expires_at"], name="exportjob_expiry"),
        ]

    def __str__(self) -> str:
        return f"export job {self.pk} ({self.kind}, {self.status})"
