"""WeChat transfers (商家转账): an approved `wechat_transfer` withdrawal is paid to the payee's WeChat balance.

The bill's number comes from our id and is stored before the first call. Whatever the creation answers
other than a signed bill (a refusal with any code, a timeout, an unverifiable answer), the next step
queries the bill with that number, as WeChat asks: a bill that exists is followed to its end; a bill that
does not exist is sent again under the same number, or, when WeChat had refused it, the withdrawal fails
and the money returns (a new withdrawal gets a new number). A bill WeChat can no longer be asked about
(the query covers 30 days) is never sent again: it is flagged for a person (`needs_attention`).

WAIT_USER_CONFIRM keeps the bill's `package_info` for the app (wx.requestMerchantTransfer); the payee
confirms, or WeChat closes the bill after about a day, and the notification WeChat posts
(`transfer_notification_receive`) or the reconciler's next query settles it. Unknown and transient
outcomes are retried later (settlements.services.retry); a final answer books the payout or returns the
money (settlements.services.withdrawals).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from distribution import crypto, rls
from distribution.audit import audit_record
from distribution.auth import Actor
from distributors.models import Distributor
from merchants.models import Merchant
from settlements.errors import NotFlagged
from settlements.models import WechatPayAccount, Withdrawal
from settlements.providers.base import ProviderError, ProviderUnknownOutcome, TransferResult
from settlements.providers.wechatpay.client import NotificationError
from settlements.providers.wechatpay.transfers import parse_transfer_bill
from settlements.providers.wechatpay.transport import MalformedResponse
from settlements.services.providers import NOT_FOUND_CODES, wechat_client
from settlements.services.retry import next_attempt_at, retry_later
from settlements.services.withdrawals import finish_withdrawal, lock_withdrawal, move_withdrawal

logger = logging.getLogger(__name__)
W = Withdrawal.Status
# Our provider_state values besides WeChat's bill states: "" nothing sent (or WeChat has no such bill: send
# it under the same number), SENT stored before the call, UNKNOWN no usable answer, REFUSED refused at
# creation (not settled until a query says the bill does not exist).
SENT, UNKNOWN, REFUSED = "SENT", "UNKNOWN", "REFUSED"
# WeChat's query covers bills of the last 30 days; we stop asking a day before, so an answer near the edge
# is never mistaken for "no such bill".
QUERY_WINDOW = timedelta(days=29)
TRANSFER_EVENT = "MCHTRANSFER.BILL.FINISHED"


def withdrawal_pay(withdrawal_id: int) -> Withdrawal:
    """One step of a WeChat transfer: create the bill (once per number), or ask about it."""
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
            or withdrawal.needs_attention
        ):
            return withdrawal
        creating = not withdrawal.provider_state  # nothing sent yet, or the provider has no such bill
        if withdrawal.status == W.APPROVED:
            move_withdrawal(
                withdrawal, W.PROCESSING, merchant=withdrawal.merchant, actor=system, reason="payout started"
            )
        if not creating and withdrawal.sent_at and timezone.now() - withdrawal.sent_at > QUERY_WINDOW:
            _flag(withdrawal, system, "the bill is older than WeChat's 30-day query window")
            return withdrawal
        withdrawal.attempts += 1
        fields = ["attempts"]
        if creating:
            withdrawal.provider_state = SENT  # stored before the call: from now on we query first
            withdrawal.sent_at = withdrawal.sent_at or timezone.now()
            fields += ["provider_state", "sent_at"]
        withdrawal.save(update_fields=fields)
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
        return _later(withdrawal, UNKNOWN, str(exc))
    except ProviderError as exc:
        reason = f"{exc.code}: {exc.message}" if exc.message else exc.code
        if creating:  # any refusal at creation: query the same number before deciding anything
            return _later(withdrawal, UNKNOWN if exc.transient else REFUSED, reason)
        if exc.code in NOT_FOUND_CODES:
            if withdrawal.provider_state == REFUSED:  # refused, and no bill exists: it failed, nothing was paid
                return _fail_refused(withdrawal, system)
            return _later(withdrawal, "", exc.code, immediately=True)  # never arrived: send the same number
        return _later(withdrawal, withdrawal.provider_state, reason)  # the query itself failed: ask again later
    return _record(withdrawal, result)


def _later(withdrawal: Withdrawal, state: str, error: str, *, immediately: bool = False) -> Withdrawal:
    return retry_later(withdrawal, immediately=immediately, provider_state=state, failure_reason=error[:300])


def _fail_refused(withdrawal: Withdrawal, system: Actor) -> Withdrawal:
    with transaction.atomic():
        locked = lock_withdrawal(withdrawal.merchant, withdrawal.pk)
        if locked.status != W.PROCESSING or locked.provider_state != REFUSED:
            return locked
        finish_withdrawal(
            locked,
            merchant=withdrawal.merchant,
            actor=system,
            paid=False,
            reason=withdrawal.failure_reason or REFUSED,
            provider_state=REFUSED,
        )
        return locked


def _flag(withdrawal: Withdrawal, actor: Actor, why: str) -> None:
    """Stop driving a locked withdrawal: a person finds out at WeChat what happened to the bill."""
    withdrawal.needs_attention = True
    withdrawal.failure_reason = why[:300]
    withdrawal.save(update_fields=["needs_attention", "failure_reason"])
    audit_record(
        merchant=withdrawal.merchant,
        actor=actor,
        action="withdrawal.needs_attention",
        obj=withdrawal,
        changes={"needs_attention": [False, True]},
        reason=why,
    )
    logger.error("withdrawal %s needs a person: %s", withdrawal.pk, why)


@transaction.atomic
def withdrawal_settle_flagged(
    *, merchant: Merchant, actor: Actor, withdrawal_id: int, paid: bool, reason: str
) -> Withdrawal:
    """A person looked a flagged transfer up in WeChat's records: book it paid, or return the money."""
    withdrawal = lock_withdrawal(merchant, withdrawal_id)
    if not withdrawal.needs_attention or withdrawal.status != W.PROCESSING:
        raise NotFlagged()
    finish_withdrawal(withdrawal, merchant=merchant, actor=actor, paid=paid, reason=reason, needs_attention=False)
    return withdrawal


def _record(withdrawal: Withdrawal, result: TransferResult) -> Withdrawal:
    system = Actor.system("payout")
    with transaction.atomic():
        locked = lock_withdrawal(withdrawal.merchant, withdrawal.pk)
        if locked.status != W.PROCESSING:
            return locked
        waiting = result.state == "WAIT_USER_CONFIRM"
        fields = {
            "provider_state": result.state,
            "provider_bill_no": result.transfer_bill_no or locked.provider_bill_no,
            # the query does not repeat package_info: keep the one creation gave while the bill waits
            "package_info": (result.package_info or locked.package_info) if waiting else "",
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
            locked.failure_reason = ""
            locked.next_attempt_at = next_attempt_at(locked.attempts)
            locked.save(update_fields=[*fields, "failure_reason", "next_attempt_at"])
        return locked


def _scene(merchant_id: int) -> str:
    account = WechatPayAccount.objects.for_merchant(merchant_id).values_list("transfer_scene_id", flat=True).first()
    return account or ""


def _real_name(distributor: Distributor, amount: int) -> str | None:
    """WeChat requires the payee's real name from ¥2,000 up."""
    if amount < 200_000 or not distributor.real_name_encrypted:
        return None
    return crypto.decrypt(distributor.real_name_encrypted)


def withdrawals_reconcile(merchant_id: int | None = None) -> int:
    """Drive every WeChat payout that is not final (approved, processing, unknown) one step further; those
    flagged for a person are left to them."""
    qs = Withdrawal.objects.unscoped().filter(
        status__in=[W.APPROVED, W.PROCESSING], provider=Withdrawal.Provider.WECHAT_TRANSFER, needs_attention=False
    )
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    ids = list(qs.exclude(next_attempt_at__gt=timezone.now()).order_by("pk").values_list("pk", flat=True))
    for withdrawal_id in ids:
        withdrawal_pay(withdrawal_id)
    return len(ids)


# --- notifications WeChat posts to notify_url ---------------------------------------------------------------
def transfer_notification_receive(*, account_id: int, headers: Mapping[str, str], body: bytes) -> Withdrawal | None:
    """A transfer notification for a merchant's WeChat Pay account: verified with the account's platform
    key, decrypted with its APIv3 key, then applied as a query's answer would be (idempotent: a withdrawal
    that is already final is left as it is). Raises NotificationError for anything that is not WeChat's.
    The withdrawal it settled, or None for a bill that is not one of ours."""
    with rls.bypass():  # the URL names the account; the signature proves the sender
        account = WechatPayAccount.objects.unscoped().filter(pk=account_id).first()
    if account is None:
        raise NotificationError("no such account")
    rls.use_merchant(account.merchant_id)
    notification = wechat_client(account.merchant_id).parse_notification(headers, body)
    if notification.get("event_type") != TRANSFER_EVENT:
        logger.info("wechatpay notification %s ignored", notification.get("event_type"))
        return None
    try:
        result = parse_transfer_bill(notification["resource"])
    except MalformedResponse as exc:
        raise NotificationError(f"notification resource is not a transfer bill: {exc}") from exc
    withdrawal = (
        Withdrawal.objects.for_merchant(account.merchant_id)
        .select_related("merchant")
        .filter(out_bill_no=result.out_bill_no, provider=Withdrawal.Provider.WECHAT_TRANSFER)
        .first()
    )
    if withdrawal is None:
        logger.warning("wechatpay notification for unknown bill %s", result.out_bill_no)
        return None
    amount = notification["resource"].get("transfer_amount")
    if amount != withdrawal.net_amount:
        with transaction.atomic():
            locked = lock_withdrawal(withdrawal.merchant, withdrawal.pk)
            if locked.status == W.PROCESSING and not locked.needs_attention:
                _flag(locked, Actor.system("payout"), f"notified amount {amount} is not {withdrawal.net_amount}")
            return locked
    return _record(withdrawal, result)
