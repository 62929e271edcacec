"""Payout accounts: added by the distributor, encrypted and masked, name-checked against the verified identity
(or a mismatch approved by the merchant), one default, removed; the merchant's masked list and audited clear
view; the WeChat openid as an account, and its migration."""

import importlib

import pytest
from django.apps import apps as django_apps

from distribution import crypto
from distribution.models import AuditEvent
from distributors.models import Distributor
from distributors.services.identity import distributor_identity_submit, distributor_identity_verify
from merchants.roles import Role
from merchants.services.programs import program_update
from settlements.models import PayoutAccount, Withdrawal
from settlements.services import withdrawals
from tests.builders.distributors import VALID_ID
from tests.builders.settlements import ACTOR, CARD, settle, shop_with_due_commission, wechat_account
from tests.helpers import assert_error
from tests.stubs.wechatpay.keys import COMMISSION_REPORT_INFOS, make_key_sets

pytestmark = pytest.mark.django_db
URL = "/api/v1/distributor/payout-accounts"
CARD_BODY = {
    "kind": "bank_card",
    "identity": "6222 0212 3456 7890 123",
    "real_name": "王小明",
    "bank_name": "中国工商银行",
    "bank_branch": "北京西单支行",
}


@pytest.fixture
def people(merchant):
    people = shop_with_due_commission(merchant, orders=2)
    settle(merchant)
    return people


@pytest.fixture
def seller(api, merchant, people):
    """The seller (48.00 available) with a verified identity in the name 王小明, in the app."""
    distributor_identity_submit(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=people["seller"].pk,
        real_name="王小明",
        id_type="cn_resident",
        id_number=VALID_ID,
        verified=True,
    )
    client = api.distributor(merchant, "seller")
    client.distributor = people["seller"]
    return client


def add(client, **changes):
    return client.post(URL, {**CARD_BODY, **changes}, format="json")


def test_a_bank_card_in_the_verified_name_is_verified_stored_encrypted_and_shown_masked(seller, api, merchant):
    response = add(seller)
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in body if k not in ("id", "verified_at", "created_at")} == {
        "distributor": seller.distributor.pk,
        "kind": "bank_card",
        "identity_type": "card_no",
        "identity_masked": "6222***********0123",
        "real_name_masked": "王**",
        "bank_name": "中国工商银行",
        "bank_branch": "北京西单支行",
        "is_default": True,
        "verification": "verified",
        "mismatch_reason": "",
    }
    account = PayoutAccount.objects.for_merchant(merchant).get()
    assert CARD not in account.identity_encrypted and crypto.decrypt(account.identity_encrypted) == CARD
    assert crypto.decrypt(account.real_name_encrypted) == "王小明"
    for answer in (
        seller.get(URL),
        seller.get(f"{URL}/{account.pk}"),
        api.staff(merchant, Role.VIEWER).get("/api/v1/payout-accounts"),
        api.staff(merchant, Role.VIEWER).get(f"/api/v1/payout-accounts/{account.pk}"),
    ):
        assert answer.status_code == 200 and CARD not in answer.content.decode()
        assert "王小明" not in answer.content.decode()
    event = AuditEvent.objects.for_merchant(merchant).get(action="payout_account.added")
    assert event.changes == {"kind": "bank_card", "identity": "6222***********0123", "verification": "verified"}


def test_an_alipay_account_keeps_its_identity_type_and_real_name(seller, merchant):
    body = {"kind": "alipay", "identity": "2088102146225135", "identity_type": "ALIPAY_USER_ID", "real_name": "王小明"}
    response = seller.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["identity_masked"], response.json()["verification"]) == ("2088********5135", "verified")
    account = PayoutAccount.objects.for_merchant(merchant).get()
    assert (account.kind, account.identity_type, crypto.decrypt(account.identity_encrypted)) == (
        "alipay",
        "ALIPAY_USER_ID",
        "2088102146225135",
    )
    login = seller.post(URL, {"kind": "alipay", "identity": "13800001111", "real_name": "王小明"}, format="json")
    assert (login.json()["identity_type"], login.json()["identity_masked"]) == ("ALIPAY_LOGON_ID", "138****1111")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"identity": "6222-0212"}, "identity"),
        ({"bank_name": ""}, "bank_name"),
        ({"kind": "alipay", "identity": "2088", "identity_type": "ALIPAY_USER_ID", "bank_name": ""}, "identity"),
        ({"kind": "alipay", "identity": "13800001111"}, "bank_name"),  # an Alipay account has no bank
        ({"real_name": " "}, "real_name"),
    ],
)
def test_bad_details_are_refused_with_the_field_and_nothing_is_written(seller, merchant, changes, field):
    error = assert_error(add(seller, **changes), 400)
    assert error["code"] in ("invalid_payout_account", "invalid") and field in error["fields"]
    assert not PayoutAccount.objects.for_merchant(merchant).exists()


def test_the_same_card_twice_is_a_409_and_a_wechat_openid_cannot_be_typed_in(seller):
    assert add(seller).status_code == 201
    assert_error(add(seller), 409, "duplicate_payout_account")
    assert_error(seller.post(URL, {"kind": "wechat", "identity": "o-1", "real_name": "x"}, format="json"), 400)


def test_a_mismatched_name_pays_only_after_the_merchant_approves_it_with_a_reason(seller, api, merchant):
    account = add(seller, real_name="李四").json()
    assert account["verification"] == "mismatch"
    program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_auto_approve": True})
    withdraw = {"amount": "10.00", "payout_account": account["id"]}
    refused = seller.post("/api/v1/distributor/withdrawals", withdraw, format="json", HTTP_IDEMPOTENCY_KEY="w1")
    assert_error(refused, 422, "payout_account_not_usable")
    assert not Withdrawal.objects.for_merchant(merchant).exists()
    url = f"/api/v1/payout-accounts/{account['id']}/approve-mismatch"
    assert_error(api.staff(merchant, Role.OPERATOR).post(url, {"reason": "spouse"}, format="json"), 403)
    assert_error(api.staff(merchant, Role.FINANCE).post(url, {}, format="json"), 400)
    approved = api.staff(merchant, Role.FINANCE).post(url, {"reason": "the card is his wife's"}, format="json")
    assert approved.status_code == 200, approved.content
    assert (approved.json()["verification"], approved.json()["mismatch_reason"]) == (
        "approved",
        "the card is his wife's",
    )
    assert_error(api.staff(merchant, Role.FINANCE).post(url, {"reason": "again"}, format="json"), 409)
    event = AuditEvent.objects.for_merchant(merchant).get(action="payout_account.mismatch_approved")
    assert (event.reason, event.changes["verification"]) == ("the card is his wife's", ["mismatch", "approved"])
    paid = seller.post("/api/v1/distributor/withdrawals", withdraw, format="json", HTTP_IDEMPOTENCY_KEY="w2")
    assert paid.status_code == 201, paid.content
    assert (paid.json()["payout_account"], paid.json()["payee_identity_masked"]) == (
        account["id"],
        "6222***********0123",
    )
    withdrawal = Withdrawal.objects.for_merchant(merchant).get()
    assert crypto.decrypt(withdrawal.payee_name_encrypted) == "李四"
    assert (withdrawal.payee_bank_name, withdrawal.payee_bank_branch) == ("中国工商银行", "北京西单支行")


def test_without_a_verified_identity_the_account_waits_and_verify_checks_it_later(api, merchant, people):
    distributor_identity_submit(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=people["seller"].pk,
        real_name="王小明",
        id_type="cn_resident",
        id_number=VALID_ID,
        verified=False,
    )
    client = api.distributor(merchant, "seller")
    account = add(client).json()
    assert account["verification"] == "unverified"
    assert_error(client.post(f"{URL}/{account['id']}/verify"), 409, "identity_missing")
    distributor_identity_verify(merchant=merchant, actor=ACTOR, distributor_id=people["seller"].pk)
    verified = client.post(f"{URL}/{account['id']}/verify")
    assert (verified.status_code, verified.json()["verification"]) == (200, "verified")


def test_one_default_which_moves_when_it_is_removed(seller, merchant):
    first = add(seller).json()
    second = add(seller, identity="6217000010001234567", bank_name="中国建设银行").json()
    assert (first["is_default"], second["is_default"]) == (True, False)
    made = seller.post(f"{URL}/{second['id']}/default")
    assert made.status_code == 200 and made.json()["is_default"] is True
    assert [(a["id"], a["is_default"]) for a in seller.get(URL).json()["results"]] == [
        (second["id"], True),
        (first["id"], False),
    ]
    assert seller.delete(f"{URL}/{second['id']}").status_code == 204
    assert [(a["id"], a["is_default"]) for a in seller.get(URL).json()["results"]] == [(first["id"], True)]
    assert_error(seller.get(f"{URL}/{second['id']}"), 404, "not_found")
    assert PayoutAccount.objects.for_merchant(merchant).get(pk=second["id"]).removed_at is not None


def test_another_distributor_never_reaches_my_account(seller, api, merchant):
    account = add(seller).json()
    boss = api.distributor(merchant, "boss")
    for method, path in [("get", ""), ("delete", ""), ("post", "/verify"), ("post", "/default")]:
        assert_error(getattr(boss, method)(f"{URL}/{account['id']}{path}"), 404, "not_found")
    assert boss.get(URL).json()["results"] == []
    assert PayoutAccount.objects.for_merchant(merchant).get().removed_at is None


def test_finance_sees_the_account_in_clear_and_every_look_is_audited(seller, api, merchant):
    account = add(seller).json()
    finance = api.staff(merchant, Role.FINANCE, username="clerk")
    url = f"/api/v1/payout-accounts/{account['id']}/unmasked"
    for _ in range(2):
        shown = finance.get(url)
        assert shown.status_code == 200, shown.content
        assert (shown.json()["identity"], shown.json()["real_name"]) == (CARD, "王小明")
    assert_error(api.staff(merchant, Role.OPERATOR).get(url), 403, "permission_denied")
    events = AuditEvent.objects.for_merchant(merchant).filter(action="payout_account.revealed")
    assert [(e.actor_label, e.object_id, e.changes["identity"]) for e in events] == [
        ("clerk", str(account["id"]), "6222***********0123")
    ] * 2


def test_the_wechat_openid_is_an_account_and_a_wechat_withdrawal_pays_to_it(api, merchant, people):
    seller = people["seller"]
    staff = api.staff(merchant, Role.OPERATOR)
    url = f"/api/v1/distributors/{seller.pk}/payout-account"
    assert staff.put(url, {"openid": "o-old"}, format="json").json() == {"openid": "o-old"}
    assert staff.put(url, {"openid": "o-seller"}, format="json").json() == {"openid": "o-seller"}
    live = PayoutAccount.objects.for_merchant(merchant).filter(removed_at__isnull=True)
    (account,) = live
    assert (account.kind, crypto.decrypt(account.identity_encrypted), account.verification, account.is_default) == (
        "wechat",
        "o-seller",
        "verified",
        True,
    )
    assert Distributor.objects.for_merchant(merchant).get(pk=seller.pk).payout_openid == "o-seller"
    program_update(
        merchant=merchant,
        actor=ACTOR,
        changes={"payout_provider": "wechat_transfer", "withdrawal_requires_real_name": False},
    )
    config, _ = make_key_sets()  # the merchant's WeChat Pay account (its limits are checked at request time)
    wechat_account(
        merchant,
        config,
        "http://127.0.0.1:9",
        transfer_scene_id="1005",
        transfer_scene_report_infos=[
            dict(zip(("info_type", "info_content"), i, strict=True)) for i in COMMISSION_REPORT_INFOS
        ],
        transfer_user_recv_perception="劳务报酬",
    )
    withdrawal = withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=seller, amount=1000)
    assert (withdrawal.payout_account, withdrawal.destination_id, withdrawal.payee_kind) == (
        "o-seller",
        account.pk,
        "wechat",
    )
    assert staff.put(url, {"openid": ""}, format="json").json() == {"openid": ""}
    assert not live.all().exists() and Distributor.objects.for_merchant(merchant).get(pk=seller.pk).payout_openid == ""


def test_the_migration_turns_each_openid_into_a_verified_default_wechat_account(merchant, people):
    migration = importlib.import_module("settlements.migrations.0012_payout_accounts")
    Distributor.objects.for_merchant(merchant).filter(pk=people["seller"].pk).update(payout_openid="o-legacy")
    migration.openids_to_accounts(django_apps, None)
    (account,) = PayoutAccount.objects.for_merchant(merchant)
    assert (account.distributor_id, account.kind, account.identity_type, account.identity_masked) == (
        people["seller"].pk,
        "wechat",
        "openid",
        "o-lega…",
    )
    assert (crypto.decrypt(account.identity_encrypted), account.is_default, account.verification) == (
        "o-legacy",
        True,
        "verified",
    )
    migration.accounts_to_openids(django_apps, None)
    assert not PayoutAccount.objects.for_merchant(merchant).exists()
