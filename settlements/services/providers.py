"""The provider clients a merchant uses, built from its stored WeChat Pay account."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.urls import reverse

from distribution import crypto
from settlements.errors import ProviderNotConfigured
from settlements.models import WechatPayAccount
from settlements.providers.wechatpay.client import WechatPayClient
from settlements.providers.wechatpay.scenes import report_info_pairs
from settlements.providers.wechatpay.transport import WechatPayConfig

# Query answers that mean "no such request": it never arrived, so the same number can be sent again.
NOT_FOUND_CODES = frozenset({"RESOURCE_NOT_EXISTS", "NOT_FOUND", "ORDER_NOT_EXIST", "ORDER_NOT_EXISTS"})
# WeChat keeps an ordinary merchant's payment frozen for splitting up to 30 days (docs/providers.md).
DEFAULT_FREEZE_DAYS = 30


def split_freeze_days(merchant_id: int) -> int:
    """How many days after payment WeChat keeps a payment's funds for splitting, for this merchant: its
    WeChat account's setting, or the ordinary merchant's 30 days when none is configured yet."""
    days = WechatPayAccount.objects.for_merchant(merchant_id).values_list("profit_sharing_freeze_days", flat=True)
    return days.first() or DEFAULT_FREEZE_DAYS


def wechat_client(merchant_id: int) -> WechatPayClient:
    """The merchant's client. One per account version and process, so its HTTP connections are reused;
    changing the account in the admin gives a new one."""
    account = WechatPayAccount.objects.for_merchant(merchant_id).first()
    if account is None:
        raise ProviderNotConfigured()
    return _client(account.pk, account.updated_at.isoformat(), settings.WECHATPAY_NOTIFY_BASE_URL)


def transfer_notify_url(account_id: int, base_url: str) -> str:
    """Where WeChat posts the account's transfer notifications (empty without a public base URL: the
    reconciler's queries then find every outcome)."""
    if not base_url:
        return ""
    return base_url.rstrip("/") + reverse("wechatpay-transfer-notify", kwargs={"account_id": account_id})


@lru_cache(maxsize=64)
def _client(account_id: int, version: str, notify_base_url: str) -> WechatPayClient:
    account = WechatPayAccount.objects.unscoped().get(pk=account_id)
    return WechatPayClient(
        WechatPayConfig(
            mchid=account.mchid,
            appid=account.appid,
            merchant_serial_no=account.merchant_serial_no,
            private_key_pem=crypto.decrypt(account.private_key_encrypted),
            platform_serial_no=account.platform_serial_no,
            platform_public_key_pem=account.platform_public_key,
            apiv3_key=crypto.decrypt(account.apiv3_key_encrypted),
            base_url=account.base_url,
            other_platform_keys=tuple(sorted((str(k), str(v)) for k, v in (account.other_platform_keys or {}).items())),
            transfer_notify_url=transfer_notify_url(account.pk, notify_base_url),
            transfer_user_recv_perception=account.transfer_user_recv_perception,
            transfer_scene_report_infos=report_info_pairs(account.transfer_scene_report_infos),
        )
    )
