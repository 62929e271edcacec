"""Withdrawals paid by WeChat transfer, against the stub that answers as WeChat does: the scene and its
report infos, query-first after any refusal, the payee's confirmation and its expiry, notifications, the
30-day query window and the limits. Every test counts the bills the stub really made."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from distribution.models import AuditEvent
from distributors.models import Distributor
from distributors.services.identity import distributor_identity_submit
from ledger.checks import ledger_problems
from merchants.roles import Role
from merchants.services.programs import program_update
from settlements.errors import (
    AboveTransferMaximum,
    BelowMinimum,
    DailyLimitExceeded,
    NotFlagged,
    TransferSceneIncomplete,
)
from settlements.models import WechatPayAccount, Withdrawal
from settlements.services import transfers, withdrawals
from settlements.services.payout_accounts import wechat_openid_set
from tests.builders.distributors import VALID_ID
from tests.builders.settlements import (
    ACTOR,
    SELLER_EARNS,
    balances,
    due_order,
    settle,
    shop_with_due_commission,
    wechat_account,
)
from tests.helpers import assert_error
from tests.stubs.wechatpay.keys import make_key_sets
from tests.stubs.wechatpay.server import WechatPayStub

pytestmark = pytest.mark.django_db
COMMISSION_INFOS = [
    {"info_type": "岗位类型", "info_content": "推广员"},
    {"info_type": "报酬说明", "info_content": "分销佣金"},
]


@pytest.fixture
def stub(merchant, settings):
    settings.WECHATPAY_NOTIFY_BASE_URL = "https://api.example.com"
    config, keys = make_key_sets()
    with WechatPayStub(keys) as server:
        server.account = wechat_account(
            merchant,
            config,
            server.base_url,
            transfer_scene_id="1005",
            transfer_scene_report_infos=COMMISSION_INFOS,
            transfer_user_recv_perception="劳务报酬",
        )
        yield server


@pytest.fixture
def payee(stub, merchant):
    """A seller with 48.00 available, a verified identity and an openid; transfers are the payout."""
    people = shop_with_due_commission(merchant, orders=2)
    settle(merchant)
    program_update(
        merchant=merchant, actor=ACTOR, changes={"payout_provider": "wechat_transfer", "withdrawal_auto_approve": True}
    )
    seller = people["seller"]
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


def due_now(pk):
    """Skip the back-off wait (the reconciler would come back later)."""
    Withdrawal.objects.unscoped().filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def step(pk):
    due_now(pk)
    return transfers.withdrawal_pay(pk)


def creations(stub):
    return [(entry["number"], entry["status"]) for entry in stub.request_log("transfer")]


def notify(api, account_id, headers, body):
    """POST a notification to our endpoint with WeChat's headers, as WeChat would."""
    extra = {"HTTP_" + name.upper().replace("-", "_"): v for name, v in headers.items() if name != "Content-Type"}
    return api.anonymous().post(
        f"/api/v1/webhooks/wechatpay/{account_id}/transfers", data=body, content_type="application/json", **extra
    )


def deliver(api, stub):
    """Post every notification the stub has due to our endpoint; the answers."""
    answers = []
    for url, headers, body in stub.take_due_notifications():
        assert url == f"https://api.example.com/api/v1/webhooks/wechatpay/{stub.account.pk}/transfers"
        answers.append(notify(api, stub.account.pk, headers, body))
    return answers


AVAILABLE_AFTER_3000 = {"pending": 0, "available": 2 * SELLER_EARNS - 3000, "withdrawing": 0, "paid_out": 3000}


def money(merchant, payee):
    return {k: v for k, v in balances(merchant, payee).items() if k != "receivable"}


# --- the scene ---------------------------------------------------------------------------------------------------
def test_a_transfer_carries_the_scene_its_report_infos_the_perception_and_the_notify_url(stub, merchant, payee):
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state) == ("paid", "SUCCESS")
    body = stub.request_log("transfer")[0]["body"]
    assert body["transfer_scene_id"] == "1005" and body["user_recv_perception"] == "劳务报酬"
    assert body["transfer_scene_report_infos"] == COMMISSION_INFOS
    assert body["notify_url"] == f"https://api.example.com/api/v1/webhooks/wechatpay/{stub.account.pk}/transfers"
    assert stub.executed_transfers() == {w.out_bill_no: 1} and stub.paid_by_openid() == {"o-seller": 3000}
    assert money(merchant, payee) == AVAILABLE_AFTER_3000


def test_the_stub_refuses_a_bill_without_the_scenes_report_infos_as_wechat_does(stub, merchant, payee):
    w = request(merchant, payee)  # the settings were complete when the money was reserved, then lost an info
    WechatPayAccount.objects.for_merchant(merchant).update(transfer_scene_report_infos=COMMISSION_INFOS[:1])
    w = transfers.withdrawal_pay(w.pk)
    assert (w.status, w.provider_state) == ("processing", "REFUSED")  # refused: query before deciding
    assert w.failure_reason == "PARAM_ERROR: 转账场景报备信息不完整，缺少：报酬说明"
    w = step(w.pk)  # no such bill: the refusal stands, the money returns, nothing is sent again
    assert (w.status, w.failure_reason) == ("failed", "PARAM_ERROR: 转账场景报备信息不完整，缺少：报酬说明")
    assert creations(stub) == [(w.out_bill_no, 400)] and stub.executed_transfers() == {}
    assert money(merchant, payee) == {"pending": 0, "available": 2 * SELLER_EARNS, "withdrawing": 0, "paid_out": 0}


@pytest.mark.parametrize(
    ("scene", "infos", "perception", "field"),
    [
        ("1005", COMMISSION_INFOS[:1], "劳务报酬", "transfer_scene_report_infos"),
        ("1005", COMMISSION_INFOS, "现金奖励", "transfer_user_recv_perception"),
        ("1000", COMMISSION_INFOS, "现金奖励", "transfer_scene_report_infos"),
        ("1000", [{"info_type": "活动名称", "info_content": "新人有礼"}], "", "transfer_scene_report_infos"),
        ("1234", COMMISSION_INFOS, "劳务报酬", "transfer_scene_id"),
    ],
)
def test_a_scene_wechat_would_refuse_cannot_be_saved_nor_used(stub, merchant, payee, scene, infos, perception, field):
    account = stub.account
    account.transfer_scene_id, account.transfer_scene_report_infos = scene, infos
    account.transfer_user_recv_perception = perception
    with pytest.raises(ValidationError) as refused:
        account.full_clean()
    assert field in refused.value.message_dict
    WechatPayAccount.objects.for_merchant(merchant).update(
        transfer_scene_id=scene, transfer_scene_report_infos=infos, transfer_user_recv_perception=perception
    )
    with pytest.raises(TransferSceneIncomplete):
        request(merchant, payee)
    assert Withdrawal.objects.for_merchant(merchant).count() == 0 and money(merchant, payee)["withdrawing"] == 0


def test_the_cash_marketing_scene_is_accepted_with_its_own_infos(stub, merchant, payee):
    marketing = [
        {"info_type": "活动名称", "info_content": "新人有礼"},
        {"info_type": "奖励说明", "info_content": "推广奖励"},
    ]
    account = stub.account
    account.transfer_scene_id, account.transfer_scene_report_infos = "1000", marketing
    account.transfer_user_recv_perception = "活动奖励"
    account.full_clean()
    account.save()
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert w.status == "paid" and stub.request_log("transfer")[0]["body"]["transfer_scene_report_infos"] == marketing


# --- query first ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "message"),
    [("SOMETHING_NEW", "未知错误"), ("INVALID_REQUEST", "number exists but details differ")],
)
def test_a_refusal_after_the_bill_was_made_is_queried_and_paid_once_never_resent(stub, merchant, payee, code, message):
    stub.fail_next("transfer", "error_after", status=400, code=code, message=message)
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state, w.failure_reason) == ("processing", "REFUSED", f"{code}: {message}")
    assert money(merchant, payee)["withdrawing"] == 3000  # nothing settled on a refusal alone
    w = step(w.pk)
    assert (w.status, w.provider_state) == ("paid", "SUCCESS")
    assert creations(stub) == [(w.out_bill_no, 400)]  # one creation, then only the query
    assert [e["endpoint"] for e in stub.request_log()] == ["transfer", "transfer_query"]
    assert stub.executed_transfers() == {w.out_bill_no: 1} and stub.paid_by_openid() == {"o-seller": 3000}
    assert money(merchant, payee) == AVAILABLE_AFTER_3000
    assert ledger_problems(merchant.pk) == []


@pytest.mark.parametrize("mode", ["timeout", "unsigned", "system_error_after", "bad_gateway"])
def test_a_lost_answer_is_queried_with_the_same_number_and_pays_once(stub, merchant, payee, mode):
    stub.fail_next("transfer", mode)
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.provider_state) == ("processing", "UNKNOWN")
    due_now(w.pk)
    assert transfers.withdrawals_reconcile(merchant.pk) == 1
    w.refresh_from_db()
    assert w.status == "paid" and stub.executed_transfers() == {w.out_bill_no: 1}
    assert len(stub.request_log("transfer")) == 1 and stub.paid_by_openid() == {"o-seller": 3000}


@pytest.mark.parametrize("modes", [["timeout_before"], ["rate_limit", "system_error"]])
def test_a_bill_that_never_arrived_is_sent_again_under_the_same_number_after_a_query(stub, merchant, payee, modes):
    stub.script("transfer", modes)
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    for _ in modes:
        assert w.provider_state == "UNKNOWN" and stub.executed_transfers() == {}
        w = step(w.pk)  # the query: no such bill, send the same number at once
        assert w.provider_state == "" and w.next_attempt_at <= timezone.now()
        w = transfers.withdrawal_pay(w.pk)
    assert w.status == "paid" and stub.executed_transfers() == {w.out_bill_no: 1}
    assert {r["number"] for r in stub.request_log("transfer")} == {w.out_bill_no}
    assert len(stub.request_log("transfer_query")) == len(modes)


def test_a_crash_between_the_providers_success_and_our_commit_recovers_without_a_second_bill(
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
    w = transfers.withdrawal_pay(w.pk)  # the reconciler's next step: query, never a new bill
    assert w.status == "paid" and stub.executed_transfers() == {w.out_bill_no: 1}
    assert ledger_problems(merchant.pk) == []


def test_a_failed_bill_returns_the_money(stub, merchant, payee):
    stub.fail_next("transfer", "transfer_fail", fail_reason="ACCOUNT_FROZEN")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert (w.status, w.failure_reason) == ("failed", "ACCOUNT_FROZEN")
    assert money(merchant, payee) == {"pending": 0, "available": 2 * SELLER_EARNS, "withdrawing": 0, "paid_out": 0}


def test_a_bill_past_the_query_window_is_a_case_for_a_person_never_a_resend(api, stub, merchant, payee):
    stub.fail_next("transfer", "timeout_before")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    Withdrawal.objects.unscoped().filter(pk=w.pk).update(sent_at=timezone.now() - timedelta(days=30))
    w = step(w.pk)
    assert (w.status, w.provider_state, w.needs_attention) == ("processing", "UNKNOWN", True)
    assert w.failure_reason == "the bill is older than WeChat's 30-day query window"
    assert len(stub.request_log()) == 1  # neither queried nor sent again
    due_now(w.pk)
    assert transfers.withdrawals_reconcile(merchant.pk) == 0
    assert money(merchant, payee)["withdrawing"] == 3000  # still reserved until a person settles it
    event = AuditEvent.objects.filter(action="withdrawal.needs_attention", object_id=str(w.pk)).get()
    assert event.changes == {"needs_attention": [False, True]}
    flagged = api.staff(merchant, Role.FINANCE).get("/api/v1/withdrawals?needs_attention=true").json()["results"]
    assert [(row["id"], row["needs_attention"]) for row in flagged] == [(w.pk, True)]

    # a person finds the bill paid in WeChat's records and settles it
    w = transfers.withdrawal_settle_flagged(
        merchant=merchant, actor=ACTOR, withdrawal_id=w.pk, paid=True, reason="paid per WeChat's bill list"
    )
    assert (w.status, w.needs_attention) == ("paid", False)
    assert money(merchant, payee) == AVAILABLE_AFTER_3000 and len(stub.request_log()) == 1
    with pytest.raises(NotFlagged):
        transfers.withdrawal_settle_flagged(merchant=merchant, actor=ACTOR, withdrawal_id=w.pk, paid=False, reason="x")
    assert ledger_problems(merchant.pk) == []


# --- the payee's confirmation ---------------------------------------------------------------------------------
def test_the_payee_confirms_in_the_app_and_the_notification_pays_once(api, stub, merchant, payee):
    stub.fail_next("transfer", "wait_user_confirm")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    package = stub.transfer_bill(w.out_bill_no)["package_info"]
    assert (w.status, w.provider_state, w.package_info) == ("processing", "WAIT_USER_CONFIRM", package)
    app = api.distributor(merchant, "seller")
    shown = app.get(f"/api/v1/distributor/withdrawals/{w.pk}").json()
    assert shown["confirmation"] == {"mch_id": stub.keys.mchid, "app_id": stub.keys.appid, "package": package}
    assert app.get("/api/v1/distributor/withdrawals").json()["results"][0]["confirmation"]["package"] == package
    w = step(w.pk)  # the reconciler's query while the payee has not confirmed: still waiting, package kept
    assert (w.provider_state, w.package_info) == ("WAIT_USER_CONFIRM", package)

    stub.confirm_transfer(w.out_bill_no)  # wx.requestMerchantTransfer succeeded in the mini-program
    [answer] = deliver(api, stub)
    assert (answer.status_code, answer.content) == (204, b"")
    w.refresh_from_db()
    assert (w.status, w.provider_state, w.package_info) == ("paid", "SUCCESS", "")
    assert app.get(f"/api/v1/distributor/withdrawals/{w.pk}").json()["confirmation"] is None
    headers, body = stub.transfer_notification(w.out_bill_no)  # WeChat sends it again: nothing changes
    assert notify(api, stub.account.pk, headers, body).status_code == 204
    assert money(merchant, payee) == AVAILABLE_AFTER_3000 and stub.executed_transfers() == {w.out_bill_no: 1}
    assert ledger_problems(merchant.pk) == []


def test_an_unconfirmed_bill_expires_and_the_money_returns_found_by_the_query(api, stub, merchant, payee):
    stub.fail_next("transfer", "wait_user_confirm")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert stub.expire_unconfirmed_transfers(at=stub.now() + 24 * 3600 - 60) == []  # not yet
    assert stub.expire_unconfirmed_transfers(at=stub.now() + 24 * 3600 + 1) == [w.out_bill_no]
    assert len(stub.take_due_notifications()) == 1  # lost on the way: the query is the fallback
    w = step(w.pk)
    assert (w.status, w.provider_state, w.failure_reason, w.package_info) == ("failed", "CANCELLED", "CANCELLED", "")
    assert money(merchant, payee) == {"pending": 0, "available": 2 * SELLER_EARNS, "withdrawing": 0, "paid_out": 0}
    assert stub.paid_by_openid() == {} and ledger_problems(merchant.pk) == []


@pytest.mark.parametrize("tamper", ["body", "ciphertext", "stale"])
def test_a_notification_that_is_not_wechats_is_refused_and_changes_nothing(api, stub, merchant, payee, tamper):
    stub.fail_next("transfer", "wait_user_confirm")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    stub.set_transfer_state(w.out_bill_no, "SUCCESS")
    headers, body = stub.transfer_notification(w.out_bill_no, tamper=tamper)
    answer = notify(api, stub.account.pk, headers, body)
    assert answer.status_code == 401 and answer.json()["code"] == "FAIL"
    w.refresh_from_db()
    assert (w.status, w.provider_state) == ("processing", "WAIT_USER_CONFIRM")


def test_a_notification_for_another_amount_flags_the_withdrawal_for_a_person(api, stub, merchant, payee):
    stub.fail_next("transfer", "wait_user_confirm")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    with stub.lock:
        stub.bills[w.out_bill_no].amount = 2999  # what WeChat says it paid is not what we asked for
    stub.confirm_transfer(w.out_bill_no)
    [answer] = deliver(api, stub)
    assert answer.status_code == 204
    w.refresh_from_db()
    assert (w.status, w.needs_attention, w.failure_reason) == ("processing", True, "notified amount 2999 is not 3000")
    assert money(merchant, payee)["withdrawing"] == 3000


def test_a_notification_for_no_account_or_no_bill_of_ours(api, stub, merchant, payee):
    stub.fail_next("transfer", "wait_user_confirm")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    stub.confirm_transfer(w.out_bill_no)
    headers, body = stub.transfer_notification(w.out_bill_no)
    answer = notify(api, stub.account.pk + 1000, headers, body)
    assert (answer.status_code, answer.json()) == (401, {"code": "FAIL", "message": "no such account"})
    Withdrawal.objects.unscoped().filter(pk=w.pk).update(out_bill_no="OTHER1")  # a bill some other system made
    assert notify(api, stub.account.pk, headers, body).status_code == 204
    w.refresh_from_db()
    assert (w.status, w.provider_state) == ("processing", "WAIT_USER_CONFIRM")


def test_another_distributor_does_not_see_my_withdrawal(api, stub, merchant, payee):
    stub.fail_next("transfer", "wait_user_confirm")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    assert_error(api.distributor(merchant, "boss").get(f"/api/v1/distributor/withdrawals/{w.pk}"), 404)
    merchant_view = api.staff(merchant, Role.FINANCE).get(f"/api/v1/withdrawals/{w.pk}").json()
    assert "confirmation" not in merchant_view and merchant_view["needs_attention"] is False


# --- limits, checked before any money is reserved ---------------------------------------------------------------
def test_the_limits_are_checked_before_the_money_is_reserved(stub, merchant, payee):
    WechatPayAccount.objects.for_merchant(merchant).update(
        transfer_min_amount=100, transfer_max_amount=2000, transfer_daily_max_per_user=3000
    )
    with pytest.raises(BelowMinimum):
        request(merchant, payee, amount=99)
    with pytest.raises(AboveTransferMaximum) as above:
        request(merchant, payee, amount=2001)
    assert above.value.extra == {"maximum": "20.00"}
    request(merchant, payee, amount=2000)
    with pytest.raises(DailyLimitExceeded) as daily:
        request(merchant, payee, amount=1001)
    assert daily.value.extra == {"remaining_today": "10.00"}
    request(merchant, payee, amount=1000)
    assert money(merchant, payee)["withdrawing"] == 3000
    assert Withdrawal.objects.for_merchant(merchant).count() == 2


def test_the_api_names_the_per_transfer_maximum(api, stub, merchant, payee):
    answer = api.distributor(merchant, "seller").post(
        "/api/v1/distributor/withdrawals", {"amount": "200.01"}, format="json", HTTP_IDEMPOTENCY_KEY="big"
    )
    assert_error(answer, 422, "above_transfer_maximum")


def test_the_real_name_goes_encrypted_from_2000_yuan(stub, merchant, payee):
    WechatPayAccount.objects.for_merchant(merchant).update(transfer_max_amount=500_000)
    for n in range(90):  # 90 × 24.00 = 2160.00 more
        due_order(merchant, payee.invite_code, f"big-{n}")
    settle(merchant)
    w = transfers.withdrawal_pay(request(merchant, payee, amount=200_000).pk)
    assert w.status == "paid" and stub.transfer_bill(w.out_bill_no)["user_name"] == "王小明"


# --- the operators' admin ----------------------------------------------------------------------------------------
@pytest.fixture
def operator_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only-1")
    client.force_login(user)
    return client


def test_the_admin_refuses_an_incomplete_scene_and_keeps_the_account(operator_client, stub, merchant):
    url = reverse("admin:settlements_wechatpayaccount_change", args=[stub.account.pk])
    form = {
        "mchid": stub.keys.mchid,
        "appid": stub.keys.appid,
        "merchant_serial_no": stub.keys.merchant_serial_no,
        "platform_serial_no": stub.keys.platform_serial_no,
        "platform_public_key": stub.account.platform_public_key,
        "base_url": stub.base_url,
        "transfer_scene_id": "1005",
        "transfer_scene_report_infos": json.dumps(COMMISSION_INFOS[1:], ensure_ascii=False),
        "transfer_user_recv_perception": "劳务报酬",
        "transfer_min_amount": 10,
        "transfer_max_amount": 20000,
        "transfer_daily_max_per_user": 2000000,
    }
    page = operator_client.post(url, form)
    assert page.status_code == 200 and "Scene 1005 (佣金报酬) needs 岗位类型." in page.content.decode()
    assert WechatPayAccount.objects.for_merchant(merchant).get().transfer_scene_report_infos == COMMISSION_INFOS


def test_an_operator_settles_a_flagged_transfer_from_the_admin(operator_client, stub, merchant, payee):
    stub.fail_next("transfer", "timeout_before")
    w = transfers.withdrawal_pay(request(merchant, payee).pk)
    Withdrawal.objects.unscoped().filter(pk=w.pk).update(sent_at=timezone.now() - timedelta(days=31))
    step(w.pk)
    operator_client.post(
        reverse("admin:settlements_withdrawal_changelist"),
        {"action": "settle_flagged_failed", "_selected_action": [w.pk]},
    )
    w.refresh_from_db()
    assert (w.status, w.needs_attention) == ("failed", False)
    assert money(merchant, payee) == {"pending": 0, "available": 2 * SELLER_EARNS, "withdrawing": 0, "paid_out": 0}
    last = AuditEvent.objects.filter(object_id=str(w.pk), action="withdrawal.status_changed").order_by("pk").last()
    assert (last.changes, last.reason) == (
        {"status": ["processing", "failed"]},
        "settled by a platform operator from WeChat Pay's records",
    )
