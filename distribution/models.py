from __future__ import annotations

from typing import Any

from django.db import models

from distribution.tenancy import TenantModel


class AuditEvent(TenantModel):
    """Who changed what, when, from which value to which: one row per change, never edited."""

    class ActorKind(models.TextChoices):
        STAFF = "staff"
        API_KEY = "api_key"
        DISTRIBUTOR = "distributor"
        SYSTEM = "system"
        OPERATOR = "operator"

    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [old, new]}")
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "object_type", "object_id", "id"], name="audit_object"),
            models.Index(fields=["merchant", "-id"], name="audit_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id} by {self.actor_label or self.actor_kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("audit events are immutable")
        super().save(*args, **kwargs)


class IdempotencyRecord(TenantModel):
    """The first response to a request made with an `Idempotency-Key` (Stripe's semantics).

    The row is inserted in the same transaction as the request's own writes, so it exists exactly when
    they do; a concurrent duplicate waits on the unique index and then replays the stored response.
    """

    scope = models.CharField(max_length=100, help_text="who sent it: staff:<id>, api_key:<prefix>, …")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(null=True, help_text="The rendered JSON, replayed byte for byte.")  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "scope", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class OutboxMessage(models.Model):
    """A task to publish, written in the same transaction as the work that needs it.

    `outbox.enqueue()` stores the row and publishes it right after commit; if the process dies between
    the commit and the publish, the beat sweeper publishes what is still unsent. Tasks are idempotent,
    so a message published twice is harmless.
    """

    task = models.CharField(max_length=100)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(published_at__isnull=True), name="outbox_unpublished"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"


class JobRun(models.Model):
    """One execution of a background job, for the operators' job status view."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    job = models.CharField(max_length=100)
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    task_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["job", "-started_at"], name="jobrun_recent"),
            models.Index(fields=["merchant", "-started_at"], name="jobrun_merchant"),
        ]

    def __str__(self) -> str:
        return f"{self.job} ({self.status})"
