"""Settlement splits through the WeChat Pay stub: every answer, and recovery from unknown outcomes that
never sends money twice (withdrawal transfers: test_transfers.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from distributors.models import Distributor
from ledger.checks import ledger_problems
from merchants.services.programs import program_update
from settlements.models import SplitReceiver, SplitRequest
from settlements.services import splits
from tests.builders.settlements import (
    ACTOR,
    INVITER_EARNS,
    SELLER_EARNS,
    balances,
    drive_splits,
    due_order,
    settle,
    shop_with_due_commission,
    wechat_account,
)
from tests.stubs.wechatpay.keys import make_key_sets
from tests.stubs.wechatpay.server import WechatPayStub

pytestmark = pytest.mark.django_db


@pytest.fixture
def stub(merchant):
    config, keys = make_key_sets()
    with WechatPayStub(keys) as server:
        wechat_account(merchant, config, server.base_url)
        yield server


def due_now(model, pk):
    """Skip the back-off wait (the reconciler would come back later)."""
    model.objects.unscoped().filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


# --- profit sharing at settlement ------------------------------------------------------------------------------
@pytest.fixture
def sharing(stub, merchant):
    people = shop_with_due_commission(merchant)  # o-1 has no payment id: it stays in the wallet
    program_update(merchant=merchant, actor=ACTOR, changes={"settlement_provider": "wechat_profitsharing"})
    for who in ("seller", "boss"):
        Distributor.objects.for_merchant(merchant).filter(pk=people[who].pk).update(payout_openid=f"o-{who}")
    # paid 10 days ago: due after the 7 after-sales days, well inside WeChat's 30-day window
    paid_at = timezone.now().replace(microsecond=0) - timedelta(days=10)
    due_order(
        merchant, people["seller"].invite_code, "paid-by-wechat", paid_at=paid_at, payment_transaction_id="4200000001"
    )
    return people


def test_settlement_splits_due_commission_straight_to_the_distributors(stub, merchant, sharing):
    run = settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert split.status == "processing"  # WeChat splits asynchronously: the reconciler queries it
    assert balances(merchant, sharing["seller"])["withdrawing"] == SELLER_EARNS
    drive_splits(merchant)
    split.refresh_from_db()
    assert (split.status, split.transaction_id, split.out_order_no) == (
        "finished",
        "4200000001",
        f"PS{merchant.pk}R{run.pk}O{split.order_id}",
    )
    assert stub.executed_splits() == {split.out_order_no: 1}
    assert stub.received_by_account() == {"o-seller": SELLER_EARNS, "o-boss": INVITER_EARNS}
    # the split order's commission is paid out; the other order's stays available
    assert balances(merchant, sharing["seller"]) == {
        "pending": 0,
        "available": SELLER_EARNS,
        "withdrawing": 0,
        "paid_out": SELLER_EARNS,
        "receivable": 0,
    }
    assert balances(merchant, sharing["boss"])["paid_out"] == INVITER_EARNS
    assert ledger_problems(merchant.pk) == []


def test_a_closed_receiver_gets_the_money_back_in_the_wallet(stub, merchant, sharing):
    stub.fail_next("split", "receiver_closed", receiver="o-boss", fail_reason="ACCOUNT_ABNORMAL")
    settle(merchant)
    drive_splits(merchant)
    boss = SplitReceiver.objects.for_merchant(merchant).get(account="o-boss")
    assert (boss.result, boss.fail_reason) == ("closed", "ACCOUNT_ABNORMAL")
    assert balances(merchant, sharing["boss"]) == {
        "pending": 0,
        "available": 2 * INVITER_EARNS,
        "withdrawing": 0,
        "paid_out": 0,
        "receivable": 0,
    }
    assert balances(merchant, sharing["seller"])["paid_out"] == SELLER_EARNS


def test_a_processing_split_finishes_on_a_later_query(stub, merchant, sharing):
    stub.fail_next("split", "processing", polls=1)
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert split.status == "processing"
    assert balances(merchant, sharing["seller"])["withdrawing"] == SELLER_EARNS
    due_now(SplitRequest, split.pk)
    splits.splits_dispatch(merchant_id=merchant.pk)
    due_now(SplitRequest, split.pk)
    splits.splits_dispatch(merchant_id=merchant.pk)
    split.refresh_from_db()
    assert split.status == "finished" and stub.executed_splits() == {split.out_order_no: 1}
    assert balances(merchant, sharing["seller"])["paid_out"] == SELLER_EARNS


def test_a_lost_split_answer_is_queried_and_split_once(stub, merchant, sharing):
    stub.fail_next("split", "timeout")
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert split.status == "unknown"
    due_now(SplitRequest, split.pk)
    splits.splits_dispatch()
    drive_splits(merchant)
    split.refresh_from_db()
    assert split.status == "finished" and stub.executed_splits() == {split.out_order_no: 1}


def test_a_refused_split_returns_everything_to_the_wallet(stub, merchant, sharing):
    stub.fail_next("split", "param_error")
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert split.status == "failed"
    assert balances(merchant, sharing["seller"]) == {
        "pending": 0,
        "available": 2 * SELLER_EARNS,
        "withdrawing": 0,
        "paid_out": 0,
        "receivable": 0,
    }
    assert ledger_problems(merchant.pk) == []


def test_a_split_too_soon_after_payment_is_retried_with_the_same_number(stub, merchant, sharing):
    stub.fail_next("split", "order_not_ready")
    settle(merchant)
    split = SplitRequest.objects.for_merchant(merchant).get()
    assert split.status == "created" and split.last_error == "INVALID_REQUEST"
    drive_splits(merchant)
    split.refresh_from_db()
    assert split.status == "finished"
    assert {r["number"] for r in stub.request_log("split")} == {split.out_order_no}
