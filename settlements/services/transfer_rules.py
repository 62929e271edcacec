"""What a WeChat transfer must satisfy before any money is reserved for it: the merchant's account exists,
its transfer scene is complete (WeChat refuses a bill without the scene's report infos), and the amount the
payee receives is within the account's minimum, per-transfer maximum and daily limit per payee.

A withdrawal above the per-transfer maximum is refused (`above_transfer_maximum`, with the maximum), not
split into several bills: one withdrawal is one bill under one number, which keeps "paid once" provable
from the bill, and the payee can make several withdrawals within the daily limit.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.utils import timezone

from distribution.money import format_amount
from distributors.models import Distributor
from merchants.models import Merchant
from settlements.errors import (
    AboveTransferMaximum,
    BelowMinimum,
    DailyLimitExceeded,
    ProviderNotConfigured,
    TransferSceneIncomplete,
)
from settlements.models import WechatPayAccount, Withdrawal

CHINA = ZoneInfo("Asia/Shanghai")  # WeChat counts its daily limits by the day in China


def china_day_start(at: datetime) -> datetime:
    return at.astimezone(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)


def wechat_transfer_check(*, merchant: Merchant, distributor: Distributor, net: int) -> WechatPayAccount:
    """Raise the error a WeChat transfer of `net` fen to `distributor` would meet; the account otherwise."""
    account = WechatPayAccount.objects.for_merchant(merchant).first()
    if account is None:
        raise ProviderNotConfigured()
    if account.transfer_problems():
        raise TransferSceneIncomplete()
    currency = merchant.currency
    if net < account.transfer_min_amount:
        minimum = format_amount(account.transfer_min_amount, currency)
        raise BelowMinimum(f"WeChat Pay transfers start at {minimum}.", fields={"amount": [f"At least {minimum}."]})
    if net > account.transfer_max_amount:
        maximum = format_amount(account.transfer_max_amount, currency)
        raise AboveTransferMaximum(extra={"maximum": maximum}, fields={"amount": [f"At most {maximum} a time."]})
    received_today = (
        Withdrawal.objects.for_merchant(merchant)
        .filter(
            distributor=distributor,
            provider=Withdrawal.Provider.WECHAT_TRANSFER,
            requested_at__gte=china_day_start(timezone.now()),
        )
        .exclude(status__in=[Withdrawal.Status.REJECTED, Withdrawal.Status.FAILED])
        .aggregate(s=Sum("net_amount"))["s"]
        or 0
    )
    if received_today + net > account.transfer_daily_max_per_user:
        remaining = max(account.transfer_daily_max_per_user - received_today, 0)
        raise DailyLimitExceeded(
            "WeChat Pay's daily limit for this payee would be exceeded.",
            extra={"remaining_today": format_amount(remaining, currency)},
        )
    return account
