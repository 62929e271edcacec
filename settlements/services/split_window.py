"""The WeChat profit-sharing window (分账冻结期): a payment's funds can be split only while WeChat still
holds them, `profit_sharing_freeze_days` after payment (30 for ordinary merchants, docs/providers.md).

- When program settings are saved with the `wechat_profitsharing` provider, they are refused
  (`profit_sharing_window_exceeded`, 422) if even an order completed at once could miss the window: its
  after-sales days, plus the longest wait for the next scheduled settlement (daily 1, weekly 7, monthly 31
  days; manual: none counted, finance decides), plus the one day a split keeps for retries
  (splits.SPLIT_MARGIN), must fit in the freeze period. Orders that take longer to complete can still miss
  it: they are what the deadline watch reports, and what the wallet pays.
- The deadline watch (a periodic job) counts, per merchant, the payments whose window ends within
  `WARN_BEFORE` while their commission is not split yet: lines still waiting for settlement, and splits
  still open. It logs a warning and its JobRun records the counts; `GET /api/v1/splits` lists the splits
  with their deadlines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Sum
from django.utils import timezone

from commissions.models import CommissionLine
from merchants.errors import ProfitSharingWindowExceeded
from merchants.models import DistributionProgram, Merchant
from settlements.models import SplitRequest
from settlements.services.providers import split_freeze_days
from settlements.services.splits import OPEN, SPLIT_MARGIN

logger = logging.getLogger(__name__)
PROFIT_SHARING = DistributionProgram.SettlementProvider.WECHAT_PROFITSHARING
Schedule = DistributionProgram.SettlementSchedule
# The longest an order that became due waits for the next scheduled settlement run, in days.
SCHEDULE_WAIT_DAYS: dict[str, int] = {Schedule.MANUAL: 0, Schedule.DAILY: 1, Schedule.WEEKLY: 7, Schedule.MONTHLY: 31}
WARN_BEFORE = timedelta(days=3)


def days_needed(program: DistributionProgram) -> int:
    """The fewest days after payment by which an order completed at once is sure to be split."""
    return program.after_sales_days + schedule_wait_days(program) + SPLIT_MARGIN.days


def schedule_wait_days(program: DistributionProgram) -> int:
    return SCHEDULE_WAIT_DAYS.get(program.settlement_schedule, 0)


def program_window_check(*, merchant: Merchant, program: DistributionProgram) -> None:
    """Refuse profit-sharing settings that cannot fit WeChat's freeze period (see the module's text)."""
    if program.settlement_provider != PROFIT_SHARING:
        return
    freeze_days = split_freeze_days(merchant.pk)
    needed = days_needed(program)
    if needed <= freeze_days:
        return
    wait = schedule_wait_days(program)
    raise ProfitSharingWindowExceeded(
        fields={
            "after_sales_days": [
                f"{program.after_sales_days} after-sales days + up to {wait} days until the "
                f"{program.settlement_schedule} settlement + 1 day to split = {needed} days; WeChat holds a "
                f"payment for splitting {freeze_days} days."
            ]
        },
        extra={"freeze_days": freeze_days, "days_needed": needed},
    )


@dataclass(frozen=True)
class WindowWatch:
    merchant_id: int
    unsettled_orders: int  # payments whose commission is not settled yet (so cannot be split in time)
    unsettled_amount: int
    open_splits: int  # splits sent or to send that are not final yet
    open_amount: int


def window_watch(merchant_id: int, *, now: datetime | None = None, within: timedelta = WARN_BEFORE) -> WindowWatch:
    """What of the merchant's profit-sharing payments is unsplit while its window ends within `within` (and
    has not ended yet)."""
    now = now or timezone.now()
    freeze = timedelta(days=split_freeze_days(merchant_id))
    lines = (
        CommissionLine.objects.for_merchant(merchant_id)
        .filter(
            kind=CommissionLine.Kind.COMMISSION,
            status__in=[CommissionLine.Status.PENDING, CommissionLine.Status.CONFIRMED],
            order__paid_at__gt=now - freeze,
            order__paid_at__lte=now + within - freeze,
        )
        .exclude(order__payment_transaction_id="")
        .exclude(beneficiary__payout_openid="")
        .aggregate(orders=Count("order", distinct=True), amount=Sum(F("amount") - F("reversed_amount")))
    )
    splits = (
        SplitRequest.objects.for_merchant(merchant_id)
        .filter(status__in=OPEN, deadline_at__gt=now, deadline_at__lte=now + within)
        .aggregate(n=Count("id", distinct=True), amount=Sum("receivers__amount"))
    )
    return WindowWatch(
        merchant_id=merchant_id,
        unsettled_orders=lines["orders"] or 0,
        unsettled_amount=lines["amount"] or 0,
        open_splits=splits["n"] or 0,
        open_amount=splits["amount"] or 0,
    )


def windows_watch(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """The deadline watch over every active merchant paying through profit sharing: a warning for each
    merchant with something at risk; the answer (merchant id -> counts) is what the JobRun records."""
    at_risk: dict[str, dict[str, int]] = {}
    merchants = DistributionProgram.objects.unscoped().filter(
        settlement_provider=PROFIT_SHARING, merchant__status=Merchant.Status.ACTIVE
    )
    for merchant_id in merchants.order_by("merchant_id").values_list("merchant_id", flat=True):
        watch = window_watch(merchant_id, now=now)
        if watch.unsettled_orders or watch.open_splits:
            logger.warning(
                "profit sharing: merchant %s has %s unsettled orders and %s open splits whose window ends within "
                "%s; what is not split in time is paid through the wallet",
                merchant_id,
                watch.unsettled_orders,
                watch.open_splits,
                WARN_BEFORE,
            )
            at_risk[str(merchant_id)] = {
                "unsettled_orders": watch.unsettled_orders,
                "unsettled_amount": watch.unsettled_amount,
                "open_splits": watch.open_splits,
                "open_amount": watch.open_amount,
            }
    return at_risk
