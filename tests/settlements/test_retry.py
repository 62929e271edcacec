"""The provider retry schedule shared by splits and WeChat transfers: the wait after each call, exactly."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from settlements.services.retry import next_attempt_at, retry_delay

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=10)),
        (4, timedelta(hours=1)),
        (5, timedelta(hours=1)),
        (40, timedelta(hours=1)),
    ],
)
def test_each_call_waits_longer_than_the_last_up_to_an_hour(attempts, delay):
    assert retry_delay(attempts) == delay


def test_no_call_counted_yet_waits_like_the_first():
    assert retry_delay(0) == timedelta(seconds=30)


def test_the_next_attempt_is_due_after_the_wait_or_at_once(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    assert next_attempt_at(1) == NOW + timedelta(seconds=30)
    assert next_attempt_at(3) == NOW + timedelta(minutes=10)
    assert next_attempt_at(7) == NOW + timedelta(hours=1)
    assert next_attempt_at(3, immediately=True) == NOW
