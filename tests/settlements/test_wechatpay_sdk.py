"""The community SDK (wechatpayv3, a dev dependency) against our stub: an independent implementation of
WeChat Pay's signing, verification and callback decryption agrees with the stub's answers, so the stub
cannot drift into a protocol only our own client speaks. No database.

The SDK has no base-URL option: the tests point `sdk._core._gate_way` at the stub. It runs in public-key
mode (微信支付公钥), so it does not call GET /v3/certificates at construction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from wechatpayv3 import WeChatPay, WeChatPayType

from tests.stubs.wechatpay.keys import COMMISSION_PERCEPTION, COMMISSION_REPORT_INFOS, make_key_sets
from tests.stubs.wechatpay.server import WechatPayStub

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
INFOS = [{"info_type": info_type, "info_content": content} for info_type, content in COMMISSION_REPORT_INFOS]
NOTIFY_URL = "https://api.example.com/api/v1/webhooks/wechatpay/1/transfers"


@pytest.fixture
def stub_and_sdk(monkeypatch) -> Iterator[tuple[WechatPayStub, WeChatPay]]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the SDK's requests calls honour proxy variables
    config, keys = make_key_sets()
    with WechatPayStub(keys) as stub:
        sdk = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=config.mchid,
            private_key=config.private_key_pem,
            cert_serial_no=config.merchant_serial_no,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=NOTIFY_URL,
            public_key=config.platform_public_key_pem,
            public_key_id=config.platform_serial_no,
        )
        sdk._core._gate_way = stub.base_url
        yield stub, sdk


def create(sdk: WeChatPay, out_bill_no: str, **kwargs) -> tuple[int, dict]:
    code, text = sdk.mch_transfer_bills(
        out_bill_no=out_bill_no,
        transfer_scene_id="1005",
        openid=OPENID,
        transfer_amount=3000,
        transfer_remark="分销佣金提现",
        **kwargs,
    )
    return code, json.loads(text)


def test_the_sdk_gets_the_same_param_error_as_from_wechat_without_report_infos(stub_and_sdk):
    stub, sdk = stub_and_sdk
    code, answer = create(sdk, "SDK1", user_recv_perception=COMMISSION_PERCEPTION)
    assert (code, answer) == (
        400,
        {"code": "PARAM_ERROR", "message": "转账场景报备信息不完整，缺少：岗位类型、报酬说明"},
    )
    assert stub.executed_transfers() == {}


def test_the_sdk_verifies_the_stubs_signed_answers_to_a_bill_and_its_query(stub_and_sdk):
    stub, sdk = stub_and_sdk
    code, answer = create(
        sdk, "SDK2", user_recv_perception=COMMISSION_PERCEPTION, transfer_scene_report_infos=INFOS
    )  # the SDK raises if the answer's signature does not verify with the platform public key
    assert code == 200 and (answer["out_bill_no"], answer["state"]) == ("SDK2", "SUCCESS")
    code, text = sdk.mch_transfer_bills_query(out_bill_no="SDK2")
    assert code == 200 and json.loads(text)["transfer_amount"] == 3000
    assert stub.executed_transfers() == {"SDK2": 1}
    assert stub.request_log("transfer")[0]["body"]["notify_url"] == NOTIFY_URL


def test_the_sdk_refuses_a_forged_answer_from_the_stub(stub_and_sdk):
    stub, sdk = stub_and_sdk
    stub.fail_next("transfer_query", "forged")
    create(sdk, "SDK3", user_recv_perception=COMMISSION_PERCEPTION, transfer_scene_report_infos=INFOS)
    with pytest.raises(Exception, match="failed to verify the signature"):
        sdk.mch_transfer_bills_query(out_bill_no="SDK3")


def test_the_sdk_verifies_and_decrypts_the_stubs_notification_of_a_confirmed_bill(stub_and_sdk):
    stub, sdk = stub_and_sdk
    stub.fail_next("transfer", "wait_user_confirm")
    code, answer = create(sdk, "SDK4", user_recv_perception=COMMISSION_PERCEPTION, transfer_scene_report_infos=INFOS)
    assert (code, answer["state"]) == (200, "WAIT_USER_CONFIRM") and answer["package_info"]
    assert stub.take_due_notifications() == []  # nothing has ended yet
    stub.confirm_transfer("SDK4")
    [(url, headers, body)] = stub.take_due_notifications()
    assert url == NOTIFY_URL
    envelope = json.loads(body)
    assert (envelope["event_type"], envelope["resource"]["associated_data"]) == (
        "MCHTRANSFER.BILL.FINISHED",
        "mch_payment",
    )
    decrypted = sdk.callback(headers, body)
    assert decrypted is not None
    resource = decrypted["resource"]
    assert (resource["out_bill_no"], resource["state"], resource["transfer_amount"]) == ("SDK4", "SUCCESS", 3000)
    tampered_headers, tampered = stub.transfer_notification("SDK4", tamper="body")
    assert sdk.callback(tampered_headers, tampered) is None  # the SDK, too, refuses a body changed after signing
