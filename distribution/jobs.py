"""Job runs for operators: what ran, for which merchant, how long, with what result or error."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from celery import current_task
from django.apps import apps
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from distribution import rls
from distribution.models import JobRun

# Tasks retry only on these (a dropped connection, a failover, a serialization failure), with
# exponential backoff and a maximum; any other error is a bug and fails the job where operators see it.
TRANSIENT = (OperationalError, InterfaceError)
_P = ParamSpec("_P")
_R = TypeVar("_R")

RETRY_TRANSIENT = {"autoretry_for": TRANSIENT, "retry_backoff": True, "retry_backoff_max": 300, "max_retries": 5}


def merchant_of_row(model: str, argument: str) -> Callable[[dict[str, Any]], int | None]:
    """For `tracked` and `rls.tenant_task`: a task's merchant is its row's (`model` as "app.Model", the row's
    id in the task argument `argument`)."""

    def merchant_of(arguments: dict[str, Any]) -> int | None:
        rows = apps.get_model(model).objects.unscoped().filter(pk=arguments[argument])
        return rows.values_list("merchant_id", flat=True).first()

    return merchant_of


def tracked(
    job: str, merchant_of: Callable[[dict[str, Any]], int | None] | None = None
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Record each call of a task body as a JobRun: merchant from a `merchant_id` argument, or from
    `merchant_of(arguments)`."""

    def decorator(fn: Callable[_P, _R]) -> Callable[_P, _R]:
        signature = inspect.signature(fn)

        @wraps(fn)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            task_id = getattr(getattr(current_task, "request", None), "id", None) or ""
            bound = signature.bind_partial(*args, **kwargs).arguments
            with rls.bypass():  # the task's own row names its merchant
                merchant_id = merchant_of(bound) if merchant_of else bound.get("merchant_id")
            run = JobRun.objects.create(job=job, merchant_id=merchant_id, task_id=task_id or "")
            started = time.monotonic()
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                JobRun.objects.filter(pk=run.pk).update(
                    status=JobRun.Status.FAILED,
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                    finished_at=timezone.now(),
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
                raise
            JobRun.objects.filter(pk=run.pk).update(
                status=JobRun.Status.SUCCEEDED,
                result=result if isinstance(result, dict) else {"result": result},
                finished_at=timezone.now(),
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            return result

        return wrapper

    return decorator
