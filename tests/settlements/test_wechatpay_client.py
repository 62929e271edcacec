"""WechatPayClient against the local WeChat Pay v3 stub: every answer the settlement code must handle.

No database: these tests only need the client, the stub and the keys. The rule under test throughout is
the one in settlements/providers/base.py: an unknown outcome is queried with the same number, a transient
refusal is retried with the same number, and in neither case does money move twice.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Iterator

import pytest

from settlements.providers.base import (
    ProviderError,
    ProviderUnknownOutcome,
    ReturnResult,
    SplitReceiver,
    SplitReceiverResult,
    SplitResult,
    TransferResult,
)
from settlements.providers.wechatpay.client import NotificationError, WechatPayClient
from settlements.providers.wechatpay.transfers import parse_transfer_bill
from settlements.providers.wechatpay.transport import WechatPayConfig
from tests.stubs.wechatpay.keys import StubKeys, make_key_sets, unrelated_private_key_pem
from tests.stubs.wechatpay.protocol import DETAILS_DIFFER, ORDER_PROCESSING_MESSAGE
from tests.stubs.wechatpay.server import WechatPayStub, running_wechatpay_stub

TX = "4208450740201411110007820472"
ALICE = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"  # a distributor's openid
BOB = "oUpF8uMEb4qRXf22hE3X68TekukE"
PARTNER_MCH = "1900000200"  # a partner merchant that receives splits and can be pulled back from
SCENE = "1005"  # 佣金报酬


@pytest.fixture(scope="module")
def key_sets() -> tuple[WechatPayConfig, StubKeys]:
    return make_key_sets()


@pytest.fixture
def stub(key_sets) -> Iterator[WechatPayStub]:
    with WechatPayStub(key_sets[1]) as running:
        running.register_receiver("PERSONAL_OPENID", ALICE)
        running.register_receiver("PERSONAL_OPENID", BOB)
        running.register_receiver("MERCHANT_ID", PARTNER_MCH, relation_type="PARTNER", name="示例合作商户有限公司")
        yield running


@pytest.fixture
def client(stub, key_sets) -> Iterator[WechatPayClient]:
    with stub.make_client(key_sets[0]) as wechat:
        yield wechat


def alice(amount: int = 300) -> SplitReceiver:
    return SplitReceiver(type="PERSONAL_OPENID", account=ALICE, amount=amount, description="分销佣金")


def bob(amount: int = 200) -> SplitReceiver:
    return SplitReceiver(type="PERSONAL_OPENID", account=BOB, amount=amount, description="分销佣金")


def partner(amount: int = 500) -> SplitReceiver:
    return SplitReceiver(type="MERCHANT_ID", account=PARTNER_MCH, amount=amount, description="合作分成")


def request(
    client: WechatPayClient, out_order_no: str = "S1", receivers=None, *, unfreeze: bool = False
) -> SplitResult:
    """One split request, as WeChat answers it (PROCESSING while the split is asynchronous)."""
    return client.request_split(
        transaction_id=TX,
        out_order_no=out_order_no,
        receivers=receivers if receivers is not None else [alice(), bob()],
        unfreeze_unsplit=unfreeze,
    )


def split(client: WechatPayClient, out_order_no: str = "S1", receivers=None, *, unfreeze: bool = False) -> SplitResult:
    """A split request, then queries until it is no longer PROCESSING, as the settlement driver does."""
    result = request(client, out_order_no, receivers, unfreeze=unfreeze)
    for _ in range(5):
        if result.state != "PROCESSING":
            return result
        result = client.query_split(transaction_id=TX, out_order_no=out_order_no)
    raise AssertionError(f"split {out_order_no} still PROCESSING")


def transfer(client: WechatPayClient, out_bill_no: str = "W1", amount: int = 5_000, **kwargs) -> TransferResult:
    args = {"openid": ALICE, "transfer_scene_id": SCENE, "remark": "分销佣金提现"} | kwargs
    return client.create_transfer(out_bill_no=out_bill_no, amount=amount, **args)


def order_id_of(result: SplitResult) -> str:
    assert result.order_id.isdigit()
    return result.order_id


# --- protocol basics ---------------------------------------------------------------------------------------
def test_every_request_is_signed_and_carries_accept_and_user_agent(client, stub):
    request(client)
    client.query_split(transaction_id=TX, out_order_no="S1")

    log = stub.request_log()
    assert [(e["method"], e["endpoint"], e["status"]) for e in log] == [
        ("POST", "split", 200),
        ("GET", "split_query", 200),
    ]
    assert log[1]["path"] == f"/v3/profitsharing/orders/S1?transaction_id={TX}"
    for entry in log:
        assert entry["headers"]["Accept"] == "application/json"
        assert entry["headers"]["User-Agent"].startswith("distribution-backend wechatpay-apiv3")
        assert entry["headers"]["Authorization"].startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900000109",')
    assert json.loads(log[0]["raw_body"])["receivers"][0] == {
        "type": "PERSONAL_OPENID",
        "account": ALICE,
        "amount": 300,
        "description": "分销佣金",
    }


def test_numbers_with_special_characters_are_signed_as_sent(client, stub):
    result = split(client, "S|1*a@b-c_d")
    queried = client.query_split(transaction_id=TX, out_order_no="S|1*a@b-c_d")

    assert result.out_order_no == queried.out_order_no == "S|1*a@b-c_d"
    assert (
        stub.request_log("split_query")[0]["path"] == f"/v3/profitsharing/orders/S%7C1%2Aa%40b-c_d?transaction_id={TX}"
    )


def test_request_signed_with_a_wrong_key_gets_sign_error_and_nothing_happens(stub, key_sets):
    wrong = dataclasses.replace(key_sets[0], private_key_pem=unrelated_private_key_pem())
    with stub.make_client(wrong) as client, pytest.raises(ProviderError) as refused:
        transfer(client)

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("SIGN_ERROR", False, 401)
    assert stub.executed_transfers() == {}
    assert stub.paid_by_openid() == {}


def test_request_from_a_skewed_clock_is_refused_but_small_skew_is_fine(stub, key_sets):
    with (
        stub.make_client(key_sets[0], clock=lambda: time.time() - 400) as late,
        pytest.raises(ProviderError) as refused,
    ):
        transfer(late, "W1")
    assert (refused.value.code, refused.value.http_status) == ("SIGN_ERROR", 401)
    assert "timestamp out of range" in refused.value.message
    assert stub.executed_transfers() == {}

    with stub.make_client(key_sets[0], clock=lambda: time.time() - 200) as slightly_late:
        assert transfer(slightly_late, "W1").state == "SUCCESS"
    assert stub.executed_transfers() == {"W1": 1}


@pytest.mark.parametrize("mode", ["unsigned", "forged", "stale_timestamp"])
def test_a_2xx_without_a_valid_signature_is_an_unknown_outcome_never_a_success(client, stub, mode):
    stub.fail_next("transfer", mode)
    with pytest.raises(ProviderUnknownOutcome):
        transfer(client, "W1")
    stub.fail_next("split", mode)
    with pytest.raises(ProviderUnknownOutcome):
        split(client, "S1")

    # The stub did execute both; querying with the same numbers finds out, and nothing ran twice.
    assert client.query_transfer(out_bill_no="W1").state == "SUCCESS"
    assert client.query_split(transaction_id=TX, out_order_no="S1").state == "FINISHED"
    assert transfer(client, "W1").state == "SUCCESS"
    assert stub.executed_transfers() == {"W1": 1}
    assert stub.executed_splits() == {"S1": 1}
    assert stub.paid_by_openid() == {ALICE: 5_000}


def test_a_response_signed_by_another_platform_serial_is_not_trusted(stub, key_sets):
    with stub.make_client(key_sets[0], platform_serial_no="PUB_KEY_ID_SOMEONE_ELSE") as client:
        with pytest.raises(ProviderUnknownOutcome):
            client.query_transfer(out_bill_no="W404")


def test_a_rotated_platform_key_is_trusted_once_configured_alongside_the_old_one(stub, key_sets):
    config = key_sets[0]
    old = (config.platform_serial_no, config.platform_public_key_pem)
    split(stub.make_client(config))  # answers signed with the current key
    new_serial, new_pem = stub.rotate_platform_key()
    assert new_serial == "PUB_KEY_ID_0119000001092025010100000000000002"

    with stub.make_client(config) as old_only:  # the account still knows only the old key: nothing is believed
        with pytest.raises(ProviderUnknownOutcome, match="unknown platform serial"):
            old_only.query_split(transaction_id=TX, out_order_no="S1")
    # during the rotation the account holds both; the answer's Wechatpay-Serial picks the key
    with stub.make_client(config, other_platform_keys=((new_serial, new_pem),)) as both:
        assert both.query_split(transaction_id=TX, out_order_no="S1").state == "FINISHED"
    with stub.make_client(config, platform_serial_no=new_serial, platform_public_key_pem=new_pem) as new_only:
        assert new_only.query_split(transaction_id=TX, out_order_no="S1").state == "FINISHED"
    # a key under the wrong serial does not verify
    with stub.make_client(config, other_platform_keys=((new_serial, old[1]),)) as mixed_up:
        with pytest.raises(ProviderUnknownOutcome, match="does not verify"):
            mixed_up.query_split(transaction_id=TX, out_order_no="S1")


def test_an_error_answer_with_a_bad_signature_is_not_believed(client, stub):
    stub.fail_next("transfer", "param_error", signature="bad")
    with pytest.raises(ProviderUnknownOutcome):
        transfer(client)


def test_a_client_refuses_non_integer_money_and_bad_numbers_before_calling(client, stub):
    with pytest.raises(TypeError):
        transfer(client, amount=50.0)
    with pytest.raises(TypeError):
        split(client, receivers=[SplitReceiver("PERSONAL_OPENID", ALICE, True, "x")])
    with pytest.raises(ValueError):
        transfer(client, amount=0)
    with pytest.raises(ValueError):
        transfer(client, "W-1")  # transfer numbers are letters and digits only
    with pytest.raises(ValueError):
        split(client, "S 1")
    assert stub.request_log() == []


def test_config_repr_keeps_secrets_out_of_logs(key_sets):
    text = repr(key_sets[0])
    assert "PRIVATE KEY" not in text
    assert "PUBLIC KEY" not in text
    assert key_sets[0].apiv3_key not in text
    assert "1900000109" in text


# --- receivers ----------------------------------------------------------------------------------------------
def test_add_receiver_encrypts_the_name_and_the_stub_reads_it(client, stub):
    client.add_receiver(type="PERSONAL_OPENID", account="oNewDistributor", relation_type="DISTRIBUTOR", name="张三")

    assert stub.receivers()[("PERSONAL_OPENID", "oNewDistributor")] == {"relation_type": "DISTRIBUTOR", "name": "张三"}
    entry = stub.request_log("receivers_add")[0]
    assert entry["headers"]["Wechatpay-Serial"] == client.config.platform_serial_no
    assert entry["body"]["name"] != "张三"
    assert len(base64.b64decode(entry["body"]["name"])) == 256  # RSA-2048 ciphertext


def test_add_receiver_without_a_name_sends_no_sensitive_header(client, stub):
    client.add_receiver(type="PERSONAL_OPENID", account="oNoName", relation_type="DISTRIBUTOR")

    assert stub.receivers()[("PERSONAL_OPENID", "oNoName")] == {"relation_type": "DISTRIBUTOR", "name": None}
    assert "Wechatpay-Serial" not in stub.request_log("receivers_add")[0]["headers"]


def test_add_merchant_receiver_without_its_name_is_refused(client, stub):
    with pytest.raises(ProviderError) as refused:
        client.add_receiver(type="MERCHANT_ID", account="1900000300", relation_type="PARTNER")

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("PARAM_ERROR", False, 400)
    assert ("MERCHANT_ID", "1900000300") not in stub.receivers()


def test_delete_receiver_removes_it_and_a_split_to_it_then_closes(client, stub):
    client.delete_receiver(type="PERSONAL_OPENID", account=ALICE)

    assert ("PERSONAL_OPENID", ALICE) not in stub.receivers()
    assert stub.deleted_receivers == [("PERSONAL_OPENID", ALICE)]
    assert stub.request_log("receivers_delete")[0]["body"] == {
        "appid": key_sets_appid(client),
        "type": "PERSONAL_OPENID",
        "account": ALICE,
    }
    assert [(r.account, r.result, r.fail_reason) for r in split(client, receivers=[alice()]).receivers] == [
        (ALICE, "CLOSED", "NO_RELATION")
    ]
    with pytest.raises(ProviderError) as again:
        client.delete_receiver(type="PERSONAL_OPENID", account=ALICE)
    assert (again.value.code, again.value.transient) == ("INVALID_REQUEST", False)


def key_sets_appid(client: WechatPayClient) -> str:
    return client.config.appid


def test_split_to_a_receiver_never_added_closes_that_receiver(client, stub):
    stranger = SplitReceiver("PERSONAL_OPENID", "oStranger", 100, "分销佣金")
    result = split(client, receivers=[alice(), stranger])

    assert result.receivers == [
        SplitReceiverResult("PERSONAL_OPENID", ALICE, 300, "SUCCESS"),
        SplitReceiverResult("PERSONAL_OPENID", "oStranger", 100, "CLOSED", "NO_RELATION"),
    ]


# --- splits -------------------------------------------------------------------------------------------------
def test_split_success(client, stub):
    stub.set_transaction(TX, 10_000)
    result = split(client, receivers=[alice(300), bob(200)])

    assert result == SplitResult(
        out_order_no="S1",
        order_id=order_id_of(result),
        state="FINISHED",
        receivers=[
            SplitReceiverResult("PERSONAL_OPENID", ALICE, 300, "SUCCESS"),
            SplitReceiverResult("PERSONAL_OPENID", BOB, 200, "SUCCESS"),
        ],
    )
    assert stub.executed_splits() == {"S1": 1}
    assert stub.received_by_account() == {ALICE: 300, BOB: 200}
    assert stub.unsplit_amount(TX) == 9_500


def test_split_same_number_same_details_is_the_same_request(client, stub):
    first = split(client)
    again = split(client)

    assert again == first
    assert stub.executed_splits() == {"S1": 1}
    assert stub.received_by_account() == {ALICE: 300, BOB: 200}


def test_split_number_reused_with_different_details_is_refused(client, stub):
    first = split(client, receivers=[alice(300)])
    with pytest.raises(ProviderError) as refused:
        split(client, receivers=[alice(301)])

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("INVALID_REQUEST", False, 400)
    assert refused.value.message == DETAILS_DIFFER
    assert client.query_split(transaction_id=TX, out_order_no="S1") == first
    assert stub.received_by_account() == {ALICE: 300}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (BOB, [("SUCCESS", ""), ("CLOSED", "RECEIVER_HIGH_RISK")]),
        (None, [("CLOSED", "RECEIVER_HIGH_RISK"), ("CLOSED", "RECEIVER_HIGH_RISK")]),
    ],
)
def test_split_receiver_closed(client, stub, target, expected):
    stub.set_transaction(TX, 1_000)
    stub.fail_next("split", "receiver_closed", receiver=target, fail_reason="RECEIVER_HIGH_RISK")
    result = split(client, receivers=[alice(300), bob(200)])

    assert result.state == "FINISHED"
    assert [(r.result, r.fail_reason) for r in result.receivers] == expected
    paid = 300 if target == BOB else 0
    assert stub.unsplit_amount(TX) == 1_000 - paid  # closed amounts go back to the unsplit pool
    assert stub.received_by_account() == ({ALICE: 300} if paid else {})


def test_split_whole_request_refused_is_final(client, stub):
    stub.fail_next("split", "param_error", message="输入源“/body/receivers”映射到字段“分账接收方列表”校验失败")
    with pytest.raises(ProviderError) as refused:
        split(client)

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("PARAM_ERROR", False, 400)
    assert stub.executed_splits() == {}
    assert stub.received_by_account() == {}


def test_a_split_is_processing_at_first_and_finished_on_the_next_query_by_default(client, stub):
    created = request(client)

    assert (created.state, [r.result for r in created.receivers]) == ("PROCESSING", ["PENDING", "PENDING"])
    assert stub.received_by_account() == {}
    finished = client.query_split(transaction_id=TX, out_order_no="S1")
    assert (finished.state, [r.result for r in finished.receivers]) == ("FINISHED", ["SUCCESS", "SUCCESS"])
    assert stub.received_by_account() == {ALICE: 300, BOB: 200}
    assert stub.executed_splits() == {"S1": 1}


def test_split_processing_then_finished_via_query(client, stub):
    stub.fail_next("split", "processing", polls=2)
    created = request(client)

    assert created.state == "PROCESSING"
    assert [r.result for r in created.receivers] == ["PENDING", "PENDING"]
    states = [client.query_split(transaction_id=TX, out_order_no="S1") for _ in range(3)]
    assert [s.state for s in states] == ["PROCESSING", "PROCESSING", "FINISHED"]
    assert [r.result for r in states[-1].receivers] == ["SUCCESS", "SUCCESS"]
    assert states[-1].order_id == created.order_id
    assert stub.executed_splits() == {"S1": 1}


def test_split_timeout_after_execution_then_query_converges_and_it_ran_once(client, stub):
    stub.fail_next("split", "timeout")
    with pytest.raises(ProviderUnknownOutcome):
        split(client)

    queried = client.query_split(transaction_id=TX, out_order_no="S1")
    resent = split(client)
    assert queried.state == resent.state == "FINISHED"
    assert queried == resent
    assert stub.executed_splits() == {"S1": 1}
    assert stub.received_by_account() == {ALICE: 300, BOB: 200}
    assert [e["status"] for e in stub.request_log("split")] == ["dropped", 200]


def test_split_timeout_before_execution_then_retry_with_the_same_number_runs_once(client, stub):
    stub.fail_next("split", "timeout_before")
    with pytest.raises(ProviderUnknownOutcome):
        split(client)
    with pytest.raises(ProviderError) as not_found:
        client.query_split(transaction_id=TX, out_order_no="S1")
    assert (not_found.value.code, not_found.value.http_status, not_found.value.transient) == (
        "RESOURCE_NOT_EXISTS",
        404,
        False,
    )

    assert split(client).state == "FINISHED"
    assert stub.executed_splits() == {"S1": 1}


def test_split_read_timeout_is_an_unknown_outcome(stub, key_sets):
    stub.fail_next("split", "hang", delay=0.4)
    with stub.make_client(key_sets[0], timeout_seconds=0.15) as client:
        with pytest.raises(ProviderUnknownOutcome):
            split(client)
        assert client.query_split(transaction_id=TX, out_order_no="S1").state == "FINISHED"
    assert stub.executed_splits() == {"S1": 1}


@pytest.mark.parametrize(
    ("mode", "code", "status"),
    [("rate_limit", "FREQUENCY_LIMITED", 429), ("system_error", "SYSTEM_ERROR", 500)],
)
def test_split_rate_limit_and_system_error_are_transient(client, stub, mode, code, status):
    stub.fail_next("split", mode)
    with pytest.raises(ProviderError) as refused:
        split(client)

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == (code, True, status)
    assert stub.executed_splits() == {}
    assert split(client).state == "FINISHED"
    assert stub.executed_splits() == {"S1": 1}


def test_system_error_after_execution_then_retry_runs_once(client, stub):
    stub.fail_next("transfer", "system_error_after")
    with pytest.raises(ProviderError) as refused:
        transfer(client)
    assert (refused.value.code, refused.value.transient) == ("SYSTEM_ERROR", True)

    assert transfer(client).state == "SUCCESS"
    assert stub.executed_transfers() == {"W1": 1}
    assert stub.paid_by_openid() == {ALICE: 5_000}


@pytest.mark.parametrize("mode", ["bad_gateway", ("system_error", {"signature": "missing"})])
def test_a_5xx_that_is_not_a_signed_system_error_is_an_unknown_outcome(client, stub, mode):
    stub.script("split", [mode])
    with pytest.raises(ProviderUnknownOutcome):
        split(client)


@pytest.mark.parametrize("message", [ORDER_PROCESSING_MESSAGE, "订单正在处理中，请稍后重试", "unexpected wording"])
def test_split_too_soon_after_payment_is_reported_by_its_code_whatever_the_message(client, stub, message):
    stub.fail_next("split", "order_not_ready", count=2, message=message)
    for _ in range(2):
        with pytest.raises(ProviderError) as refused:
            split(client)
        # the transport reports the code as WeChat sent it; the split service's retry policy decides
        assert (refused.value.code, refused.value.transient, refused.value.http_status) == (
            "INVALID_REQUEST",
            False,
            400,
        )
        assert refused.value.message == message

    assert split(client).state == "FINISHED"
    assert stub.executed_splits() == {"S1": 1}


def test_split_beyond_the_unsplit_amount_is_not_enough(client, stub):
    stub.set_transaction(TX, 1_000)
    split(client, "S1", [alice(800)])
    with pytest.raises(ProviderError) as refused:
        split(client, "S2", [bob(201)])

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("NOT_ENOUGH", False, 403)
    assert split(client, "S3", [bob(200)]).state == "FINISHED"
    assert stub.executed_splits() == {"S1": 1, "S3": 1}
    assert stub.unsplit_amount(TX) == 0


def test_injected_not_enough_is_final(client, stub):
    stub.fail_next("split", "not_enough")
    with pytest.raises(ProviderError) as refused:
        split(client)
    assert (refused.value.code, refused.value.transient) == ("NOT_ENOUGH", False)


def test_at_most_50_receivers_per_split_and_50_splits_per_payment(client, stub):
    stub.require_added_receivers = False
    many = [SplitReceiver("PERSONAL_OPENID", f"o{i:03d}", 1, "佣金") for i in range(51)]
    with pytest.raises(ProviderError) as too_many_receivers:
        split(client, "S0", many)
    assert (too_many_receivers.value.code, too_many_receivers.value.transient) == ("PARAM_ERROR", False)
    assert len(split(client, "S0", many[:50]).receivers) == 50

    for i in range(1, 50):
        split(client, f"S{i}", [alice(1)])
    with pytest.raises(ProviderError) as too_many_splits:
        split(client, "S50", [alice(1)])
    assert (too_many_splits.value.code, too_many_splits.value.transient) == ("INVALID_REQUEST", False)
    assert len(stub.executed_splits()) == 50


# --- unfreeze -------------------------------------------------------------------------------------------------
def test_unfreeze_releases_the_rest_to_the_merchant_and_ends_splitting(client, stub):
    stub.set_transaction(TX, 1_000)
    split(client, "S1", [alice(300)])
    result = client.unfreeze(transaction_id=TX, out_order_no="U1", description="解冻全部剩余资金")

    assert result == SplitResult(
        out_order_no="U1",
        order_id=order_id_of(result),
        state="FINISHED",
        receivers=[SplitReceiverResult("MERCHANT_ID", "1900000109", 700, "SUCCESS")],
    )
    assert client.query_split(transaction_id=TX, out_order_no="U1") == result
    assert client.unfreeze(transaction_id=TX, out_order_no="U1", description="解冻全部剩余资金") == result
    with pytest.raises(ProviderError) as refused:
        split(client, "S2", [bob(1)])
    assert (refused.value.code, refused.value.transient) == ("INVALID_REQUEST", False)
    assert stub.executed_unfreezes() == {"U1": 1}
    assert stub.unsplit_amount(TX) == 0


def test_split_with_unfreeze_unsplit_releases_the_rest(client, stub):
    stub.set_transaction(TX, 1_000)
    split(client, "S1", [alice(300)], unfreeze=True)

    assert stub.unsplit_amount(TX) == 0
    with pytest.raises(ProviderError):
        split(client, "S2", [bob(1)])


def test_unfreeze_timeout_then_query_converges(client, stub):
    stub.fail_next("unfreeze", "timeout")
    with pytest.raises(ProviderUnknownOutcome):
        client.unfreeze(transaction_id=TX, out_order_no="U1", description="解冻")
    assert client.query_split(transaction_id=TX, out_order_no="U1").state == "FINISHED"
    assert stub.executed_unfreezes() == {"U1": 1}


# --- returns ------------------------------------------------------------------------------------------------------
def test_return_from_a_merchant_receiver_is_capped_at_what_it_got(client, stub):
    split(client, "S1", [partner(500), alice(300)])

    first = client.return_split(
        out_return_no="R1", out_order_no="S1", return_mchid=PARTNER_MCH, amount=200, description="订单退款回退"
    )
    assert first == ReturnResult(out_return_no="R1", return_id=first.return_id, result="SUCCESS", amount=200)
    with pytest.raises(ProviderError) as too_much:
        client.return_split(
            out_return_no="R2", out_order_no="S1", return_mchid=PARTNER_MCH, amount=301, description="订单退款回退"
        )
    assert (too_much.value.code, too_much.value.transient) == ("INVALID_REQUEST", False)
    rest = client.return_split(
        out_return_no="R3", out_order_no="S1", return_mchid=PARTNER_MCH, amount=300, description="订单退款回退"
    )
    assert (rest.result, rest.amount) == ("SUCCESS", 300)

    again = client.return_split(
        out_return_no="R1", out_order_no="S1", return_mchid=PARTNER_MCH, amount=200, description="订单退款回退"
    )
    assert again == first
    assert stub.executed_returns() == {"R1": 1, "R3": 1}
    assert stub.received_by_account() == {ALICE: 300}


def test_return_from_a_personal_openid_is_refused(client, stub):
    split(client, "S1", [partner(500), alice(300)])
    with pytest.raises(ProviderError) as refused:
        client.return_split(out_return_no="R1", out_order_no="S1", return_mchid=ALICE, amount=100, description="退款")

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("PARAM_ERROR", False, 400)
    assert stub.executed_returns() == {}
    assert stub.received_by_account() == {PARTNER_MCH: 500, ALICE: 300}


def test_return_number_reused_with_different_details_is_refused(client, stub):
    split(client, "S1", [partner(500)])
    client.return_split(out_return_no="R1", out_order_no="S1", return_mchid=PARTNER_MCH, amount=100, description="退")
    with pytest.raises(ProviderError) as refused:
        client.return_split(
            out_return_no="R1", out_order_no="S1", return_mchid=PARTNER_MCH, amount=150, description="退"
        )
    assert (refused.value.code, refused.value.message) == ("INVALID_REQUEST", DETAILS_DIFFER)
    assert stub.received_by_account() == {PARTNER_MCH: 400}


# --- transfers ------------------------------------------------------------------------------------------------------
def test_transfer_success(client, stub):
    result = transfer(client, "W1", 5_000)

    assert result == TransferResult(out_bill_no="W1", transfer_bill_no=result.transfer_bill_no, state="SUCCESS")
    assert result.final
    assert client.query_transfer(out_bill_no="W1") == result
    assert stub.executed_transfers() == {"W1": 1}
    assert stub.paid_by_openid() == {ALICE: 5_000}
    sent = stub.request_log("transfer")[0]["body"]
    assert (sent["transfer_amount"], sent["openid"], sent["transfer_scene_id"]) == (5_000, ALICE, SCENE)


def test_transfer_fail(client, stub):
    stub.fail_next("transfer", "transfer_fail", fail_reason="NAME_NOT_CORRECT")
    result = transfer(client)

    assert (result.state, result.fail_reason, result.final) == ("FAIL", "NAME_NOT_CORRECT", True)
    assert client.query_transfer(out_bill_no="W1").fail_reason == "NAME_NOT_CORRECT"
    assert stub.paid_by_openid() == {}


def test_transfer_waiting_for_the_user_then_confirmed(client, stub):
    stub.fail_next("transfer", "wait_user_confirm")
    result = transfer(client)

    assert (result.state, result.final) == ("WAIT_USER_CONFIRM", False)
    assert result.package_info
    assert client.query_transfer(out_bill_no="W1").state == "WAIT_USER_CONFIRM"
    assert stub.paid_by_openid() == {}

    stub.confirm_transfer("W1")
    assert client.query_transfer(out_bill_no="W1").state == "SUCCESS"
    assert stub.paid_by_openid() == {ALICE: 5_000}


def test_transfer_states_through_query(client, stub):
    stub.fail_next("transfer", "processing", polls=2)
    created = transfer(client)

    assert (created.state, created.final) == ("ACCEPTED", False)
    states = [client.query_transfer(out_bill_no="W1").state for _ in range(3)]
    assert states == ["PROCESSING", "PROCESSING", "SUCCESS"]
    stub.set_transfer_state("W1", "CANCELLED")
    assert client.query_transfer(out_bill_no="W1").final
    assert stub.executed_transfers() == {"W1": 1}


@pytest.mark.parametrize("state", ["TRANSFERING", "CANCELING", "CANCELLED"])
def test_transfer_other_states_are_parsed(client, stub, state):
    transfer(client)
    stub.set_transfer_state("W1", state)
    result = client.query_transfer(out_bill_no="W1")
    assert (result.state, result.final) == (state, state == "CANCELLED")


def test_transfer_timeout_after_execution_then_query_finds_it_and_it_paid_once(client, stub):
    stub.fail_next("transfer", "timeout")
    with pytest.raises(ProviderUnknownOutcome):
        transfer(client)

    assert client.query_transfer(out_bill_no="W1").state == "SUCCESS"
    assert transfer(client).state == "SUCCESS"
    assert stub.executed_transfers() == {"W1": 1}
    assert stub.paid_by_openid() == {ALICE: 5_000}


def test_transfer_timeout_before_execution_then_same_number_pays_once(client, stub):
    stub.fail_next("transfer", "timeout_before")
    with pytest.raises(ProviderUnknownOutcome):
        transfer(client)
    with pytest.raises(ProviderError) as not_found:
        client.query_transfer(out_bill_no="W1")
    assert (not_found.value.code, not_found.value.http_status, not_found.value.transient) == ("NOT_FOUND", 404, False)

    assert transfer(client).state == "SUCCESS"
    assert stub.executed_transfers() == {"W1": 1}
    assert stub.paid_by_openid() == {ALICE: 5_000}


def test_transfer_number_reused_with_different_details_is_refused(client, stub):
    transfer(client, "W1", 5_000)
    with pytest.raises(ProviderError) as refused:
        transfer(client, "W1", 6_000)

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("INVALID_REQUEST", False, 400)
    assert refused.value.message == DETAILS_DIFFER
    assert stub.paid_by_openid() == {ALICE: 5_000}


@pytest.mark.parametrize(
    ("mode", "code", "transient"), [("rate_limit", "FREQUENCY_LIMITED", True), ("not_enough", "NOT_ENOUGH", False)]
)
def test_transfer_refusals(client, stub, mode, code, transient):
    stub.fail_next("transfer", mode)
    with pytest.raises(ProviderError) as refused:
        transfer(client)
    assert (refused.value.code, refused.value.transient) == (code, transient)
    assert stub.executed_transfers() == {}


def test_transfer_minimum_is_ten_fen(client, stub):
    with pytest.raises(ProviderError) as refused:
        transfer(client, "W1", 9)
    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("PARAM_ERROR", False, 400)

    assert transfer(client, "W2", 10).state == "SUCCESS"
    assert stub.paid_by_openid() == {ALICE: 10}


def test_transfer_daily_limit_per_openid(client, stub):
    transfer(client, "W1", 1_500_000, user_name="爱丽丝")
    transfer(client, "W2", 500_000, user_name="爱丽丝")
    with pytest.raises(ProviderError) as refused:
        transfer(client, "W3", 10)

    assert (refused.value.code, refused.value.transient, refused.value.http_status) == (
        "DAY_RECEIVED_QUOTA_EXCEED",
        False,
        403,
    )
    assert transfer(client, "W4", 10, openid=BOB).state == "SUCCESS"
    assert stub.paid_by_openid() == {ALICE: 2_000_000, BOB: 10}
    assert stub.executed_transfers() == {"W1": 1, "W2": 1, "W4": 1}


def test_transfer_daily_limit_as_a_failed_bill(client, stub):
    stub.daily_limit_behaviour = "fail"
    stub.daily_limit_per_openid = 1_000
    transfer(client, "W1", 900)
    result = transfer(client, "W2", 101)

    assert (result.state, result.fail_reason, result.final) == ("FAIL", "DAY_RECEIVED_QUOTA_EXCEED", True)
    assert stub.paid_by_openid() == {ALICE: 900}


def test_transfer_real_name_required_from_2000_yuan_and_sent_encrypted(client, stub):
    with pytest.raises(ProviderError) as refused:
        transfer(client, "W1", 200_000)
    assert (refused.value.code, refused.value.transient) == ("PARAM_ERROR", False)
    assert "user_name" in refused.value.message

    assert transfer(client, "W2", 199_999).state == "SUCCESS"
    assert transfer(client, "W3", 200_000, user_name="李四").state == "SUCCESS"

    assert stub.transfer_bill("W3")["user_name"] == "李四"
    assert stub.transfer_bill("W2")["user_name"] is None
    entry = stub.request_log("transfer", number="W3")[0]
    assert entry["body"]["user_name"] != "李四"
    assert entry["headers"]["Wechatpay-Serial"] == client.config.platform_serial_no
    assert stub.paid_by_openid() == {ALICE: 399_999}


def test_transfer_config_extras_are_sent(stub, key_sets):
    extras = {
        "transfer_notify_url": "https://example.com/wechatpay/transfer",
        "transfer_user_recv_perception": "劳务报酬",
        "transfer_scene_report_infos": (("岗位类型", "分销员"), ("报酬说明", "分销佣金")),
    }
    with stub.make_client(key_sets[0], **extras) as client:
        transfer(client)

    body = stub.request_log("transfer")[0]["body"]
    assert body["notify_url"] == "https://example.com/wechatpay/transfer"
    assert body["user_recv_perception"] == "劳务报酬"
    assert body["transfer_scene_report_infos"] == [
        {"info_type": "岗位类型", "info_content": "分销员"},
        {"info_type": "报酬说明", "info_content": "分销佣金"},
    ]


def test_script_applies_one_mode_per_request_for_one_number(client, stub):
    stub.script("transfer", ["rate_limit", "timeout", "ok"], number="W1")

    assert transfer(client, "W2").state == "SUCCESS"  # another number is not affected
    with pytest.raises(ProviderError):
        transfer(client, "W1")
    with pytest.raises(ProviderUnknownOutcome):
        transfer(client, "W1")
    assert transfer(client, "W1").state == "SUCCESS"
    assert stub.executed_transfers() == {"W2": 1, "W1": 1}
    assert [e["mode"] for e in stub.request_log("transfer", number="W1")] == ["rate_limit", "timeout", "ok"]


def test_fail_next_refuses_a_mode_that_does_not_apply():
    stub = WechatPayStub(make_key_sets()[1])
    with pytest.raises(ValueError):
        stub.fail_next("transfer", "receiver_closed")
    with pytest.raises(TypeError):
        stub.fail_next("transfer", "timeout", seconds=3)


# --- callbacks ------------------------------------------------------------------------------------------------------
def test_transfer_notification_is_verified_and_decrypted(client, stub):
    transfer(client)
    headers, body = stub.transfer_notification("W1")

    client.verify_notification(headers, body)
    resource = client.decrypt_notification(json.loads(body)["resource"])
    assert resource["out_bill_no"] == "W1"
    assert (resource["state"], resource["transfer_amount"], resource["openid"]) == ("SUCCESS", 5_000, ALICE)
    assert parse_transfer_bill(resource) == client.query_transfer(out_bill_no="W1")

    lower_case = {name.lower(): value for name, value in headers.items()}
    parsed = client.parse_notification(lower_case, body)
    assert (parsed["event_type"], parsed["resource"]) == ("MCHTRANSFER.BILL.FINISHED", resource)


@pytest.mark.parametrize("tamper", ["body", "stale"])
def test_a_tampered_or_stale_notification_is_refused(client, stub, tamper):
    transfer(client)
    headers, body = stub.transfer_notification("W1", tamper=tamper)
    with pytest.raises(NotificationError):
        client.verify_notification(headers, body)
    with pytest.raises(NotificationError):
        client.parse_notification(headers, body)


def test_a_notification_whose_ciphertext_was_altered_does_not_decrypt(client, stub):
    transfer(client)
    headers, body = stub.transfer_notification("W1", tamper="ciphertext")

    client.verify_notification(headers, body)  # signed after the change, so only decryption can tell
    with pytest.raises(NotificationError):
        client.decrypt_notification(json.loads(body)["resource"])


def test_a_notification_without_signature_headers_is_refused(client, stub):
    transfer(client)
    _, body = stub.transfer_notification("W1")
    with pytest.raises(NotificationError):
        client.verify_notification({}, body)


def test_running_wechatpay_stub_helper():
    with running_wechatpay_stub() as (stub, client):
        assert transfer(client).state == "SUCCESS"
        assert stub.executed_transfers() == {"W1": 1}
