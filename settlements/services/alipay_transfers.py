"""Alipay transfers (单笔转账到支付宝账户): an approved `alipay_transfer` withdrawal is paid to the payee's
Alipay account.

The order's number (`out_biz_no`) is the withdrawal's own number, made from our ids when it was requested
and stored before the first call; from then on the order is only queried with that number, and sent again
under it only when Alipay says it never took it. Unknown outcomes (timeout, code 20000, SYSTEM_ERROR, a
code we do not know) and orders still DEALING are asked about again after the back-off
(settlements.services.retry). Even a documented final refusal is settled only after the query confirms
that no order exists under the number, or that it failed: an answer lost on the way cannot turn a
transfer that happened into a second one. The shared steps are settlements.services.transfer_steps.
"""

from __future__ import annotations

from functools import lru_cache

from distribution import crypto
from settlements.errors import ProviderNotConfigured
from settlements.models import AlipayAccount, PayoutAccount, Withdrawal
from settlements.providers.alipay.transfers import AlipayClient, AlipayTransfer, Payee
from settlements.providers.alipay.transport import AlipayConfig
from settlements.providers.base import ProviderError, ProviderUnknownOutcome
from settlements.services.transfer_steps import (
    transfer_due,
    transfer_later,
    transfer_record,
    transfer_refused,
    transfer_start,
)

ALIPAY = Withdrawal.Provider.ALIPAY_TRANSFER
UNKNOWN = "UNKNOWN"  # sent; the answer was lost or unclear: query
REFUSING = "REFUSING"  # refused at creation: settled once the query confirms no money moved
TITLE = "分销佣金提现"
REMARK = "commission withdrawal"


def alipay_client(merchant_id: int) -> AlipayClient:
    """The merchant's client: one per account version and process, so its HTTP connections are reused;
    changing the account in the admin gives a new one."""
    account = AlipayAccount.objects.for_merchant(merchant_id).first()
    if account is None:
        raise ProviderNotConfigured()
    return _client(account.pk, account.updated_at.isoformat())


@lru_cache(maxsize=64)
def _client(account_id: int, version: str) -> AlipayClient:
    account = AlipayAccount.objects.unscoped().get(pk=account_id)
    return AlipayClient(
        AlipayConfig(
            app_id=account.app_id,
            app_private_key_pem=crypto.decrypt(account.app_private_key_encrypted),
            alipay_public_key_pem=account.alipay_public_key,
            gateway_url=account.gateway_url,
        )
    )


def alipay_payee(withdrawal: Withdrawal) -> Payee | None:
    """Who an Alipay withdrawal pays: the Alipay account (login id or user id, and its holder's real name,
    which Alipay checks against the account) as the withdrawal recorded it at request time. None when the
    withdrawal has no Alipay account, or the distributor's identity is no longer verified."""
    if withdrawal.payee_kind != PayoutAccount.Kind.ALIPAY or not withdrawal.payee_identity_encrypted:
        return None
    if not withdrawal.distributor.identity_verified:
        return None
    return Payee(
        identity=crypto.decrypt(withdrawal.payee_identity_encrypted),
        name=crypto.decrypt(withdrawal.payee_name_encrypted),
    )


def alipay_withdrawal_pay(withdrawal_id: int) -> Withdrawal:
    """One step of an Alipay transfer: create the order (once, with our number), or ask about it."""
    started = transfer_start(withdrawal_id, ALIPAY)
    if started is None:
        return Withdrawal.objects.unscoped().get(pk=withdrawal_id)
    withdrawal, creating = started
    try:
        client = alipay_client(withdrawal.merchant_id)
    except ProviderNotConfigured:  # nothing was sent: wait for the merchant's Alipay app, then carry on
        return transfer_later(withdrawal, "" if creating else withdrawal.provider_state, ProviderNotConfigured.code)
    if not creating:
        return _query(client, withdrawal)
    payee = alipay_payee(withdrawal)
    if payee is None:  # nothing was sent: there is no one to pay
        return transfer_refused(withdrawal, "PAYEE_MISSING: no Alipay account or verified real name")
    try:
        result = client.create_transfer(
            out_biz_no=withdrawal.out_bill_no, amount=withdrawal.net_amount, payee=payee, title=TITLE, remark=REMARK
        )
    except ProviderUnknownOutcome as exc:
        return transfer_later(withdrawal, UNKNOWN, str(exc))
    except ProviderError as exc:
        refused = transfer_later(withdrawal, REFUSING, f"{exc.code}: {exc.message}", immediately=True)
        return _query(client, refused)
    return _record(withdrawal, result)


def _query(client: AlipayClient, withdrawal: Withdrawal) -> Withdrawal:
    refusing = withdrawal.provider_state == REFUSING
    try:
        result = client.query_transfer(out_biz_no=withdrawal.out_bill_no)
    except ProviderUnknownOutcome as exc:
        # Keep a refusal's reason: it is what the withdrawal fails with once the query answers.
        return transfer_later(
            withdrawal, withdrawal.provider_state, withdrawal.failure_reason if refusing else str(exc)
        )
    except ProviderError as exc:  # ORDER_NOT_EXIST: Alipay never took this number
        if refusing:
            return transfer_refused(withdrawal, withdrawal.failure_reason)
        return transfer_later(withdrawal, "", exc.code, immediately=True)  # send it again, same number
    if refusing and result.paid is False and not result.fail_reason:
        result = AlipayTransfer(
            result.out_biz_no, result.order_id, result.status, result.amount, withdrawal.failure_reason
        )
    return _record(withdrawal, result)


def _record(withdrawal: Withdrawal, result: AlipayTransfer) -> Withdrawal:
    if result.amount is not None and result.amount != withdrawal.net_amount:
        # Not the transfer we asked for: nothing is settled on it; a person has to look.
        return transfer_later(withdrawal, withdrawal.provider_state, f"AMOUNT_MISMATCH: Alipay says {result.amount}")
    return transfer_record(
        withdrawal,
        state=result.status,
        bill_no=result.order_id,
        paid=result.paid,
        reason="" if result.paid else (result.fail_reason or result.status),
    )


def alipay_withdrawals_reconcile(merchant_id: int | None = None) -> int:
    """Drive every Alipay payout that is not final (approved, processing, unknown) one step further."""
    ids = transfer_due(ALIPAY, merchant_id)
    for withdrawal_id in ids:
        alipay_withdrawal_pay(withdrawal_id)
    return len(ids)
