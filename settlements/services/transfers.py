"""WeChat transfers (商家转账): an approved `wechat_transfer` withdrawal is paid to the payee's WeChat balance.

The bill's number comes from our id and is stored before the first call; from then on the bill is only
queried with that number, and sent again under it only when WeChat says it never arrived. Unknown and
transient outcomes are retried later (settlements.services.retry); a final answer books the payout or
returns the money (settlements.services.withdrawals). The steps it shares with the Alipay driver are
settlements.services.transfer_steps.
"""

from __future__ import annotations

from distribution import crypto
from distributors.models import Distributor
from settlements.models import WechatPayAccount, Withdrawal
from settlements.providers.base import ProviderError, ProviderUnknownOutcome, TransferResult
from settlements.services.providers import NOT_FOUND_CODES, wechat_client
from settlements.services.transfer_steps import (
    transfer_due,
    transfer_later,
    transfer_record,
    transfer_refused,
    transfer_start,
)


def withdrawal_pay(withdrawal_id: int) -> Withdrawal:
    """One step of a WeChat transfer: create the bill (once, with our number), or ask about it."""
    started = transfer_start(withdrawal_id, Withdrawal.Provider.WECHAT_TRANSFER)
    if started is None:
        return Withdrawal.objects.unscoped().get(pk=withdrawal_id)
    withdrawal, creating = started
    client = wechat_client(withdrawal.merchant_id)
    try:
        if creating:
            result = client.create_transfer(
                out_bill_no=withdrawal.out_bill_no,
                openid=withdrawal.payout_account,
                amount=withdrawal.net_amount,
                transfer_scene_id=_scene(withdrawal.merchant_id),
                remark="分销佣金提现 commission withdrawal",
                user_name=_real_name(withdrawal.distributor, withdrawal.net_amount),
            )
        else:
            result = client.query_transfer(out_bill_no=withdrawal.out_bill_no)
    except ProviderUnknownOutcome as exc:
        return _later(withdrawal, "UNKNOWN", str(exc))
    except ProviderError as exc:
        if not creating and exc.code in NOT_FOUND_CODES:
            return _later(withdrawal, "", exc.code, immediately=True)  # never arrived: send the same number
        if exc.transient:
            return _later(withdrawal, "" if creating else withdrawal.provider_state, exc.code)
        return transfer_refused(withdrawal, f"{exc.code}: {exc.message}")
    return _record(withdrawal, result)


def _later(withdrawal: Withdrawal, state: str, error: str, *, immediately: bool = False) -> Withdrawal:
    return transfer_later(withdrawal, state, error, immediately=immediately)


def _record(withdrawal: Withdrawal, result: TransferResult) -> Withdrawal:
    paid = True if result.state in result.FINAL_SUCCESS else False if result.state in result.FINAL_FAILURE else None
    reason = "" if paid else (result.fail_reason or result.state)
    return transfer_record(withdrawal, state=result.state, bill_no=result.transfer_bill_no, paid=paid, reason=reason)


def _scene(merchant_id: int) -> str:
    return (
        WechatPayAccount.objects.for_merchant(merchant_id).values_list("transfer_scene_id", flat=True).first() or "1000"
    )


def _real_name(distributor: Distributor, amount: int) -> str | None:
    """WeChat requires the payee's real name above ¥2,000."""
    if amount < 200_000 or not distributor.real_name_encrypted:
        return None
    return crypto.decrypt(distributor.real_name_encrypted)


def withdrawals_reconcile(merchant_id: int | None = None) -> int:
    """Drive every WeChat payout that is not final (approved, processing, unknown) one step further."""
    ids = transfer_due(Withdrawal.Provider.WECHAT_TRANSFER, merchant_id)
    for withdrawal_id in ids:
        withdrawal_pay(withdrawal_id)
    return len(ids)
