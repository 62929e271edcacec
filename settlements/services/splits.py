"""Profit sharing (分账) through WeChat Pay: settled commission is split straight to distributors.

At settlement (in the chunk's transaction) each order's due commission for beneficiaries with a payout
openid becomes a split request, and the amounts move from available to withdrawing (reserved). After the
run, the requests are sent; a receiver that succeeds is paid out (withdrawing → paid out), one that the
provider closes gets its money back to available (withdrawable by hand). The request number is stored
before the call; an unknown outcome is queried with the same number, never re-numbered.

The freeze window: WeChat keeps a payment's funds for splitting only `profit_sharing_freeze_days` after
payment (30 for ordinary merchants). What can no longer be split in time stays in (or returns to) the
distributor's available balance, to be withdrawn (a transfer) instead:
- at settlement, an order whose window ends within `SPLIT_MARGIN` is not split;
- a split not yet sent, or refused, when its window ends (or after `TOO_SOON_PATIENCE` of "too soon"
  refusals) expires: its reservations go back to available.
A split is asynchronous: it answers PROCESSING, and the dispatcher (the run, then the reconciler) queries it
with the shared back-off until it is FINISHED. A run's splits are sent only once the run has completed (a
later chunk may add receivers to an order's split). Every split is sent with `unfreeze_unsplit=true`, which ends
splitting for that payment: no later split of the same payment (`transaction_id`) is prepared; its
commission stays in the wallet. Once a distributor has no open split left, their receiver is deleted
(WeChat caps the receivers per merchant); the next split adds it again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from commissions.models import CommissionLine
from distribution.state import StateMachine
from distributors.models import Distributor
from ledger import services as ledger
from ledger.models import Account, LedgerTransaction
from ledger.services import DISTRIBUTOR, Txn
from settlements.models import SettlementRun, SplitReceiver, SplitRequest
from settlements.providers.base import ProviderError, ProviderUnknownOutcome, SplitResult
from settlements.providers.base import SplitReceiver as ReceiverSpec
from settlements.services.providers import NOT_FOUND_CODES, split_freeze_days, wechat_client
from settlements.services.retry import next_attempt_at, retry_later

logger = logging.getLogger(__name__)
A = Account.Kind
K = LedgerTransaction.Kind
S = SplitRequest.Status
# A split's life: created (our number stored) → unknown (sent, outcome not known) → processing / finished /
# failed; an unknown or processing split the provider never received goes back to created and is sent
# again under the same number.
SPLIT_STATES = StateMachine(
    "split",
    {
        S.CREATED: {S.UNKNOWN},
        S.CREATED: {S.UNKNOWN, S.EXPIRED},
        S.UNKNOWN: {S.CREATED, S.UNKNOWN, S.PROCESSING, S.FINISHED, S.FAILED},
        S.PROCESSING: {S.CREATED, S.PROCESSING, S.FINISHED, S.FAILED},
        S.FINISHED: set(),
        S.FAILED: set(),
        S.EXPIRED: set(),
    },
)
OPEN = [state for state, targets in SPLIT_STATES.transitions.items() if targets]  # still to drive

# WeChat refuses a split too soon after payment (or before it has settled the payment to the merchant) with
# INVALID_REQUEST and a message whose wording varies ("订单处理中…", "订单正在处理中…"): the code decides, and
# the split is sent again under the same number with the shared back-off (settlements.services.retry), for
# at most TOO_SOON_PATIENCE after it was created and never past its window.
TOO_SOON_CODES = frozenset({"INVALID_REQUEST"})
TOO_SOON_PATIENCE = timedelta(days=3)
# An order whose window ends sooner than this after settlement is not split: there would be no time left to
# retry a refusal or to finish processing.
SPLIT_MARGIN = timedelta(days=1)
RECEIVER_TYPE = "PERSONAL_OPENID"


def out_order_no(run: SettlementRun, order_id: int) -> str:
    return f"PS{run.merchant_id}R{run.pk}O{order_id}"


def splits_prepare(*, run: SettlementRun, currency: str, settled: dict[int, int], repaid: dict[int, int]) -> int:
    """In the chunk's transaction: split requests for this chunk's settled lines, and the reservations.

    Distributors who are repaying a receivable, or have no openid, are left in the wallet."""
    openids = dict(
        Distributor.objects.for_merchant(run.merchant_id)
        .filter(pk__in=[d for d in settled if not repaid.get(d)])
        .exclude(payout_openid="")
        .values_list("pk", "payout_openid")
    )
    if not openids:
        return 0
    rows = (
        CommissionLine.objects.for_merchant(run.merchant_id)
        .filter(settlement_run=run, beneficiary_id__in=list(openids), kind=CommissionLine.Kind.COMMISSION)
        .exclude(order__payment_transaction_id="")
        .values_list(
            "order_id", "order__payment_transaction_id", "order__paid_at", "beneficiary_id", "amount", "reversed_amount"
        )
    )
    per_order: dict[tuple[int, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    paid_at: dict[int, datetime] = {}
    for order_id, transaction_id, order_paid_at, beneficiary, amount, reversed_amount in rows:
        per_order[(order_id, transaction_id)][beneficiary] += amount - reversed_amount
        paid_at[order_id] = order_paid_at
    window = timedelta(days=split_freeze_days(run.merchant_id))
    closer = _closing_splits(run.merchant_id, {transaction_id for _, transaction_id in per_order})
    now = timezone.now()
    txns = []
    for (order_id, transaction_id), amounts in sorted(per_order.items()):
        deadline = paid_at[order_id] + window
        closed = closer.setdefault(transaction_id, (run.pk, order_id)) != (run.pk, order_id)
        if closed or deadline - SPLIT_MARGIN <= now:
            logger.info("split: order %s stays in the wallet (payment closed or window ending)", order_id)
            continue
        split, _ = SplitRequest.objects.get_or_create(
            merchant_id=run.merchant_id,
            run=run,
            order_id=order_id,
            defaults={
                "transaction_id": transaction_id,
                "out_order_no": out_order_no(run, order_id),
                "unfreeze_unsplit": True,
                "deadline_at": deadline,
            },
        )
        for distributor_id, amount in sorted(amounts.items()):
            if amount <= 0:
                continue
            _, created = SplitReceiver.objects.get_or_create(
                merchant_id=run.merchant_id,
                split=split,
                distributor_id=distributor_id,
                defaults={"account": openids[distributor_id], "amount": amount},
            )
            if created:
                txns.append(
                    Txn(f"split:{split.pk}:d:{distributor_id}:reserve", K.SPLIT_RESERVE)
                    .debit(DISTRIBUTOR, distributor_id, A.AVAILABLE, amount)
                    .credit(DISTRIBUTOR, distributor_id, A.WITHDRAWING, amount)
                )
    ledger.post(run.merchant_id, currency, txns)
    return len(txns)


def _closing_splits(merchant_id: int, transaction_ids: set[str]) -> dict[str, tuple[int, int]]:
    """For each payment: the (run, order) of its split sent with `unfreeze_unsplit=true` and not refused (or
    still to be sent, and it will be). No other split of that payment may be asked for; the same run's split
    of the same order is not another (a later chunk adds its receivers)."""
    rows = (
        SplitRequest.objects.for_merchant(merchant_id)
        .filter(transaction_id__in=transaction_ids, unfreeze_unsplit=True)
        .exclude(status__in=[S.FAILED, S.EXPIRED])
        .order_by("pk")
        .values_list("transaction_id", "run_id", "order_id")
    )
    closing: dict[str, tuple[int, int]] = {}
    for transaction_id, run_id, order_id in rows:
        closing.setdefault(transaction_id, (run_id, order_id))
    return closing


def splits_dispatch(*, run: SettlementRun | None = None, merchant_id: int | None = None) -> int:
    """Send (or query) every split that is due: the run's, or all of a merchant's, or all."""
    now = timezone.now()
    # a run's splits are sent once it has completed: until then a later chunk may still add receivers
    qs = SplitRequest.objects.unscoped().filter(status__in=OPEN, run__status=SettlementRun.Status.COMPLETED)
    if run is not None:
        qs = qs.filter(run=run)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    handled = 0
    for split_id in qs.exclude(next_attempt_at__gt=now).order_by("pk").values_list("pk", flat=True):
        split_advance(split_id)
        handled += 1
    return handled


def split_advance(split_id: int) -> SplitRequest:
    """One step for one split: send it, or ask how it went; book what is final (and then tidy receivers)."""
    split = _advance(split_id)
    if split.status not in OPEN and split.attempts:
        receivers_tidy(split)
    return split


def _advance(split_id: int) -> SplitRequest:
    with transaction.atomic():
        split = SplitRequest.objects.unscoped().select_for_update().get(pk=split_id)
        if split.status not in OPEN:
            return split
        sending = split.status == S.CREATED
        if sending and _too_late(split):  # never sent, or refused: nothing was split; the wallet pays it
            return _expire(split, "window_passed" if _window_passed(split) else split.last_error or "too_late")
        if sending:  # from here on the request may exist at the provider: remember that before calling
            SPLIT_STATES.check(split.status, S.UNKNOWN)
            split.status = S.UNKNOWN
        split.attempts += 1
        split.save(update_fields=["status", "attempts", "updated_at"])
    client = wechat_client(split.merchant_id)
    receivers = list(SplitReceiver.objects.for_merchant(split.merchant_id).filter(split=split).order_by("pk"))
    try:
        if sending:
            for r in receivers:  # the provider splits only to receivers added first (adding is idempotent)
                client.add_receiver(type=RECEIVER_TYPE, account=r.account, relation_type="DISTRIBUTOR")
            result = client.request_split(
                transaction_id=split.transaction_id,
                out_order_no=split.out_order_no,
                unfreeze_unsplit=split.unfreeze_unsplit,
                receivers=[
                    ReceiverSpec(
                        type=RECEIVER_TYPE,
                        account=r.account,
                        amount=r.amount,
                        description="分销佣金 distribution commission",
                    )
                    for r in receivers
                ],
            )
        else:
            result = client.query_split(transaction_id=split.transaction_id, out_order_no=split.out_order_no)
    except ProviderUnknownOutcome as exc:
        return _retry_later(split, S.UNKNOWN, str(exc))
    except ProviderError as exc:
        if not sending and exc.code in NOT_FOUND_CODES:  # it never arrived: send the same number again
            return _retry_later(split, S.CREATED, exc.code, immediately=True)
        if exc.transient or (sending and exc.code in TOO_SOON_CODES):
            return _retry_later(split, S.CREATED if sending else split.status, exc.code)
        return _fail(split, receivers, exc)
    return _apply(split, receivers, result)


def _window_passed(split: SplitRequest) -> bool:
    return split.deadline_at is not None and timezone.now() >= split.deadline_at


def _too_late(split: SplitRequest) -> bool:
    """A split not sent yet (or refused) whose window ended, or that WeChat kept calling too soon for longer
    than our patience: it will not be split."""
    too_soon_for_long = split.last_error in TOO_SOON_CODES and timezone.now() >= split.created_at + TOO_SOON_PATIENCE
    return _window_passed(split) or too_soon_for_long


def _expire(split: SplitRequest, reason: str) -> SplitRequest:
    """In the caller's transaction: nothing was split, so every reservation goes back to available."""
    receivers = SplitReceiver.objects.unscoped().filter(split=split, result=SplitReceiver.Result.PENDING)
    txns = [_return(split, r) for r in receivers.order_by("pk")]
    receivers.update(result=SplitReceiver.Result.CLOSED, fail_reason=f"not split: {reason}"[:200])
    ledger.post(split.merchant_id, split.order.currency, txns)
    SPLIT_STATES.apply(SplitRequest.objects.unscoped(), split.pk, S.EXPIRED, last_error=reason[:300])
    logger.warning("split %s expired (%s): its money is back in the available balance", split.out_order_no, reason)
    split.refresh_from_db()
    return split


def receivers_tidy(split: SplitRequest) -> list[str]:
    """After a split is final: delete its receivers that no other open split of the merchant still needs
    (WeChat caps how many receivers a merchant holds; adding again before the next split is idempotent).
    Best effort: a refusal or an unknown outcome is logged, and the receiver is deleted after the next
    split that needs it. Returns the accounts deleted."""
    accounts = set(SplitReceiver.objects.unscoped().filter(split=split).values_list("account", flat=True))
    still_needed = set(
        SplitReceiver.objects.unscoped()
        .filter(merchant_id=split.merchant_id, account__in=accounts, split__status__in=OPEN)
        .values_list("account", flat=True)
    )
    deleted = []
    client = wechat_client(split.merchant_id)
    for account in sorted(accounts - still_needed):
        try:
            client.delete_receiver(type=RECEIVER_TYPE, account=account)
        except (ProviderError, ProviderUnknownOutcome) as exc:
            logger.warning("split %s: receiver %s not deleted (%s)", split.out_order_no, account, exc)
            continue
        deleted.append(account)
    return deleted


def _retry_later(split: SplitRequest, status: str, error: str, *, immediately: bool = False) -> SplitRequest:
    SPLIT_STATES.check(split.status, status)
    return retry_later(split, immediately=immediately, status=status, last_error=error[:300])


@transaction.atomic
def _fail(split: SplitRequest, receivers: list[SplitReceiver], exc: ProviderError) -> SplitRequest:
    currency = split.order.currency
    txns = []
    for r in receivers:
        if r.result == SplitReceiver.Result.PENDING:
            SplitReceiver.objects.unscoped().filter(pk=r.pk).update(
                result=SplitReceiver.Result.CLOSED, fail_reason=f"request refused: {exc.code}"
            )
            txns.append(_return(split, r))
    ledger.post(split.merchant_id, currency, txns)
    SPLIT_STATES.apply(SplitRequest.objects.unscoped(), split.pk, S.FAILED, last_error=str(exc)[:300])
    split.refresh_from_db()
    return split


def _return(split: SplitRequest, r: SplitReceiver) -> Txn:
    return (
        Txn(f"split:{split.pk}:d:{r.distributor_id}:return", K.SPLIT_RETURN)
        .debit(DISTRIBUTOR, r.distributor_id, A.WITHDRAWING, r.amount)
        .credit(DISTRIBUTOR, r.distributor_id, A.AVAILABLE, r.amount)
    )


@transaction.atomic
def _apply(split: SplitRequest, receivers: list[SplitReceiver], result: SplitResult) -> SplitRequest:
    by_account = {(x.account, x.amount): x for x in result.receivers}
    txns = []
    for r in receivers:
        answer = by_account.get((r.account, r.amount))
        if answer is None or r.result != SplitReceiver.Result.PENDING or answer.result == "PENDING":
            continue
        if answer.result == "SUCCESS":
            SplitReceiver.objects.unscoped().filter(pk=r.pk).update(result=SplitReceiver.Result.SUCCESS)
            txns.append(
                Txn(f"split:{split.pk}:d:{r.distributor_id}:paid", K.SPLIT_PAID)
                .debit(DISTRIBUTOR, r.distributor_id, A.WITHDRAWING, r.amount)
                .credit(DISTRIBUTOR, r.distributor_id, A.PAID_OUT, r.amount)
            )
        else:
            SplitReceiver.objects.unscoped().filter(pk=r.pk).update(
                result=SplitReceiver.Result.CLOSED, fail_reason=answer.fail_reason[:200]
            )
            txns.append(_return(split, r))
    ledger.post(split.merchant_id, split.order.currency, txns)
    pending_left = SplitReceiver.objects.unscoped().filter(split=split, result=SplitReceiver.Result.PENDING).exists()
    finished = result.state == "FINISHED" and not pending_left
    SPLIT_STATES.apply(
        SplitRequest.objects.unscoped(),
        split.pk,
        S.FINISHED if finished else S.PROCESSING,
        provider_order_id=result.order_id or split.provider_order_id,
        last_error="",
        next_attempt_at=None if finished else next_attempt_at(split.attempts),
    )
    split.refresh_from_db()
    return split
