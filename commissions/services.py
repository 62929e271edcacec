"""Commission lines: made when an order is paid, confirmed when it completes, reversed by refunds,
settled by settlement runs, forfeited by the merchant's decision.

These functions are the only writers of commission lines, and each books its change in the ledger in the
same transaction (commissions.booking), so no caller can change a line and forget the money. The line
states are declared once (commissions.models.LINE_STATES).

All functions are idempotent: calling them again with the same order state changes nothing, which is
what makes replayed and duplicated order events harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from commissions import engine
from commissions.booking import LineChange, book_forfeit, book_line_changes, book_settlement
from commissions.models import LINE_STATES, CommissionLine
from commissions.selectors import due_lines
from distribution import rates
from distribution.audit import audit_record
from distribution.auth import Actor
from distributors.models import Distributor
from ledger import services as ledger
from ledger.models import Account
from merchants.models import DistributionProgram, Merchant

if TYPE_CHECKING:  # orders sits above commissions: it calls these with its rows
    from orders.models import Order, OrderItem

L = CommissionLine


def beneficiary_rows(order: Order, depth: int) -> list[Distributor | None]:
    """Depth 1 is the attributed distributor, then their upline from the row's own path: one query.
    None where a row is missing."""
    seller = order.distributor  # None without a query when the order has no distributor
    if seller is None:
        return []
    chain = [seller.pk, *seller.upline_ids(depth - 1)]
    rows = Distributor.objects.for_merchant(order.merchant_id).select_related("level").in_bulk(chain)
    return [rows.get(distributor_id) for distributor_id in chain]


def as_beneficiary(d: Distributor | None) -> engine.Beneficiary | None:
    if d is None:
        return None
    level_rates = rates.by_depth(d.level.commission_rates) if d.level is not None else {}
    return engine.Beneficiary(id=d.pk, active=d.is_active, level_rates=level_rates)


def engine_items(items: list[OrderItem]) -> list[engine.Item]:
    out = []
    for item in items:
        product = item.product
        overrides = rates.by_depth(product.commission_rates)  # the columns read once, not once a depth
        out.append(
            engine.Item(
                id=item.pk,
                paid_amount=item.paid_amount,
                quantity=item.quantity,
                distribution_enabled=product.distribution_enabled,
                overrides=overrides,
            )
        )
    return out


def commission_create_for_order(
    *, order: Order, items: list[OrderItem], program: DistributionProgram, order_is_new: bool = False
) -> list[CommissionLine]:
    """Make the order's lines (pending) if they do not exist yet; returns the lines made now, with their
    order item and beneficiary attached (`accruals()` gives what the ledger books for them).

    `order_is_new`: the order was inserted in this transaction, so it cannot have lines yet.
    """
    people = beneficiary_rows(order, program.commission_depth)
    drafts = engine.calculate(
        engine_items(items),
        [as_beneficiary(d) for d in people],
        program_rates={d: program.rate_bps_for_depth(d) for d in (1, 2, 3)},
        cap_bps=program.commission_cap_bps,
        self_purchase=order.self_purchase,
        self_purchase_allowed=program.self_purchase_commission,
    )
    if not drafts:
        return []
    lines = [
        L(
            merchant_id=order.merchant_id,
            order=order,
            order_item_id=d.item_id,
            beneficiary_id=d.beneficiary_id,
            depth=d.depth,
            kind=L.Kind.COMMISSION,
            status=L.Status.PENDING,
            currency=order.currency,
            base_amount=d.base_amount,
            rate_source=d.rate_source,
            rate_mode=d.rate_mode,
            rate_value=d.rate_value,
            uncapped_amount=d.uncapped_amount,
            amount=d.amount,
        )
        for d in drafts
    ]
    if not order_is_new:
        existing = set(
            L.objects.for_merchant(order.merchant_id)
            .filter(order=order, kind=L.Kind.COMMISSION)
            .values_list("order_item_id", "depth", "beneficiary_id")
        )
        lines = [line for line in lines if (line.order_item_id, line.depth, line.beneficiary_id) not in existing]
        if not lines:
            return []
    created = L.objects.bulk_create(lines)
    items_by_id = {item.pk: item for item in items}
    people_by_id = {d.pk: d for d in people if d is not None}
    for line in created:
        line.order_item = items_by_id[line.order_item_id]
        line.beneficiary = people_by_id[line.beneficiary_id]
    accrued = [LineChange(line.pk, line.beneficiary_id, "accrue", line.amount, line.amount) for line in created]
    book_line_changes(merchant_id=order.merchant_id, currency=order.currency, changes=accrued)
    return created


def commission_confirm_for_order(*, order: Order, completed_at: datetime, after_sales_days: int) -> int:
    """The order completed: its pending lines wait out the after-sales window, then may settle (nothing
    moves in the ledger: the money stays pending until a run settles it)."""
    return LINE_STATES.apply_many(
        L.objects.for_merchant(order.merchant_id).filter(order=order),
        L.Status.CONFIRMED,
        confirmed_at=completed_at,
        unlock_at=completed_at + timedelta(days=after_sales_days),
        updated_at=timezone.now(),
    )


def commission_apply_refunds(*, order: Order, items: dict[int, OrderItem]) -> list[LineChange]:
    """Bring every line in step with what has been refunded on its item.

    Before settlement the line itself is reversed (wholly or in part); after settlement the extra is
    taken back on a clawback line, which the ledger books at once (it is `settled` from birth).
    Books and returns only what changed now.
    """
    now = timezone.now()
    changes: list[LineChange] = []
    lines = list(
        L.objects.for_merchant(order.merchant_id)
        .select_for_update()
        .filter(order=order, kind=L.Kind.COMMISSION)
        .order_by("pk")
    )
    clawbacks = {
        (c.order_item_id, c.depth, c.beneficiary_id): c
        for c in L.objects.for_merchant(order.merchant_id)
        .select_for_update()
        .filter(order=order, kind=L.Kind.CLAWBACK)
        .order_by("pk")
    }
    for line in lines:
        item = items[line.order_item_id]
        keep = engine.kept_after_refund(line.amount, item.paid_amount, item.refunded_amount)
        target_taken = line.amount - keep
        if line.status != L.Status.SETTLED:
            delta = target_taken - line.reversed_amount
            if delta <= 0:
                continue
            line.reversed_amount = target_taken
            fields = ["reversed_amount", "updated_at"]
            if keep == 0:
                LINE_STATES.check(line.status, L.Status.REVERSED)
                line.status = L.Status.REVERSED
                line.reversed_at = now
                fields += ["status", "reversed_at"]
            line.save(update_fields=fields)
            changes.append(LineChange(line.pk, line.beneficiary_id, "reverse", -delta, target_taken))
            continue
        key = (line.order_item_id, line.depth, line.beneficiary_id)
        clawback = clawbacks.get(key)
        owed_back = target_taken - line.reversed_amount  # taken after settlement, in total
        already = -clawback.amount if clawback else 0
        delta = owed_back - already
        if delta <= 0:
            continue
        if clawback is None:
            clawback = L.objects.create(
                merchant_id=order.merchant_id,
                order=order,
                order_item_id=line.order_item_id,
                beneficiary_id=line.beneficiary_id,
                depth=line.depth,
                kind=L.Kind.CLAWBACK,
                status=L.Status.SETTLED,
                currency=line.currency,
                base_amount=line.base_amount,
                rate_source=L.RateSource.REFUND,
                rate_mode=line.rate_mode,
                rate_value=line.rate_value,
                uncapped_amount=-owed_back,
                amount=-owed_back,
                unlock_at=now,
                confirmed_at=now,
                settled_at=now,
            )
        else:
            clawback.amount = clawback.uncapped_amount = -owed_back
            clawback.save(update_fields=["amount", "uncapped_amount", "updated_at"])
        changes.append(LineChange(clawback.pk, line.beneficiary_id, "clawback", -delta, owed_back))
    book_line_changes(merchant_id=order.merchant_id, currency=order.currency, changes=changes)
    return changes


@dataclass(frozen=True)
class SettledChunk:
    """What one chunk of a settlement run settled, per beneficiary in id order."""

    net: dict[int, int]  # beneficiary → net amount settled
    lines: int
    repaid: dict[int, int]  # beneficiary → what repaid their receivable first
    last_beneficiary: int


def commission_settle_due(
    *, merchant_id: int, currency: str, run_id: int, as_of: datetime, from_beneficiary: int, beneficiaries: int
) -> SettledChunk | None:
    """Settle the due lines (commissions.selectors.due_lines) of the next `beneficiaries` beneficiaries
    from id `from_beneficiary` on, and book them (pending → available, receivables repaid first). None
    when nothing is due from there. Lines are locked in id order, as refunds lock them, so the two cannot
    deadlock; a line a refund reversed meanwhile is no longer due and is not picked."""
    due = due_lines(merchant_id, as_of)
    picked = list(
        due.filter(beneficiary_id__gte=from_beneficiary)
        .order_by("beneficiary_id")
        .values_list("beneficiary_id", flat=True)
        .distinct()[:beneficiaries]
    )
    if not picked:
        return None
    locked_sql, params = (
        due.filter(beneficiary_id__gte=picked[0], beneficiary_id__lte=picked[-1])
        .order_by("pk")
        .select_for_update()
        .values("pk")
        .query.sql_with_params()
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH picked (id) AS ({locked_sql}),
                settled AS (
                    UPDATE {L._meta.db_table} l
                       SET status = %s, settled_at = %s, settlement_run_id = %s, updated_at = %s
                      FROM picked WHERE l.id = picked.id
                    RETURNING l.beneficiary_id, l.amount - l.reversed_amount AS net)
                SELECT beneficiary_id, sum(net)::bigint, count(*) FROM settled GROUP BY 1 ORDER BY 1""",  # noqa: S608
            [*params, L.Status.SETTLED, now, run_id, now],
        )
        rows = cursor.fetchall()
    net = {beneficiary: amount for beneficiary, amount, _ in rows}
    repaid = book_settlement(merchant_id=merchant_id, currency=currency, run_id=run_id, settled=net)
    return SettledChunk(net=net, lines=sum(n for _, _, n in rows), repaid=repaid, last_beneficiary=picked[-1])


@transaction.atomic
def commission_forfeit(*, merchant: Merchant, actor: Actor, distributor_id: int, reason: str) -> dict[str, int]:
    """Forfeit a distributor's commission (blacklisting under the forfeit policy, or the merchant's
    decision on frozen commission): every unsettled line (pending or confirmed) is reversed and the
    available balance goes back to the merchant, ledgered. Money already withdrawing or paid out is not
    touched."""
    distributor = Distributor.objects.for_merchant(merchant).select_for_update().get(pk=distributor_id)
    lines = list(
        L.objects.for_merchant(merchant)
        .select_for_update()
        .filter(
            beneficiary=distributor,
            kind=L.Kind.COMMISSION,
            status__in=LINE_STATES.sources(L.Status.REVERSED),
        )
        .order_by("pk")
    )
    now = timezone.now()
    changes = []
    for line in lines:
        delta = line.amount - line.reversed_amount
        LINE_STATES.apply(
            L.objects.for_merchant(merchant),
            line.pk,
            L.Status.REVERSED,
            reversed_amount=line.amount,
            reversed_at=now,
            updated_at=now,
        )
        if delta:
            changes.append(LineChange(line.pk, distributor.pk, "reverse", -delta, line.amount))
    book_line_changes(merchant_id=merchant.pk, currency=merchant.currency, changes=changes)
    available = ledger.locked_balance(merchant.pk, distributor.pk, Account.Kind.AVAILABLE, merchant.currency)
    event = audit_record(
        merchant=merchant,
        actor=actor,
        action="distributor.commission_forfeited",
        obj=distributor,
        reason=reason,
        changes={
            "lines_reversed": [0, len(lines)],
            "unsettled": [sum(-c.delta for c in changes), 0],
            "available": [available, 0],
        },
    )
    book_forfeit(
        merchant_id=merchant.pk,
        currency=merchant.currency,
        distributor_id=distributor.pk,
        reference_id=event.pk,
        amount=available,
    )
    return {"lines_reversed": len(lines), "unsettled": sum(-c.delta for c in changes), "available": available}
