"""Settlement splits and withdrawal transfers through the WeChat Pay stub: every answer, and recovery
from unknown outcomes that never sends money twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from distributors.models import Distributor
from ledger.checks import ledger_problems
from merchants.services.programs import program_update
from settlements.models import SplitReceiver, SplitRequest, Withdrawal
from settlements.services import splits, transfers, withdrawals
from settlements.services.payout_accounts import wechat_openid_set
from tests.builders.distributors import VALID_ID
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


# --- withdrawals by merchant transfer ------------------------------------------------------------------------
@pytest.fixture
def payee(stub, merchant):
    """A seller with 48.00 available, a verified identity and an openid; transfers are the payout."""
    people = shop_with_due_commission(merchant, orders=2)
    settle(merchant)
    program_update(
        merchant=merchant, actor=ACTOR, changes={"payout_provider": "wechat_transfer", "withdrawal_auto_approve": True}
    )
    seller = people["seller"]
    from distributors.services.identity import distributor_identity_submit

    distributor_identity_submit(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=seller.pk,
        real_name="王小明",
        id_type="cn_resident",
        id_number=VALID_ID,
        verified=True,
    )
    wechat_openid_set(merchant=merchant, actor=ACTOR, distributor_id=seller.pk, openid="o-seller")
    return Distributor.objects.for_merchant(merchant).get(pk=seller.pk)


def request(merchant, payee, amount=3000):
    return withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=payee, amount=amount)


def test_a_transfer_that_succeeds_pays_out(stub, merchant, payee):
    w = request(merchant, payee)
    assert w.status == "approved"
    w = transfers.withdrawal_pay(w.pk)
    assert (w.status, w.provider_state) == ("paid", "SUCCESS")
    assert stub.executed_transfers() == {w.out_bill_no: 1} and stub.paid_by_openid() == {"o-seller": 3000}
    assert balances(merchant, payee) == {
        "pending": 0,
        "available": 2 * SELLER_EARNS - 3000,
        "withdrawing": 0,
        "paid_out": 3000,
        "receivable": 0,
    }
    assert ledger_problems(merchant.pk) == []


def test_a_failed_transfer_returns_the_money(stub, merchant, payee):
    stub.fail_next("transfer", "transfer_fail", fail_reason="ACCOUNT_FROZEN")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    if w.status == "processing":  # the bill is accepted, then fails: the query tells us
        due_now(Withdrawal, w.pk)
        w = transfers.withdrawal_pay(w.pk)
    assert (w.status, w.failure_reason) == ("failed", "ACCOUNT_FROZEN")
    assert balances(merchant, payee)["available"] == 2 * SELLER_EARNS and balances(merchant, payee)["withdrawing"] == 0


@pytest.mark.parametrize(
    ("mode", "state"),
    [
        ("timeout", "UNKNOWN"),  # the answer is lost: query it
        ("unsigned", "UNKNOWN"),  # an answer we cannot trust is no answer: query it
        ("system_error_after", ""),  # SYSTEM_ERROR: send the same number again (the provider says so)
    ],
)
def test_a_lost_answer_is_queried_with_the_same_number_and_pays_once(stub, merchant, payee, mode, state):
    stub.fail_next("transfer", mode)
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state) == ("processing", state)
    assert stub.executed_transfers() == {w.out_bill_no: 1}
    due_now(Withdrawal, w.pk)
    assert transfers.withdrawals_reconcile(merchant.pk) == 1
    w.refresh_from_db()
    assert w.status == "paid"
    assert stub.executed_transfers() == {w.out_bill_no: 1} and stub.paid_by_openid() == {"o-seller": 3000}
    assert {r["number"] for r in stub.request_log("transfer")} == {w.out_bill_no}


def test_a_request_that_never_arrived_is_sent_again_under_the_same_number(stub, merchant, payee):
    stub.fail_next("transfer", "timeout_before")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert w.provider_state == "UNKNOWN" and stub.executed_transfers() == {}
    due_now(Withdrawal, w.pk)
    w = transfers.withdrawal_pay(w.pk)  # query: not found; send again, same number
    assert w.provider_state == "" and w.next_attempt_at <= timezone.now()
    w = transfers.withdrawal_pay(w.pk)
    assert w.status == "paid" and stub.executed_transfers() == {w.out_bill_no: 1}
    assert {r["number"] for r in stub.request_log("transfer")} == {w.out_bill_no}


def test_a_crash_between_the_providers_success_and_our_commit_recovers_without_a_second_transfer(
    stub, merchant, payee, monkeypatch
):
    real = transfers._record

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed before recording")

    w = request(merchant, payee)
    monkeypatch.setattr(transfers, "_record", crash)
    with pytest.raises(RuntimeError):
        transfers.withdrawal_pay(w.pk)
    monkeypatch.setattr(transfers, "_record", real)
    w.refresh_from_db()
    assert (w.status, w.provider_state) == ("processing", "SENT")  # stored before the call
    assert stub.executed_transfers() == {w.out_bill_no: 1}
    w = transfers.withdrawal_pay(w.pk)  # the reconciler's next step: query, never a new bill
    assert w.status == "paid"
    assert stub.executed_transfers() == {w.out_bill_no: 1} and stub.paid_by_openid() == {"o-seller": 3000}
    assert ledger_problems(merchant.pk) == []


def test_rate_limits_and_system_errors_are_retried(stub, merchant, payee):
    stub.script("transfer", ["rate_limit", "system_error"])
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert w.status == "processing" and w.failure_reason == "FREQUENCY_LIMITED"
    due_now(Withdrawal, w.pk)
    w = transfers.withdrawal_pay(w.pk)
    assert w.status == "processing" and w.failure_reason == "SYSTEM_ERROR"
    due_now(Withdrawal, w.pk)
    assert transfers.withdrawal_pay(w.pk).status == "paid"
    assert stub.executed_transfers() == {w.out_bill_no: 1}


def test_a_transfer_waiting_for_the_user_completes_when_they_confirm(stub, merchant, payee):
    stub.fail_next("transfer", "wait_user_confirm")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state) == ("processing", "WAIT_USER_CONFIRM")
    stub.confirm_transfer(w.out_bill_no)
    due_now(Withdrawal, w.pk)
    assert transfers.withdrawal_pay(w.pk).status == "paid"


@pytest.mark.parametrize(
    ("mode", "params", "code"),
    [
        (
            "error",
            {"status": 400, "code": "INVALID_REQUEST", "message": "number exists but details differ"},
            "INVALID_REQUEST",
        ),
        ("param_error", {}, "PARAM_ERROR"),
    ],
)
def test_a_final_refusal_fails_the_withdrawal_and_returns_the_money(stub, merchant, payee, mode, params, code):
    stub.fail_next("transfer", mode, **params)
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert w.status == "failed" and w.failure_reason.startswith(code)
    assert balances(merchant, payee)["available"] == 2 * SELLER_EARNS
    assert stub.paid_by_openid() == {}


def test_the_real_name_goes_encrypted_above_2000_yuan(stub, merchant, payee):
    from tests.builders.settlements import due_order as more

    for n in range(90):  # 90 × 24.00 = 2160.00 more
        more(merchant, payee.invite_code, f"big-{n}")
    settle(merchant)
    w = transfers.withdrawal_pay(request(merchant, payee, amount=200_000).pk)
    assert w.status == "paid"
    assert stub.transfer_bill(w.out_bill_no)["user_name"] == "王小明"


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
