"""Publishing tasks reliably: write the intent with the work, publish after commit, sweep leftovers."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from distribution.models import OutboxMessage

logger = logging.getLogger(__name__)


def enqueue(task: str, *args: Any, **kwargs: Any) -> OutboxMessage:
    """Queue `task` to run once the current transaction commits (or now, outside one)."""
    message = OutboxMessage.objects.create(task=task, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: publish(message.pk))
    return message


def publish(message_id: int) -> bool:
    """Send one message (once: the first caller to mark it wins)."""
    message = OutboxMessage.objects.filter(pk=message_id, published_at__isnull=True).first()
    if message is None:
        return False
    claimed = OutboxMessage.objects.filter(pk=message.pk, published_at__isnull=True).update(
        published_at=timezone.now(), attempts=message.attempts + 1
    )
    if not claimed:
        return False
    app = current_app  # the project's Celery app (config.celery), without the kernel importing the composition root

    if app.conf.task_always_eager:  # tests and eager set-ups run it here and now, as .delay() would
        app.loader.import_default_modules()  # the apps' tasks modules (a worker imports them at start)
        app.tasks[message.task].apply(args=message.args, kwargs=message.kwargs, throw=True)
        return True
    try:
        app.send_task(message.task, args=message.args, kwargs=message.kwargs)
    except Exception:  # the broker is down: leave the message for the sweeper
        OutboxMessage.objects.filter(pk=message.pk).update(published_at=None)
        logger.exception("could not publish %s; the sweeper will retry", message)
        return False
    return True


def sweep(older_than: timedelta = timedelta(seconds=30)) -> int:
    """Publish messages still unsent some time after their transaction committed."""
    cutoff = timezone.now() - older_than
    ids = list(
        OutboxMessage.objects.filter(published_at__isnull=True, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    sent = sum(1 for message_id in ids if publish(message_id))
    OutboxMessage.objects.filter(published_at__lt=timezone.now() - timedelta(days=7)).delete()
    return sent
