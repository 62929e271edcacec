"""The ledger: balanced, immutable, projections that match their postings, and check_ledger."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from ledger import services as ledger
from ledger.checks import ledger_problems
from ledger.models import Account, LedgerTransaction, Posting
from ledger.services import DISTRIBUTOR, MERCHANT, Txn
from tests.builders.settlements import (
    INVITER_EARNS,
    SELLER_EARNS,
    balances,
    bank_card,
    due_order,
    settle,
    shop_with_due_commission,
)

pytestmark = pytest.mark.django_db
A = Account.Kind


def test_a_paid_order_accrues_pending_commission(merchant):
    people = shop_with_due_commission(merchant)
    assert balances(merchant, people["seller"])["pending"] == SELLER_EARNS
    assert balances(merchant, people["boss"])["pending"] == INVITER_EARNS
    expense = ledger.balance(merchant.pk, MERCHANT, merchant.pk, A.COMMISSION_EXPENSE, "CNY")
    assert expense == SELLER_EARNS + INVITER_EARNS
    txns = LedgerTransaction.objects.for_merchant(merchant).filter(kind="accrue")
    assert txns.count() == 4 and {t.postings.count() for t in txns} == {2}
    assert ledger_problems(merchant.pk) == []


def test_reversals_and_replays_book_exactly_once(merchant):
    from orders.services import intake

    people = shop_with_due_commission(merchant)
    data = {"refund_id": "r1", "items": [{"line_id": "L1", "amount": 9500}]}
    for _ in range(3):
        intake.order_apply_event(merchant=merchant, external_id="o-1", type_="refunded", data=data, source="api")
    # L1 keeps half: seller 19.00 -> 9.50, boss 9.50 -> 4.75
    assert balances(merchant, people["seller"])["pending"] == SELLER_EARNS - 950
    assert balances(merchant, people["boss"])["pending"] == INVITER_EARNS - 475
    assert LedgerTransaction.objects.for_merchant(merchant).filter(kind="reverse").count() == 2
    assert ledger_problems(merchant.pk) == []


def test_postings_and_transactions_cannot_be_changed_or_deleted(merchant):
    shop_with_due_commission(merchant)
    posting = Posting.objects.for_merchant(merchant).first()
    for statement in (
        f"UPDATE settlements_posting SET amount = 0 WHERE id = {posting.pk}",
        f"DELETE FROM settlements_posting WHERE id = {posting.pk}",
        f"UPDATE settlements_ledgertransaction SET kind = 'x' WHERE id = {posting.transaction_id}",
    ):
        with pytest.raises(IntegrityError, match="immutable"), transaction.atomic(), connection.cursor() as c:
            c.execute(statement)


def test_an_unbalanced_transaction_is_refused_at_commit(merchant):
    account = Account.objects.create(
        merchant=merchant, owner_kind="merchant", owner_id=merchant.pk, kind="fee_income", currency="CNY"
    )
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        txn = LedgerTransaction.objects.create(merchant=merchant, reference="bad", kind="accrue")
        Posting.objects.create(merchant=merchant, transaction=txn, account=account, amount=5, currency="CNY")
        Posting.objects.create(merchant=merchant, transaction=txn, account=account, amount=-4, currency="CNY")
        with connection.cursor() as c:
            c.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError, match="at least 2"), transaction.atomic():
        LedgerTransaction.objects.create(merchant=merchant, reference="lonely", kind="accrue")
        with connection.cursor() as c:
            c.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_same_reference_is_posted_once_and_unbalanced_input_is_refused(merchant):
    txn = (
        Txn("t-1", "accrue")
        .debit(MERCHANT, merchant.pk, A.COMMISSION_EXPENSE, 100)
        .credit(DISTRIBUTOR, 999, A.PENDING, 100)
    )
    assert ledger.post(merchant.pk, "CNY", [txn]) == 1
    assert ledger.post(merchant.pk, "CNY", [txn]) == 0
    assert ledger.distributor_balances(merchant.pk, 999, "CNY")["pending"] == 100
    with pytest.raises(ValueError, match="does not balance"):
        ledger.post(merchant.pk, "CNY", [Txn("t-2", "accrue").debit(DISTRIBUTOR, 999, A.PENDING, 1)])


def test_no_spendable_balance_can_go_below_zero(merchant):
    overdraw = (
        Txn("t-3", "withdrawal_reserve").debit(DISTRIBUTOR, 5, A.AVAILABLE, 1).credit(DISTRIBUTOR, 5, A.WITHDRAWING, 1)
    )
    with pytest.raises(IntegrityError, match="account_spendable_never_negative"), transaction.atomic():
        ledger.post(merchant.pk, "CNY", [overdraw])


def test_clawback_takes_available_first_then_books_a_receivable_repaid_by_later_earnings(merchant):
    from orders.services import intake

    people = shop_with_due_commission(merchant)
    settle(merchant)
    seller = people["seller"]
    assert balances(merchant, seller)["available"] == SELLER_EARNS
    # refund everything after settlement: 24.00 clawed back from 24.00 available
    intake.order_apply_event(
        merchant=merchant, external_id="o-1", type_="refunded", source="api", data={"refund_id": "r1", "amount": 24000}
    )
    assert balances(merchant, seller)["available"] == 0 and balances(merchant, seller)["receivable"] == 0
    # a second order settles, the seller withdraws nothing, then it is refunded too after spending
    due_order(merchant, seller.invite_code, "o-2")
    settle(merchant)
    assert balances(merchant, seller)["available"] == SELLER_EARNS
    # spend 20.00 of it (a withdrawal), then the order is refunded: 4.00 left to claw from, 20.00 owed
    from merchants.services.programs import program_update
    from settlements.services import withdrawals
    from tests.builders.settlements import ACTOR

    program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_requires_real_name": False})
    bank_card(merchant, seller)
    withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=seller, amount=2000)
    intake.order_apply_event(
        merchant=merchant, external_id="o-2", type_="refunded", source="api", data={"refund_id": "r1", "amount": 24000}
    )
    assert balances(merchant, seller)["available"] == 0
    assert balances(merchant, seller)["receivable"] == 2000
    # the next earnings repay the receivable first
    due_order(merchant, seller.invite_code, "o-3")
    settle(merchant)
    assert balances(merchant, seller)["receivable"] == 0
    assert balances(merchant, seller)["available"] == SELLER_EARNS - 2000
    assert ledger_problems(merchant.pk) == []


@pytest.mark.ledger_may_be_unbalanced
def test_check_ledger_finds_a_projection_that_drifted(merchant):
    people = shop_with_due_commission(merchant)
    out = io.StringIO()
    call_command("check_ledger", stdout=out)
    assert out.getvalue().strip() == "ledger ok"
    Account.objects.for_merchant(merchant).filter(owner_id=people["seller"].pk, kind="pending").update(balance=1)
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 ledger problem"):
        call_command("check_ledger", stderr=err)
    assert f"distributor {people['seller'].pk} pending) shows 1, postings say {SELLER_EARNS}" in err.getvalue()
