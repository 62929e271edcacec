"""Withdrawals paid by Alipay transfer through the Alipay stub: every answer the gateway gives, and recovery
from unknown outcomes and crashes that never sends money twice (the stub's real transfers against the
ledger)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import PERIODIC_TASKS
from distribution.models import OutboxMessage
from distributors.models import Distributor
from ledger.checks import ledger_problems
from settlements import tasks
from settlements.errors import IdentityNotVerified, PayoutAccountMissing
from settlements.models import AlipayAccount, PayoutAccount, Withdrawal
from settlements.services import alipay_transfers, withdrawals
from settlements.services.payout_accounts import payout_account_add, payout_account_remove
from tests.builders.settlements import (
    ACTOR,
    ALIPAY_LOGIN,
    ALIPAY_NAME,
    SELLER_EARNS,
    alipay_account,
    alipay_payee,
    balances,
)
from tests.stubs.alipay.server import AlipayStub, make_alipay_keys

pytestmark = pytest.mark.django_db
LOGIN, NAME = ALIPAY_LOGIN, ALIPAY_NAME
EARNED = 2 * SELLER_EARNS  # 48.00 available after two orders


@pytest.fixture
def stub(merchant):
    config, keys = make_alipay_keys()
    with AlipayStub(keys) as server:
        alipay_account(merchant, server, config)
        server.user_id = server.add_account(LOGIN, NAME)
        yield server


@pytest.fixture
def payee(stub, merchant):
    return alipay_payee(merchant)


def request(merchant, payee, amount=3000):
    return withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=payee, amount=amount)


def due_now(pk):
    """Skip the back-off wait (the reconciler would come back later)."""
    Withdrawal.objects.unscoped().filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def paid_once(stub, merchant, payee, w, amount=3000):
    """The withdrawal is paid, exactly one real transfer moved the money, and the books agree."""
    w.refresh_from_db()
    assert (w.status, w.provider_state) == ("paid", "SUCCESS")
    assert stub.executed_transfers() == {w.out_bill_no: 1}
    assert stub.received_by() == {stub.user_id: amount}
    assert balances(merchant, payee) == {
        "pending": 0,
        "available": EARNED - amount,
        "withdrawing": 0,
        "paid_out": amount,
        "receivable": 0,
    }
    assert {r["number"] for r in stub.request_log("transfer")} == {w.out_bill_no}
    assert ledger_problems(merchant.pk) == []


def money_back(stub, merchant, payee, w, reason):
    w.refresh_from_db()
    assert (w.status, w.failure_reason) == ("failed", reason)
    assert stub.received_by() == {}
    assert balances(merchant, payee)["available"] == EARNED and balances(merchant, payee)["withdrawing"] == 0


def test_an_approved_withdrawal_is_queued_for_the_alipay_task_and_paid(stub, merchant, payee):
    w = request(merchant, payee)
    assert w.status == "approved" and w.out_bill_no == f"W{merchant.pk}X{w.pk}"
    assert OutboxMessage.objects.filter(task="settlements.pay_alipay_withdrawal", args=[w.pk]).exists()
    assert tasks.pay_alipay_withdrawal(w.pk) == "paid"
    paid_once(stub, merchant, payee, w)
    sent = stub.request_log("transfer")[0]["biz"]
    assert sent == {
        "out_biz_no": w.out_bill_no,
        "trans_amount": "30.00",
        "product_code": "TRANS_ACCOUNT_NO_PWD",
        "biz_scene": "DIRECT_TRANSFER",
        "order_title": "分销佣金提现",
        "payee_info": {"identity": LOGIN, "identity_type": "ALIPAY_LOGON_ID", "name": NAME},
        "remark": "commission withdrawal",
    }
    assert alipay_transfers.alipay_withdrawal_pay(w.pk).status == "paid"  # a second run does nothing
    assert len(stub.request_log()) == 1


def test_an_alipay_user_id_is_sent_as_one(stub, merchant, payee):
    payout_account_add(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=payee.pk,
        kind="alipay",
        identity=stub.user_id,
        identity_type="ALIPAY_USER_ID",
        real_name=NAME,
        make_default=True,
    )
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    assert w.status == "paid"
    assert stub.request_log("transfer")[0]["biz"]["payee_info"]["identity_type"] == "ALIPAY_USER_ID"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda stub: setattr(stub, "payer_balance", 2999), "PAYER_BALANCE_NOT_ENOUGH: 付款方余额不足"),
        (
            lambda stub: stub.add_account(LOGIN, "王小红"),
            "PAYEE_USER_INFO_ERROR: 支付宝账号和姓名不匹配，请确认姓名是否正确",
        ),
        (lambda stub: stub.add_account(LOGIN, NAME, frozen=True), "PAYEE_ACCOUNT_STATUS_ERROR: 收款方账号异常"),
        (lambda stub: stub.accounts.clear(), "PAYEE_NOT_EXIST: 收款用户不存在"),
    ],
    ids=["insufficient-funds", "name-mismatch", "account-frozen", "no-such-account"],
)
def test_a_final_refusal_is_confirmed_by_the_query_then_the_money_returns(stub, merchant, payee, setup, code):
    setup(stub)
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    money_back(stub, merchant, payee, w, code)
    assert w.provider_state == "REFUSED" and stub.executed_transfers() == {}
    assert [r["endpoint"] for r in stub.request_log()] == ["transfer", "query"]  # asked before settling


def test_a_refusal_whose_query_finds_the_transfer_paid_is_paid_once(stub, merchant, payee):
    """The same number with other details is refused; the query finds the first order, which succeeded."""
    w = request(merchant, payee)
    stub.fail_next("transfer", "timeout_after_success")
    alipay_transfers.alipay_withdrawal_pay(w.pk)
    Withdrawal.objects.unscoped().filter(pk=w.pk).update(provider_state="")  # as if our record were lost
    stub.orders[w.out_bill_no].fingerprint = ("other details",)  # so Alipay refuses the number sent again
    w = alipay_transfers.alipay_withdrawal_pay(w.pk)
    assert [(r["endpoint"], r["status"]) for r in stub.request_log()] == [
        ("transfer", "dropped"),
        ("transfer", 200),
        ("query", 200),
    ]
    paid_once(stub, merchant, payee, w)


@pytest.mark.parametrize(
    "mode", ["timeout_after_success", "unknown_after", "system_busy_after", "unknown_code", "unsigned", "forged"]
)
def test_an_unknown_outcome_is_queried_with_the_same_number_and_pays_once(stub, merchant, payee, mode):
    stub.fail_next("transfer", mode)
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state) == ("processing", "UNKNOWN")
    assert w.next_attempt_at > timezone.now() and stub.executed_transfers() == {w.out_bill_no: 1}
    assert alipay_transfers.alipay_withdrawals_reconcile(merchant.pk) == 0  # not due yet: the back-off holds
    due_now(w.pk)
    assert alipay_transfers.alipay_withdrawals_reconcile(merchant.pk) == 1
    assert [r["endpoint"] for r in stub.request_log()] == ["transfer", "query"]
    paid_once(stub, merchant, payee, w)


@pytest.mark.parametrize("mode", ["timeout_before", "unknown", "system_busy"])
def test_a_transfer_that_never_happened_is_sent_again_under_the_same_number(stub, merchant, payee, mode):
    stub.fail_next("transfer", mode)
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state) == ("processing", "UNKNOWN") and stub.executed_transfers() == {}
    due_now(w.pk)
    w = alipay_transfers.alipay_withdrawal_pay(w.pk)  # the query: no such order; send it again at once
    assert (w.provider_state, w.failure_reason) == ("", "ORDER_NOT_EXIST") and w.next_attempt_at <= timezone.now()
    assert alipay_transfers.alipay_withdrawals_reconcile(merchant.pk) == 1
    assert [r["endpoint"] for r in stub.request_log()] == ["transfer", "query", "transfer"]
    paid_once(stub, merchant, payee, w)


def test_a_query_that_fails_keeps_asking_and_never_resends(stub, merchant, payee):
    stub.fail_next("transfer", "timeout_after_success")
    stub.fail_next("query", "system_busy")
    stub.fail_next("query", "timeout_before")
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    for reason in ("SYSTEM_ERROR", "no answer"):
        due_now(w.pk)
        w = alipay_transfers.alipay_withdrawal_pay(w.pk)
        assert (w.status, w.provider_state) == ("processing", "UNKNOWN") and reason in w.failure_reason
    assert w.attempts == 3 and w.next_attempt_at - timezone.now() > timedelta(minutes=9)  # backing off
    due_now(w.pk)
    alipay_transfers.alipay_withdrawal_pay(w.pk)
    assert [r["endpoint"] for r in stub.request_log()] == ["transfer", "query", "query", "query"]
    paid_once(stub, merchant, payee, w)


def test_a_refusal_whose_query_is_lost_is_settled_only_once_the_query_answers(stub, merchant, payee):
    stub.payer_balance = 0
    stub.fail_next("query", "unknown")
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state, w.failure_reason) == (
        "processing",
        "REFUSING",
        "PAYER_BALANCE_NOT_ENOUGH: 付款方余额不足",
    )
    due_now(w.pk)
    w = alipay_transfers.alipay_withdrawal_pay(w.pk)
    money_back(stub, merchant, payee, w, "PAYER_BALANCE_NOT_ENOUGH: 付款方余额不足")


def test_a_dealing_transfer_is_asked_about_until_it_succeeds(stub, merchant, payee):
    stub.fail_next("transfer", "dealing", polls=2)
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state) == ("processing", "DEALING") and w.provider_bill_no
    for _ in range(2):
        due_now(w.pk)
        assert alipay_transfers.alipay_withdrawal_pay(w.pk).provider_state == "DEALING"
    due_now(w.pk)
    alipay_transfers.alipay_withdrawal_pay(w.pk)
    paid_once(stub, merchant, payee, w)


def test_a_dealing_transfer_that_fails_returns_the_money(stub, merchant, payee):
    stub.fail_next("transfer", "fail_later", polls=0, fail_reason="收款方账户异常")
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    due_now(w.pk)
    w = alipay_transfers.alipay_withdrawal_pay(w.pk)
    money_back(stub, merchant, payee, w, "收款方账户异常")
    assert w.provider_state == "FAIL" and stub.payer_balance == 100_000_000


def test_a_query_that_reports_another_amount_settles_nothing(stub, merchant, payee):
    stub.fail_next("transfer", "timeout_after_success")
    w = alipay_transfers.alipay_withdrawal_pay(request(merchant, payee).pk)
    stub.orders[w.out_bill_no].amount = 2999
    due_now(w.pk)
    w = alipay_transfers.alipay_withdrawal_pay(w.pk)
    assert (w.status, w.failure_reason) == ("processing", "AMOUNT_MISMATCH: Alipay says 2999")
    assert balances(merchant, payee)["withdrawing"] == 3000


def test_a_crash_between_alipays_success_and_our_commit_is_recovered_by_the_reconciler(
    stub, merchant, payee, monkeypatch
):
    """The worker dies after Alipay answered SUCCESS and before the payout was committed: the stored
    number is queried by the beat job's task, and the money moves once."""

    def killed(*args, **kwargs):
        raise SystemExit("worker killed before recording")

    w = request(merchant, payee)
    monkeypatch.setattr(alipay_transfers, "transfer_record", killed)
    with pytest.raises(SystemExit):
        alipay_transfers.alipay_withdrawal_pay(w.pk)
    monkeypatch.undo()
    w.refresh_from_db()
    assert (w.status, w.provider_state) == ("processing", "SENT")  # stored before the call
    assert stub.executed_transfers() == {w.out_bill_no: 1} and balances(merchant, payee)["paid_out"] == 0
    due_now(w.pk)  # the crashed step left no back-off; make sure the job does not wait for one
    spec = PERIODIC_TASKS["alipay-transfers-reconcile"]
    assert spec["task"] == tasks.reconcile_alipay_transfers.name
    assert tasks.reconcile_alipay_transfers() == 1
    assert [r["endpoint"] for r in stub.request_log()] == ["transfer", "query"]
    paid_once(stub, merchant, payee, w)
    assert tasks.reconcile_alipay_transfers() == 0  # nothing left that is not final


def test_a_withdrawal_by_alipay_needs_an_account_and_a_verified_identity(stub, merchant, payee):
    Distributor.objects.for_merchant(merchant).filter(pk=payee.pk).update(identity_verified_at=None)
    with pytest.raises(IdentityNotVerified):
        request(merchant, Distributor.objects.for_merchant(merchant).get(pk=payee.pk))
    Distributor.objects.for_merchant(merchant).filter(pk=payee.pk).update(identity_verified_at=timezone.now())
    for account in PayoutAccount.objects.for_merchant(merchant).filter(distributor=payee, kind="alipay"):
        payout_account_remove(merchant=merchant, actor=ACTOR, account_id=account.pk, distributor_id=payee.pk)
    with pytest.raises(PayoutAccountMissing):
        request(merchant, Distributor.objects.for_merchant(merchant).get(pk=payee.pk))
    assert balances(merchant, payee)["available"] == EARNED and not Withdrawal.objects.for_merchant(merchant).exists()


def test_a_payee_lost_before_the_first_call_fails_without_calling(stub, merchant, payee):
    w = request(merchant, payee)
    Distributor.objects.for_merchant(merchant).filter(pk=payee.pk).update(identity_verified_at=None)
    money_back(
        stub,
        merchant,
        payee,
        alipay_transfers.alipay_withdrawal_pay(w.pk),
        "PAYEE_MISSING: no Alipay account or verified real name",
    )
    assert stub.request_log() == []


def test_a_wechat_withdrawal_is_not_touched_by_the_alipay_driver(stub, merchant, payee):
    w = request(merchant, payee)
    Withdrawal.objects.unscoped().filter(pk=w.pk).update(provider="wechat_transfer")
    assert alipay_transfers.alipay_withdrawal_pay(w.pk).status == "approved"
    assert alipay_transfers.alipay_withdrawals_reconcile() == 0 and stub.request_log() == []
    Withdrawal.objects.unscoped().filter(pk=w.pk).update(provider="alipay_transfer")
    assert alipay_transfers.alipay_withdrawal_pay(w.pk).status == "paid"


def test_a_merchant_without_an_alipay_app_waits_without_sending_and_pays_once_it_is_entered(stub, merchant, payee):
    w = request(merchant, payee)
    account = AlipayAccount.objects.for_merchant(merchant).get()
    account.delete()
    w = alipay_transfers.alipay_withdrawal_pay(w.pk)
    assert (w.status, w.provider_state, w.failure_reason) == ("processing", "", "provider_not_configured")
    assert stub.request_log() == [] and balances(merchant, payee)["withdrawing"] == 3000
    account.pk = None
    account.save()
    due_now(w.pk)
    assert alipay_transfers.alipay_withdrawals_reconcile(merchant.pk) == 1
    paid_once(stub, merchant, payee, w)
