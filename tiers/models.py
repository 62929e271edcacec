"""Tier recalculation runs (等级升降): every distributor's level from their metrics, as of a time."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from distribution.runs import LeasedRun


class TierRun(LeasedRun):
    """One recalculation of every distributor's level (等级升降) as of a time, in resumable chunks."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    trigger = models.CharField(max_length=16, default="schedule")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    downgrades = models.BooleanField(default=False, help_text="This run closes an evaluation period.")
    period = models.CharField(max_length=16, blank=True, help_text="The evaluation period it closes.")
    evaluated = models.IntegerField(default=0)
    upgraded = models.IntegerField(default=0)
    downgraded = models.IntegerField(default=0)

    class Meta:
        db_table = "distributors_tierrun"  # moved from `distributors`; the table keeps its name
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(status__in=["pending", "running"]), name="tierrun_one_active"
            ),
        ]
        indexes = [models.Index(fields=["merchant", "-id"], name="tierrun_recent")]

    def __str__(self) -> str:
        return f"tier run {self.pk} ({self.status})"
