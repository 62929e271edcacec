"""Withdrawals (提现): a distributor takes available balance out.

The amount is reserved at once (available → withdrawing) under a lock on the available balance, so no
balance can be spent twice whatever the concurrency (and a database check refuses a negative balance
as a last line). Approval is automatic or by finance/owner; the payout then goes through the merchant's
provider, `manual` (settlements.services.payouts), `wechat_transfer` (settlements.services.transfers) or
`alipay_transfer` (settlements.services.alipay_transfers), which all end here: a failure or rejection
returns the money; fees and tax are booked when the payout succeeds.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
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
)
from settlements.models import Withdrawal
from settlements.services import payout_accounts
from settlements.services.tax import withholding_tax
from settlements.services.transfer_rules import wechat_transfer_check

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
# The task that pays an approved withdrawal, per provider that pays by transfer.
TRANSFER_TASKS = {
    Withdrawal.Provider.WECHAT_TRANSFER: "settlements.pay_withdrawal",
    Withdrawal.Provider.ALIPAY_TRANSFER: "settlements.pay_alipay_withdrawal",
}


def day_start(merchant: Merchant, at: datetime) -> datetime:
    local = at.astimezone(merchant.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def withdrawal_request(
    *, merchant: Merchant, actor: Actor, distributor: Distributor, amount: int, payout_account_id: int | None = None
) -> Withdrawal:
    """Reserve `amount` of the available balance for a payout (checks every program rule first), to the payout
    account named (else the distributor's default of the rail's kind), whose details are kept as they are now."""
    program = DistributionProgram.objects.for_merchant(merchant).get()
    if distributor.status != Distributor.Status.ACTIVE:
        raise DistributorNotActive("Only an active distributor can withdraw.")
    if amount < max(program.withdrawal_min_amount, 1):
        minimum = format_amount(program.withdrawal_min_amount, merchant.currency)
        raise BelowMinimum(fields={"amount": [f"At least {minimum}."]})
    if program.withdrawal_requires_real_name and not distributor.identity_verified:
        raise IdentityNotVerified()
    provider = program.payout_provider
    if provider == Withdrawal.Provider.ALIPAY_TRANSFER and not distributor.identity_verified:
        raise IdentityNotVerified()  # Alipay checks the payee's real name against the account
    destination = payout_accounts.payout_destination(
        merchant=merchant, distributor=distributor, provider=provider, account_id=payout_account_id
    )
    fee = apply_bps(amount, program.withdrawal_fee_bps) + program.withdrawal_fee_fixed
    tax = withholding_tax(merchant=merchant, program=program, distributor=distributor, income=max(amount - fee, 0))
    net = amount - fee - tax
    if net <= 0:
        raise NothingLeftAfterFees()
    if provider == Withdrawal.Provider.WECHAT_TRANSFER:
        wechat_transfer_check(merchant=merchant, distributor=distributor, net=net)

    available = ledger.locked_balance(merchant.pk, distributor.pk, A.AVAILABLE, merchant.currency)
    if amount > available:
        raise InsufficientBalance(extra={"available": format_amount(available, merchant.currency)})
    daily_max = program.withdrawal_daily_max_amount
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
        **payout_accounts.destination_fields(destination),
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
        changes={
            "amount": [None, amount],
            "fee": [None, fee],
            "tax": [None, tax],
            "payout_account": [None, destination.identity_masked],
        },
    )
    if program.withdrawal_auto_approve:
        _approve(withdrawal, merchant=merchant, actor=Actor.system("auto-approval"), reason="auto-approved")
    return withdrawal


def lock_withdrawal(merchant: Merchant, withdrawal_id: int) -> Withdrawal:
    """The merchant's withdrawal, locked for the rest of the transaction."""
    withdrawal = Withdrawal.objects.for_merchant(merchant).select_for_update().filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise NotFound("Withdrawal not found.")
    return withdrawal


def move_withdrawal(
    withdrawal: Withdrawal, target: str, *, merchant: Merchant, actor: Actor, reason: str = "", **fields: object
) -> None:
    """Take a locked withdrawal to `target` (a transition the state machine allows), with `fields`, audited."""
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


def _approve(withdrawal: Withdrawal, *, merchant: Merchant, actor: Actor, reason: str) -> None:
    move_withdrawal(
        withdrawal,
        W.APPROVED,
        merchant=merchant,
        actor=actor,
        reason=reason,
        decided_by=actor.label or actor.kind,
        decided_at=timezone.now(),
        decision_reason=reason[:500],
    )
    task = TRANSFER_TASKS.get(Withdrawal.Provider(withdrawal.provider))
    if task is not None:
        outbox.enqueue(task, withdrawal.pk)


@transaction.atomic
def withdrawal_approve(*, merchant: Merchant, actor: Actor, withdrawal_id: int, reason: str = "") -> Withdrawal:
    withdrawal = lock_withdrawal(merchant, withdrawal_id)
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
def withdrawal_reject(*, merchant: Merchant, actor: Actor, withdrawal_id: int, reason: str) -> Withdrawal:
    """Refuse a withdrawal that has not gone out: the reserve returns to the available balance."""
    withdrawal = lock_withdrawal(merchant, withdrawal_id)
    move_withdrawal(
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


def finish_withdrawal(
    withdrawal: Withdrawal, *, merchant: Merchant, actor: Actor, paid: bool, reason: str = "", **fields: object
) -> None:
    """The payout of a locked, processing withdrawal is over: book it as paid, or return the money."""
    move_withdrawal(
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
