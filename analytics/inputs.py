"""The date ranges the figures are asked for: days in the merchant's time zone, validated once.

A range is whole days `date_from` … `date_to` (both included) in the merchant's time zone; it defaults to
the last 30 days including today, covers at most 731 days (two years) and never a day after today.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from analytics.errors import DateInFuture, DateRangeTooLong, InvalidDateRange
from merchants.models import Merchant

DEFAULT_DAYS = 30
MAX_DAYS = 731
INTERVALS = ("day", "week", "month")


@dataclass(frozen=True)
class DateRange:
    date_from: date
    date_to: date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> DateRange:
        """The period of equal length just before this one (what 环比 compares with)."""
        end = self.date_from - timedelta(days=1)
        return DateRange(end - timedelta(days=self.days - 1), end)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as aware times: midnight of `date_from` to midnight after `date_to`, in `tz`."""
        return day_start(self.date_from, tz), day_start(self.date_to + timedelta(days=1), tz)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def merchant_today(merchant: Merchant) -> date:
    return timezone.now().astimezone(merchant.tz).date()


def last_days(merchant: Merchant, days: int) -> DateRange:
    """The last `days` days, today included."""
    today = merchant_today(merchant)
    return DateRange(today - timedelta(days=days - 1), today)


def date_range(
    merchant: Merchant, date_from: date | None = None, date_to: date | None = None, *, default_days: int = DEFAULT_DAYS
) -> DateRange:
    """The range asked for, with the defaults filled in; refused with a code when it is backwards
    (`invalid_date_range`), longer than two years (`date_range_too_long`) or reaches past today
    (`date_in_future`)."""
    today = merchant_today(merchant)
    future = {
        name: ["After today in the merchant's time zone."]
        for name, d in (("date_from", date_from), ("date_to", date_to))
        if d is not None and d > today
    }
    if future:
        raise DateInFuture(fields=future)
    end = date_to or today
    start = date_from or end - timedelta(days=default_days - 1)
    if start > end:
        raise InvalidDateRange(fields={"date_from": ["After date_to."]})
    rng = DateRange(start, end)
    if rng.days > MAX_DAYS:
        raise DateRangeTooLong(fields={"date_from": [f"The range covers {rng.days} days; at most {MAX_DAYS}."]})
    return rng


def bucket_start(day: date, interval: str) -> date:
    """The first day of the day, week (Monday) or month holding `day`."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: date, interval: str) -> date:
    if interval == "week":
        return start + timedelta(days=7)
    if interval == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def buckets(rng: DateRange, interval: str) -> Iterator[tuple[date, DateRange]]:
    """Every bucket touching the range, in order: its natural start and the days of the range it covers."""
    start = bucket_start(rng.date_from, interval)
    while start <= rng.date_to:
        following = next_bucket(start, interval)
        yield start, DateRange(max(start, rng.date_from), min(following - timedelta(days=1), rng.date_to))
        start = following
