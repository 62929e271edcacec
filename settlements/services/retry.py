"""When to ask the payment provider again about a request whose outcome is not final.

Splits and WeChat transfers count their calls on the row (`attempts`, raised before each call) and store
when the next one is due (`next_attempt_at`), which the dispatcher and the reconciler respect. The wait
grows with the calls made, so a provider that is down is not hammered while one that was only slow is
asked again soon; a request that never arrived is sent again at once, with the same number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from django.utils import timezone

from settlements.models import SplitRequest, Withdrawal

# The wait after the first, second, third call, and after every later one.
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))

# The rows that count their calls (`attempts`) and store when the next is due (`next_attempt_at`).
Retried = TypeVar("Retried", SplitRequest, Withdrawal)


def retry_delay(attempts: int) -> timedelta:
    """The wait after `attempts` calls: 30 seconds, 2 minutes, 10 minutes, then an hour each time."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def next_attempt_at(attempts: int, *, immediately: bool = False) -> datetime:
    """When the next call is due after `attempts` calls (now, if `immediately`)."""
    return timezone.now() + (timedelta(0) if immediately else retry_delay(attempts))


def retry_later(row: Retried, *, immediately: bool = False, **fields: object) -> Retried:
    """Store `fields` and the next call's time on a split or withdrawal after its call, and read it again."""
    type(row).objects.unscoped().filter(pk=row.pk).update(
        **fields, next_attempt_at=next_attempt_at(row.attempts, immediately=immediately)
    )
    row.refresh_from_db()
    return row
