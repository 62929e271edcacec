"""WeChat transfers (商家转账): an approved `wechat_transfer` withdrawal is paid to the payee's WeChat balance.

The bill's number comes from our id and is stored before the first call; from then on the bill is only
queried with that number, and sent again under it only when WeChat says it never arrived. Unknown and
transient outcomes are retried later (settlements.services.retry); a final answer books the payout or
returns the money (settlements.services.withdrawals).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from distribution import crypto
from distribution.auth import Actor
from distributors.models import Distributor
from settlements.models import WechatPayAccount, Withdrawal
from settlements.providers.base import ProviderError, ProviderUnknownOutcome, TransferResult
from settlements.services.providers import NOT_FOUND_CODES, wechat_client
from settlements.services.retry import next_attempt_at, retry_later
from settlements.services.withdrawals import finish_withdrawal, lock_withdrawal, move_withdrawal

W = Withdrawal.Status


def withdrawal_pay(withdrawal_id: int) -> Withdrawal:
    """One step of a WeChat transfer: create the bill (once, with our number), or ask about it."""
    system = Actor.system("payout")
    with transaction.atomic():
        withdrawal = (
            Withdrawal.objects.unscoped()
            .select_for_update()
            .select_related("merchant", "distributor")
            .get(pk=withdrawal_id)
        )
        if (
            withdrawal.status not in (W.APPROVED, W.PROCESSING)
            or withdrawal.provider != Withdrawal.Provider.WECHAT_TRANSFER
        ):
            return withdrawal
        creating = not withdrawal.provider_state  # nothing sent yet, or the provider never saw it
        if withdrawal.status == W.APPROVED:
            move_withdrawal(
                withdrawal, W.PROCESSING, merchant=withdrawal.merchant, actor=system, reason="payout started"
            )
        withdrawal.attempts += 1
        if creating:
            withdrawal.provider_state = "SENT"  # stored before the call: from now on we only query
        withdrawal.save(update_fields=["attempts", "provider_state"])
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
        with transaction.atomic():
            locked = lock_withdrawal(withdrawal.merchant, withdrawal.pk)
            finish_withdrawal(
                locked,
                merchant=withdrawal.merchant,
                actor=system,
                paid=False,
                reason=f"{exc.code}: {exc.message}",
                provider_state="REFUSED",
            )
            return locked
    return _record(withdrawal, result)


def _later(withdrawal: Withdrawal, state: str, error: str, *, immediately: bool = False) -> Withdrawal:
    return retry_later(withdrawal, immediately=immediately, provider_state=state, failure_reason=error[:300])


def _record(withdrawal: Withdrawal, result: TransferResult) -> Withdrawal:
    system = Actor.system("payout")
    with transaction.atomic():
        locked = lock_withdrawal(withdrawal.merchant, withdrawal.pk)
        if locked.status != W.PROCESSING:
            return locked
        fields = {
            "provider_state": result.state,
            "provider_bill_no": result.transfer_bill_no or locked.provider_bill_no,
        }
        if result.state in TransferResult.FINAL_SUCCESS:
            finish_withdrawal(locked, merchant=withdrawal.merchant, actor=system, paid=True, **fields)
        elif result.state in TransferResult.FINAL_FAILURE:
            finish_withdrawal(
                locked,
                merchant=withdrawal.merchant,
                actor=system,
                paid=False,
                reason=result.fail_reason or result.state,
                **fields,
            )
        else:
            for name, value in fields.items():
                setattr(locked, name, value)
            locked.next_attempt_at = next_attempt_at(locked.attempts)
            locked.save(update_fields=[*fields, "next_attempt_at"])
        return locked


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
    qs = Withdrawal.objects.unscoped().filter(
        status__in=[W.APPROVED, W.PROCESSING], provider=Withdrawal.Provider.WECHAT_TRANSFER
    )
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    ids = list(qs.exclude(next_attempt_at__gt=timezone.now()).order_by("pk").values_list("pk", flat=True))
    for withdrawal_id in ids:
        withdrawal_pay(withdrawal_id)
    return len(ids)
