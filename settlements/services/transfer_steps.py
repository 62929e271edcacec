"""The steps every provider transfer of a withdrawal shares (WeChat transfers, Alipay transfers).

A transfer is driven one step at a time, each step outside any transaction around the network call:
`transfer_start` takes the approved or processing withdrawal, counts the call and, before the first
request, stores that it is being sent (from then on the provider's order is only queried, never sent
under another number); the driver then calls the provider and ends the step with `transfer_later` (ask
again after the back-off, or at once), `transfer_record` (the provider's state: paid, failed, or not final
yet) or `transfer_refused` (a final refusal, the money returns). `transfer_due` lists what the reconciler
drives next.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from distribution.auth import Actor
from settlements.models import Withdrawal
from settlements.services.retry import next_attempt_at, retry_later
from settlements.services.withdrawals import finish_withdrawal, lock_withdrawal, move_withdrawal

W = Withdrawal.Status
SENT = "SENT"  # stored before the first request: from now on we only query


def transfer_start(withdrawal_id: int, provider: str) -> tuple[Withdrawal, bool] | None:
    """Begin a step: the withdrawal and whether this step creates the provider's order (nothing sent
    yet, or the provider said it never arrived), or None when it is not this provider's or not due."""
    system = Actor.system("payout")
    with transaction.atomic():
        withdrawal = (
            Withdrawal.objects.unscoped()
            .select_for_update()
            .select_related("merchant", "distributor")
            .get(pk=withdrawal_id)
        )
        if withdrawal.status not in (W.APPROVED, W.PROCESSING) or withdrawal.provider != provider:
            return None
        creating = not withdrawal.provider_state
        if withdrawal.status == W.APPROVED:
            move_withdrawal(
                withdrawal, W.PROCESSING, merchant=withdrawal.merchant, actor=system, reason="payout started"
            )
        withdrawal.attempts += 1
        if creating:
            withdrawal.provider_state = SENT
        withdrawal.save(update_fields=["attempts", "provider_state"])
    return withdrawal, creating


def transfer_later(withdrawal: Withdrawal, state: str, error: str, *, immediately: bool = False) -> Withdrawal:
    """Not final: keep `state` (empty = send the same number again) and ask again later (or at once)."""
    return retry_later(withdrawal, immediately=immediately, provider_state=state, failure_reason=error[:300])


def transfer_refused(withdrawal: Withdrawal, reason: str) -> Withdrawal:
    """The provider's final word is that no money moved: the withdrawal fails and the money returns."""
    with transaction.atomic():
        locked = lock_withdrawal(withdrawal.merchant, withdrawal.pk)
        if locked.status == W.PROCESSING:
            finish_withdrawal(
                locked,
                merchant=withdrawal.merchant,
                actor=Actor.system("payout"),
                paid=False,
                reason=reason,
                provider_state="REFUSED",
            )
        return locked


def transfer_record(withdrawal: Withdrawal, *, state: str, bill_no: str, paid: bool | None, reason: str) -> Withdrawal:
    """The provider's state of the order: paid (booked), failed for good (money back, `reason`), or not
    final yet (`paid` None: stored, asked again after the back-off)."""
    with transaction.atomic():
        locked = lock_withdrawal(withdrawal.merchant, withdrawal.pk)
        if locked.status != W.PROCESSING:
            return locked
        fields = {"provider_state": state[:24], "provider_bill_no": bill_no or locked.provider_bill_no}
        if paid is None:
            for name, value in fields.items():
                setattr(locked, name, value)
            locked.next_attempt_at = next_attempt_at(locked.attempts)
            locked.save(update_fields=[*fields, "next_attempt_at"])
        else:
            system = Actor.system("payout")
            finish_withdrawal(locked, merchant=withdrawal.merchant, actor=system, paid=paid, reason=reason, **fields)
        return locked


def transfer_due(provider: str, merchant_id: int | None = None) -> list[int]:
    """The provider's withdrawals that are not final (approved, processing) and due for their next step."""
    qs = Withdrawal.objects.unscoped().filter(status__in=[W.APPROVED, W.PROCESSING], provider=provider)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    return list(qs.exclude(next_attempt_at__gt=timezone.now()).order_by("pk").values_list("pk", flat=True))
