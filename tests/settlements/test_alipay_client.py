"""The Alipay client against the Alipay stub: the gateway's form and RSA2 signatures both ways, and how each
answer maps to a result, a refusal or an unknown outcome."""

import base64
import json
import subprocess
from urllib.parse import parse_qsl

import pytest

from settlements.providers.alipay.signing import load_public_key, rsa2_verify, signed_text, signing_string
from settlements.providers.alipay.transfers import Payee
from settlements.providers.base import ProviderError, ProviderUnknownOutcome
from tests.stubs.alipay.server import AlipayStub, make_alipay_keys
from tests.stubs.wechatpay.keys import rsa_private_key_pem

PAYEE = Payee(identity="li.lei@example.com", name="李雷")


@pytest.fixture(scope="module")
def keys():
    return make_alipay_keys()


@pytest.fixture
def stub(keys):
    with AlipayStub(keys[1]) as server:
        server.add_account(PAYEE.identity, PAYEE.name)
        yield server


@pytest.fixture
def client(stub, keys):
    with stub.make_client(keys[0]) as alipay:
        yield alipay


def transfer(client, number="W1X1", amount=1234, payee=PAYEE):
    return client.create_transfer(out_biz_no=number, amount=amount, payee=payee, title="佣金", remark="commission")


def test_the_signing_string_is_the_sorted_non_empty_parameters_as_documented():
    params = {
        "app_id": "2014072300007148",
        "method": "alipay.mobile.public.menu.add",
        "charset": "GBK",
        "sign_type": "RSA2",
        "timestamp": "2014-07-24 03:07:50",
        "biz_content": '{"button":[{"name":"查询"}]}',
        "sign": "ignored",
        "app_auth_token": "",
        "version": "1.0",
    }
    assert signing_string(params) == (
        'app_id=2014072300007148&biz_content={"button":[{"name":"查询"}]}&charset=GBK'
        "&method=alipay.mobile.public.menu.add&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"
    )


def test_a_transfer_is_a_signed_form_post_and_its_signed_answer_is_read(client, stub, keys, tmp_path):
    result = transfer(client)
    assert (result.out_biz_no, result.status, result.paid) == ("W1X1", "SUCCESS", True)
    assert result.order_id.startswith("2026") and result.amount is None  # the create answer has no amount
    params = stub.request_log("transfer")[0]["params"]
    assert set(params) == {
        "app_id",
        "method",
        "format",
        "charset",
        "sign_type",
        "timestamp",
        "version",
        "biz_content",
        "sign",
    }
    assert (params["method"], params["charset"], params["sign_type"], params["version"]) == (
        "alipay.fund.trans.uni.transfer",
        "utf-8",
        "RSA2",
        "1.0",
    )
    assert json.loads(params["biz_content"])["trans_amount"] == "12.34"
    assert "李雷" in params["biz_content"]  # sent as UTF-8 text, not \u escapes
    # An independent signer (openssl) gives the same signature over the documented string.
    key = tmp_path / "app.pem"
    key.write_text(keys[0].app_private_key_pem)
    openssl = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(key)],
        input=signing_string(params).encode(),
        capture_output=True,
        check=True,
    )
    assert base64.b64encode(openssl.stdout).decode() == params["sign"]


def test_the_answer_signature_covers_the_exact_text_of_the_response_value(keys):
    body = '{"x_response" : {"a": "b\\u00e9", "n": [1, 2]} ,"sign":"s"}'
    assert signed_text(body, "x_response") == '{"a": "b\\u00e9", "n": [1, 2]}'
    assert signed_text('{"other":{}}', "x_response") is None
    assert signed_text('{"x_response":{"a":', "x_response") is None


def test_keys_in_bare_base64_as_alipay_hands_them_out_are_accepted(stub, keys):
    bare = "".join(keys[0].app_private_key_pem.strip().splitlines()[1:-1])
    public = "".join(keys[0].alipay_public_key_pem.strip().splitlines()[1:-1])
    with stub.make_client(keys[0], app_private_key_pem=bare, alipay_public_key_pem=public) as client:
        assert transfer(client).paid is True


def test_a_request_signed_with_another_key_is_refused_unsigned_and_nothing_happens(stub, keys):
    with stub.make_client(keys[0], app_private_key_pem=rsa_private_key_pem("unrelated")) as client:
        with pytest.raises(ProviderUnknownOutcome):
            transfer(client)
    assert stub.executed_transfers() == {}
    assert '"sub_code":"isv.invalid-signature"' not in json.dumps(stub.request_log())  # the log holds requests


@pytest.mark.parametrize("mode", ["unsigned", "forged", "timeout_after_success", "unknown_after", "unknown_code"])
def test_an_answer_that_cannot_be_trusted_or_is_lost_is_an_unknown_outcome(client, stub, mode):
    stub.fail_next("transfer", mode)
    with pytest.raises(ProviderUnknownOutcome):
        transfer(client)
    assert stub.executed_transfers() == {"W1X1": 1}
    assert client.query_transfer(out_biz_no="W1X1").paid is True  # the query tells the truth


def test_system_busy_is_an_unknown_outcome_never_a_refusal(client, stub):
    stub.fail_next("transfer", "system_busy")
    with pytest.raises(ProviderUnknownOutcome, match="SYSTEM_ERROR"):
        transfer(client)
    with pytest.raises(ProviderError) as missing:
        client.query_transfer(out_biz_no="W1X1")
    assert missing.value.code == "ORDER_NOT_EXIST"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda stub: setattr(stub, "payer_balance", 100), "PAYER_BALANCE_NOT_ENOUGH"),
        (lambda stub: stub.add_account(PAYEE.identity, "韩梅梅"), "PAYEE_USER_INFO_ERROR"),
        (lambda stub: stub.add_account(PAYEE.identity, PAYEE.name, frozen=True), "PAYEE_ACCOUNT_STATUS_ERROR"),
        (lambda stub: stub.accounts.clear(), "PAYEE_NOT_EXIST"),
    ],
)
def test_documented_refusals_are_final_provider_errors(client, stub, setup, code):
    setup(stub)
    with pytest.raises(ProviderError) as refused:
        transfer(client)
    assert refused.value.code == code and not refused.value.transient
    assert stub.executed_transfers() == {}


def test_the_same_number_is_the_same_order_and_other_details_are_refused(client, stub):
    first = transfer(client)
    assert transfer(client) == first and stub.executed_transfers() == {"W1X1": 1}
    with pytest.raises(ProviderError) as refused:
        transfer(client, amount=1235)
    assert refused.value.code == "PAYMENT_INFO_INCONSISTENCY"
    queried = client.query_transfer(out_biz_no="W1X1")
    assert (queried.status, queried.amount, queried.order_id) == ("SUCCESS", 1234, first.order_id)
    assert stub.received_by() == {stub.accounts[PAYEE.identity].user_id: 1234}


def test_a_query_that_fails_is_an_unknown_outcome(client, stub):
    transfer(client)
    stub.fail_next("query", "system_busy")
    with pytest.raises(ProviderUnknownOutcome):
        client.query_transfer(out_biz_no="W1X1")


def test_a_login_id_needs_a_name_and_money_is_integer_fen(client, stub):
    with pytest.raises(ValueError, match="real name"):
        transfer(client, payee=Payee(identity=PAYEE.identity, name=""))
    for amount in (12.34, 9, 0):
        with pytest.raises(ValueError, match="fen"):
            transfer(client, amount=amount)
    with pytest.raises(ValueError, match="out_biz_no"):
        transfer(client, number="W1/X1")
    assert stub.request_log() == []


def test_the_stub_checks_the_documented_gateway_parameters(stub, keys):
    """A request the gateway would refuse (here: no sign_type) gets the gateway's refusal, unsigned."""
    with stub.make_client(keys[0]) as client:
        params = client.signed_params("alipay.fund.trans.common.query", {"out_biz_no": "W1X1"})
    del params["sign_type"]
    response = client._session.post(stub.gateway_url, data=params)
    answer = json.loads(response.text)["alipay_fund_trans_common_query_response"]
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-sign_type") and '"sign":' not in response.text
    assert dict(parse_qsl(response.request.body))["method"] == "alipay.fund.trans.common.query"


def test_the_stubs_answers_verify_with_the_alipay_public_key(client, stub, keys):
    transfer(client)
    params = client.signed_params(
        "alipay.fund.trans.common.query",
        {"out_biz_no": "W1X1", "product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER"},
    )
    body = client._session.post(stub.gateway_url, data=params).text
    text = signed_text(body, "alipay_fund_trans_common_query_response")
    assert rsa2_verify(load_public_key(keys[0].alipay_public_key_pem), text, json.loads(body)["sign"])
    assert json.loads(text)["status"] == "SUCCESS"


def test_config_repr_keeps_secrets_out_of_logs(keys):
    assert "PRIVATE" not in repr(keys[0]) and "PUBLIC" not in repr(keys[0])
