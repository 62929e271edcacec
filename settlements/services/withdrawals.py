"""Withdrawals (提现): a distributor takes available balance out.

The amount is reserved at once (available → withdrawing) under a lock on the available balance, so no
balance can be spent twice whatever the concurrency (and a database check refuses a negative balance
as a last line). Approval is automatic or by finance/owner; the payout goes through the merchant's
provider: `manual` (export an approved batch as CSV, then mark each paid or failed) or
`wechat_transfer` (WeChat Pay merchant transfer, number from our id, unknown outcomes queried with the
same number). A failure or rejection returns the money; fees and tax are booked when the payout succeeds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from distribution import outbox
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import NotFound
from distribution.money import apply_bps, format_amount
from distribution.state import StateMachine
from distributors.errors import DistributorNotActive
from distributors.models import Distributor
from ledger import services as ledger
from ledger.models import Account, LedgerTransaction
from ledger.services import DISTRIBUTOR, MERCHANT, Txn
from merchants.models import DistributionProgram, Merchant
from settlements.errors import (
    BelowMinimum,
    DailyLimitExceeded,
    IdentityNotVerified,
    InsufficientBalance,
    NothingLeftAfterFees,
    NotManual,
    PayoutAccountMissing,
)
from settlements.models import PayoutBatch, Withdrawal
from settlements.providers.base import ProviderError, ProviderUnknownOutcome, TransferResult
from settlements.services.providers import NOT_FOUND_CODES, wechat_client

logger = logging.getLogger(__name__)
A = Account.Kind
K = LedgerTransaction.Kind
W = Withdrawal.Status
WITHDRAWAL_STATES = StateMachine(
    "withdrawal",
    {
        W.REQUESTED: {W.APPROVED, W.REJECTED},
        W.APPROVED: {W.PROCESSING, W.REJECTED},
        W.PROCESSING: {W.PAID, W.FAILED},
        W.PAID: set(),
        W.FAILED: set(),
        W.REJECTED: set(),
    },
)
# WeChat Pay's own limits for transfers to a person.
WECHAT_MIN_TRANSFER = 10
WECHAT_DAILY_MAX_PER_PERSON = 2_000_000
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))


def day_start(merchant: Merchant, at: datetime) -> datetime:
    local = at.astimezone(merchant.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def withdrawal_request(*, merchant: Merchant, actor: Actor, distributor: Distributor, amount: int) -> Withdrawal:
    """Reserve `amount` of the available balance for a payout (checks every program rule first)."""
    program = DistributionProgram.objects.for_merchant(merchant).get()
    if distributor.status != Distributor.Status.ACTIVE:
        raise DistributorNotActive("Only an active distributor can withdraw.")
    if amount < max(program.withdrawal_min_amount, 1):
        minimum = format_amount(program.withdrawal_min_amount, merchant.currency)
        raise BelowMinimum(fields={"amount": [f"At least {minimum}."]})
    if program.withdrawal_requires_real_name and not distributor.identity_verified:
        raise IdentityNotVerified()
    provider = program.payout_provider
    if provider == Withdrawal.Provider.WECHAT_TRANSFER and not distributor.payout_openid:
        raise PayoutAccountMissing()
    fee = apply_bps(amount, program.withdrawal_fee_bps) + program.withdrawal_fee_fixed
    tax = apply_bps(max(amount - fee, 0), program.tax_withholding_bps)
    net = amount - fee - tax
    if net <= 0:
        raise NothingLeftAfterFees()
    if provider == Withdrawal.Provider.WECHAT_TRANSFER and net < WECHAT_MIN_TRANSFER:
        raise BelowMinimum("WeChat Pay transfers start at 0.10.")

    available = ledger.locked_balance(merchant.pk, distributor.pk, A.AVAILABLE, merchant.currency)
    if amount > available:
        raise InsufficientBalance(extra={"available": format_amount(available, merchant.currency)})
    daily_max = program.withdrawal_daily_max_amount
    if provider == Withdrawal.Provider.WECHAT_TRANSFER:
        daily_max = min(daily_max, WECHAT_DAILY_MAX_PER_PERSON)
    today = (
        Withdrawal.objects.for_merchant(merchant)
        .filter(
            distributor=distributor,
            requested_at__gte=day_start(merchant, timezone.now()),
        )
        .exclude(status__in=[W.REJECTED, W.FAILED])
        .aggregate(s=Sum("amount"))["s"]
        or 0
    )
    if today + amount > daily_max:
        raise DailyLimitExceeded(extra={"remaining_today": format_amount(max(daily_max - today, 0), merchant.currency)})

    withdrawal = Withdrawal.objects.create(
        merchant=merchant,
        distributor=distributor,
        amount=amount,
        fee=fee,
        tax=tax,
        net_amount=net,
        currency=merchant.currency,
        provider=provider,
        payout_account=distributor.payout_openid,
    )
    withdrawal.out_bill_no = f"W{merchant.pk}X{withdrawal.pk}"
    Withdrawal.objects.for_merchant(merchant).filter(pk=withdrawal.pk).update(out_bill_no=withdrawal.out_bill_no)
    ledger.post(
        merchant.pk,
        merchant.currency,
        [
            Txn(f"withdrawal:{withdrawal.pk}:reserve", K.WITHDRAWAL_RESERVE)
            .debit(DISTRIBUTOR, distributor.pk, A.AVAILABLE, amount)
            .credit(DISTRIBUTOR, distributor.pk, A.WITHDRAWING, amount)
        ],
    )
    audit_record(
        merchant=merchant,
        actor=actor,
        action="withdrawal.requested",
        obj=withdrawal,
        changes={"amount": [None, amount], "fee": [None, fee], "tax": [None, tax]},
    )
    if program.withdrawal_auto_approve:
        _approve(withdrawal, merchant=merchant, actor=Actor.system("auto-approval"), reason="auto-approved")
    return withdrawal


def _lock(merchant, withdrawal_id: int) -> Withdrawal:
    withdrawal = Withdrawal.objects.for_merchant(merchant).select_for_update().filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise NotFound("Withdrawal not found.")
    return withdrawal


def _move(withdrawal: Withdrawal, target: str, *, merchant, actor: Actor, reason: str = "", **fields) -> None:
    WITHDRAWAL_STATES.check(withdrawal.status, target)
    old = withdrawal.status
    withdrawal.status = target
    for name, value in fields.items():
        setattr(withdrawal, name, value)
    withdrawal.save(update_fields=["status", *fields])
    audit_record(
        merchant=merchant,
        actor=actor,
        action="withdrawal.status_changed",
        obj=withdrawal,
        changes={"status": [old, target]},
        reason=reason,
    )


def _approve(withdrawal: Withdrawal, *, merchant, actor: Actor, reason: str) -> None:
    _move(
        withdrawal,
        W.APPROVED,
        merchant=merchant,
        actor=actor,
        reason=reason,
        decided_by=actor.label or actor.kind,
        decided_at=timezone.now(),
        decision_reason=reason[:500],
    )
    if withdrawal.provider == Withdrawal.Provider.WECHAT_TRANSFER:
        outbox.enqueue("settlements.pay_withdrawal", withdrawal.pk)


@transaction.atomic
def withdrawal_approve(*, merchant, actor: Actor, withdrawal_id: int, reason: str = "") -> Withdrawal:
    withdrawal = _lock(merchant, withdrawal_id)
    _approve(withdrawal, merchant=merchant, actor=actor, reason=reason)
    return withdrawal


def _return_money(withdrawal: Withdrawal, reason_kind: str) -> None:
    ledger.post(
        withdrawal.merchant_id,
        withdrawal.currency,
        [
            Txn(f"withdrawal:{withdrawal.pk}:return", K.WITHDRAWAL_RETURN)
            .debit(DISTRIBUTOR, withdrawal.distributor_id, A.WITHDRAWING, withdrawal.amount)
            .credit(DISTRIBUTOR, withdrawal.distributor_id, A.AVAILABLE, withdrawal.amount)
        ],
    )


def _book_paid(withdrawal: Withdrawal) -> None:
    txn = (
        Txn(f"withdrawal:{withdrawal.pk}:paid", K.WITHDRAWAL_PAID)
        .debit(DISTRIBUTOR, withdrawal.distributor_id, A.WITHDRAWING, withdrawal.amount)
        .credit(DISTRIBUTOR, withdrawal.distributor_id, A.PAID_OUT, withdrawal.net_amount)
    )
    if withdrawal.fee:
        txn.credit(MERCHANT, withdrawal.merchant_id, A.FEE_INCOME, withdrawal.fee)
    if withdrawal.tax:
        txn.credit(MERCHANT, withdrawal.merchant_id, A.TAX_PAYABLE, withdrawal.tax)
    ledger.post(withdrawal.merchant_id, withdrawal.currency, [txn])


@transaction.atomic
def withdrawal_reject(*, merchant, actor: Actor, withdrawal_id: int, reason: str) -> Withdrawal:
    """Refuse a withdrawal that has not gone out: the reserve returns to the available balance."""
    withdrawal = _lock(merchant, withdrawal_id)
    _move(
        withdrawal,
        W.REJECTED,
        merchant=merchant,
        actor=actor,
        reason=reason,
        decided_by=actor.label or actor.kind,
        decided_at=timezone.now(),
        decision_reason=reason[:500],
        finished_at=timezone.now(),
    )
    _return_money(withdrawal, "rejected")
    return withdrawal


def _finish(withdrawal: Withdrawal, *, merchant, actor: Actor, paid: bool, reason: str = "", **fields) -> None:
    _move(
        withdrawal,
        W.PAID if paid else W.FAILED,
        merchant=merchant,
        actor=actor,
        reason=reason,
        finished_at=timezone.now(),
        failure_reason="" if paid else reason[:300],
        **fields,
    )
    if paid:
        _book_paid(withdrawal)
    else:
        _return_money(withdrawal, "failed")


# --- manual payouts --------------------------------------------------------------------------------------
EXPORT_LOCK = 0x70617962  # "payb": the advisory lock class of payout exports, with the merchant's id

EXPORT_COLUMNS = [
    "withdrawal_id",
    "out_bill_no",
    "distributor_id",
    "display_name",
    "real_name",
    "amount",
    "fee",
    "tax",
    "net_amount",
    "currency",
    "requested_at",
]


@transaction.atomic
def withdrawals_export(
    *, merchant, actor: Actor, idempotency_key: str | None = None
) -> tuple[PayoutBatch | None, list[list]]:
    """Every approved manual withdrawal not exported yet, as one batch (they become `processing`), and its
    rows under EXPORT_COLUMNS for the file (distribution.exports writes it). With an `idempotency_key` that
    made a batch before, that batch and its rows again, and nothing changes."""
    with connection.cursor() as cursor:  # one export of a merchant at a time: a retry sees the first's batch
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EXPORT_LOCK, merchant.pk])
    if idempotency_key:
        earlier = PayoutBatch.objects.for_merchant(merchant).filter(idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier, batch_rows(earlier)
    rows = list(
        Withdrawal.objects.for_merchant(merchant)
        .select_for_update()
        .filter(status=W.APPROVED, provider=Withdrawal.Provider.MANUAL, batch__isnull=True)
        .select_related("distributor")
        .order_by("pk")
    )
    if not rows:
        return None, []
    batch = PayoutBatch.objects.create(
        merchant=merchant,
        created_by=actor.label or actor.kind,
        count=len(rows),
        total=sum(w.net_amount for w in rows),
        idempotency_key=idempotency_key or None,
    )
    for w in rows:
        _move(w, W.PROCESSING, merchant=merchant, actor=actor, reason=f"exported in batch {batch.pk}", batch=batch)
    return batch, [_export_row(w) for w in rows]


def batch_rows(batch: PayoutBatch) -> list[list]:
    """A batch's file rows, from its withdrawals (in their current state, which the file does not show)."""
    withdrawals = (
        Withdrawal.objects.for_merchant(batch.merchant_id)
        .filter(batch=batch)
        .select_related("distributor")
        .order_by("pk")
    )
    return [_export_row(w) for w in withdrawals]


def _export_row(w: Withdrawal) -> list:
    return [
        w.pk,
        w.out_bill_no,
        w.distributor_id,
        w.distributor.display_name,
        w.distributor.real_name_masked,
        format_amount(w.amount, w.currency),
        format_amount(w.fee, w.currency),
        format_amount(w.tax, w.currency),
        format_amount(w.net_amount, w.currency),
        w.currency,
        w.requested_at.isoformat(),
    ]


@transaction.atomic
def withdrawal_mark(*, merchant, actor: Actor, withdrawal_id: int, paid: bool, reason: str = "") -> Withdrawal:
    """The merchant's bank paid (or refused) a manual withdrawal."""
    withdrawal = _lock(merchant, withdrawal_id)
    if withdrawal.provider != Withdrawal.Provider.MANUAL:
        raise NotManual()
    _finish(withdrawal, merchant=merchant, actor=actor, paid=paid, reason=reason)
    return withdrawal


# --- WeChat transfers -------------------------------------------------------------------------------------
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
            _move(withdrawal, W.PROCESSING, merchant=withdrawal.merchant, actor=system, reason="payout started")
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
            locked = _lock(withdrawal.merchant, withdrawal.pk)
            _finish(
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
    delay = timedelta(0) if immediately else BACKOFF[min(withdrawal.attempts - 1, len(BACKOFF) - 1)]
    Withdrawal.objects.unscoped().filter(pk=withdrawal.pk).update(
        provider_state=state, failure_reason=error[:300], next_attempt_at=timezone.now() + delay
    )
    withdrawal.refresh_from_db()
    return withdrawal


def _record(withdrawal: Withdrawal, result: TransferResult) -> Withdrawal:
    system = Actor.system("payout")
    with transaction.atomic():
        locked = _lock(withdrawal.merchant, withdrawal.pk)
        if locked.status != W.PROCESSING:
            return locked
        fields = {
            "provider_state": result.state,
            "provider_bill_no": result.transfer_bill_no or locked.provider_bill_no,
        }
        if result.state in TransferResult.FINAL_SUCCESS:
            _finish(locked, merchant=withdrawal.merchant, actor=system, paid=True, **fields)
        elif result.state in TransferResult.FINAL_FAILURE:
            _finish(
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
            locked.next_attempt_at = timezone.now() + BACKOFF[min(locked.attempts - 1, len(BACKOFF) - 1)]
            locked.save(update_fields=[*fields, "next_attempt_at"])
        return locked


def _scene(merchant_id: int) -> str:
    from settlements.models import WechatPayAccount

    return (
        WechatPayAccount.objects.for_merchant(merchant_id).values_list("transfer_scene_id", flat=True).first() or "1000"
    )


def _real_name(distributor: Distributor, amount: int) -> str | None:
    """WeChat requires the payee's real name above ¥2,000."""
    from distribution import crypto

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
