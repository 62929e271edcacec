"""Withdrawals: rules, reservation, approval, manual payouts, fees and tax, and the monthly statement."""

import csv
import io

import pytest

from distribution.models import AuditEvent
from ledger import services as ledger
from ledger.checks import ledger_problems
from ledger.models import Account
from ledger.services import MERCHANT
from merchants.roles import Role
from merchants.services.programs import program_update
from settlements.models import Withdrawal
from tests.builders.distributors import VALID_ID
from tests.builders.settlements import ACTOR, CARD, SELLER_EARNS, balances, bank_card, settle, shop_with_due_commission
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(api, merchant):
    """A seller with 48.00 available (two settled orders) and a verified identity."""
    people = shop_with_due_commission(merchant, orders=2)
    settle(merchant)
    staff = api.staff(merchant, Role.OPERATOR)
    staff.put(
        f"/api/v1/distributors/{people['seller'].pk}/identity",
        {"real_name": "王小明", "id_number": VALID_ID, "verified": True},
        format="json",
    )
    bank_card(merchant, people["seller"], real_name="王小明")
    client = api.distributor(merchant, "seller")
    client.distributor = people["seller"]
    return client


def withdraw(client, amount, key="k1"):
    return client.post("/api/v1/distributor/withdrawals", {"amount": amount}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_request_reserves_the_amount_at_once(seller, merchant):
    response = withdraw(seller, "30.00")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["amount"], body["fee"], body["tax"], body["net_amount"], body["provider"]) == (
        "requested",
        "30.00",
        "0.00",
        "0.00",
        "30.00",
        "manual",
    )
    assert body["out_bill_no"] == f"W{merchant.pk}X{body['id']}"
    assert balances(merchant, seller.distributor) == {
        "pending": 0,
        "available": 2 * SELLER_EARNS - 3000,
        "withdrawing": 3000,
        "paid_out": 0,
        "receivable": 0,
    }
    assert seller.get("/api/v1/distributor/balance").json() == {
        "currency": "CNY",
        "pending": "0.00",
        "available": "18.00",
        "withdrawing": "30.00",
        "paid_out": "0.00",
        "receivable": "0.00",
    }


def test_the_key_is_required_and_a_retry_with_it_withdraws_once(seller, merchant):
    response = seller.post("/api/v1/distributor/withdrawals", {"amount": "1.00"}, format="json")
    assert_error(response, 400, "idempotency_key_required")
    first, second = withdraw(seller, "10.00", key="same"), withdraw(seller, "10.00", key="same")
    assert second["Idempotent-Replayed"] == "true" and second.json() == first.json()
    assert Withdrawal.objects.for_merchant(merchant).count() == 1
    assert balances(merchant, seller.distributor)["withdrawing"] == 1000


@pytest.mark.parametrize(
    ("setup", "amount", "code"),
    [
        ({}, "48.01", "insufficient_balance"),
        ({}, "0.99", "below_minimum"),
        ({"withdrawal_daily_max_amount": 2000}, "20.01", "daily_limit_exceeded"),
        ({"withdrawal_fee_fixed": 500}, "5.00", "amount_too_small_after_fees"),
        ({"payout_provider": "wechat_transfer"}, "10.00", "payout_account_missing"),
    ],
)
def test_program_rules_refuse_and_reserve_nothing(seller, merchant, setup, amount, code):
    if setup:
        program_update(merchant=merchant, actor=ACTOR, changes=setup)
    assert_error(withdraw(seller, amount), 422, code)
    assert Withdrawal.objects.for_merchant(merchant).count() == 0
    assert balances(merchant, seller.distributor)["available"] == 2 * SELLER_EARNS


def test_the_daily_maximum_counts_earlier_withdrawals_of_the_day(seller, merchant):
    program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_daily_max_amount": 2500})
    assert withdraw(seller, "20.00", key="a").status_code == 201
    error = assert_error(withdraw(seller, "5.01", key="b"), 422, "daily_limit_exceeded")
    assert error["remaining_today"] == "5.00"
    assert withdraw(seller, "5.00", key="c").status_code == 201


def test_identity_and_status_rules(api, merchant):
    people = shop_with_due_commission(merchant)
    settle(merchant)
    client = api.distributor(merchant, "seller")
    assert_error(withdraw(client, "5.00"), 422, "identity_not_verified")
    program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_requires_real_name": False})
    from distributors.services import lifecycle

    lifecycle.distributor_freeze(merchant=merchant, actor=ACTOR, distributor_id=people["seller"].pk, reason="x")
    assert_error(withdraw(client, "5.00", key="k2"), 409, "distributor_not_active")


def test_approval_rejection_and_who_may_decide(seller, api, merchant):
    w1 = withdraw(seller, "10.00", key="a").json()
    w2 = withdraw(seller, "20.00", key="b").json()
    for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
        assert_error(
            api.staff(merchant, role).post(f"/api/v1/withdrawals/{w1['id']}/approve", {}, format="json"),
            403,
            "permission_denied",
        )
    finance = api.staff(merchant, Role.FINANCE, username="fin")
    approved = finance.post(f"/api/v1/withdrawals/{w1['id']}/approve", {}, format="json").json()
    assert (approved["status"], approved["decided_by"]) == ("approved", "fin")
    assert_error(finance.post(f"/api/v1/withdrawals/{w2['id']}/reject", {}, format="json"), 400, "invalid")
    rejected = finance.post(f"/api/v1/withdrawals/{w2['id']}/reject", {"reason": "suspicious"}, format="json").json()
    assert (rejected["status"], rejected["decision_reason"]) == ("rejected", "suspicious")
    assert balances(merchant, seller.distributor)["available"] == 2 * SELLER_EARNS - 1000
    assert balances(merchant, seller.distributor)["withdrawing"] == 1000
    error = assert_error(
        finance.post(f"/api/v1/withdrawals/{w2['id']}/approve", {}, format="json"), 409, "invalid_transition"
    )
    assert error["current_status"] == "rejected"


def test_manual_payouts_export_then_paid_or_failed_with_fees_and_tax(seller, api, merchant):
    program_update(
        merchant=merchant,
        actor=ACTOR,
        changes={
            "withdrawal_fee_bps": 100,
            "withdrawal_fee_fixed": 50,
            "tax_withholding_bps": 2000,
            "withdrawal_auto_approve": True,
        },
    )
    paid = withdraw(seller, "30.00", key="a").json()
    failed = withdraw(seller, "10.00", key="b").json()
    # 30.00: fee 0.30 + 0.50 = 0.80; tax 20% of 29.20 = 5.84; net 23.36
    assert (paid["status"], paid["fee"], paid["tax"], paid["net_amount"]) == ("approved", "0.80", "5.84", "23.36")
    finance = api.staff(merchant, Role.FINANCE)
    export = finance.post("/api/v1/withdrawals/export")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [(r["withdrawal_id"], r["amount"], r["payee_name"], r["card_number"]) for r in rows] == [
        (str(paid["id"]), "23.36", "王小明", CARD),
        (str(failed["id"]), "7.52", "王小明", CARD),
    ]  # 10.00 − 0.60 fee − 1.88 tax
    assert export["X-Payout-Batch"]
    assert finance.post("/api/v1/withdrawals/export").content.decode().count("\n") == 1  # nothing left to export
    assert finance.post(f"/api/v1/withdrawals/{paid['id']}/mark-paid", {}, format="json").json()["status"] == "paid"
    done = finance.post(
        f"/api/v1/withdrawals/{failed['id']}/mark-failed", {"reason": "account closed"}, format="json"
    ).json()
    assert (done["status"], done["failure_reason"]) == ("failed", "account closed")
    assert balances(merchant, seller.distributor) == {
        "pending": 0,
        "available": 2 * SELLER_EARNS - 3000,
        "withdrawing": 0,
        "paid_out": 2336,
        "receivable": 0,
    }
    assert ledger.balance(merchant.pk, MERCHANT, merchant.pk, Account.Kind.FEE_INCOME, "CNY") == 80
    assert ledger.balance(merchant.pk, MERCHANT, merchant.pk, Account.Kind.TAX_PAYABLE, "CNY") == 584
    assert ledger_problems(merchant.pk) == []
    assert AuditEvent.objects.for_merchant(merchant).filter(action="withdrawal.status_changed").count() == 6


def test_the_monthly_statement_adds_up(seller, api, merchant):
    from django.utils import timezone

    from orders.services import intake

    program_update(
        merchant=merchant, actor=ACTOR, changes={"tax_withholding_bps": 1000, "withdrawal_auto_approve": True}
    )
    withdraw(seller, "20.00", key="a")
    finance = api.staff(merchant, Role.FINANCE)
    finance.post("/api/v1/withdrawals/export")
    withdrawal = Withdrawal.objects.for_merchant(merchant).get()
    finance.post(f"/api/v1/withdrawals/{withdrawal.pk}/mark-paid", {}, format="json")
    intake.order_apply_event(
        merchant=merchant,
        external_id="o-2",
        type_="refunded",
        source="api",
        data={"refund_id": "r1", "items": [{"line_id": "L2", "amount": 5000}]},
    )
    month = timezone.now().astimezone(merchant.tz).strftime("%Y-%m")
    body = seller.get(f"/api/v1/distributor/statements/{month}").json()
    assert body == {
        "month": month,
        "currency": "CNY",
        "opening_balance": "0.00",
        "earned": "48.00",
        "reversed": "0.00",
        "clawed_back": "5.00",
        "withdrawn": "18.00",
        "fees": "0.00",
        "tax": "2.00",
        "closing_balance": "23.00",
        "withdrawals_gross": "20.00",
        "withdrawals_net": "18.00",
    }
    text = (
        api.staff(merchant, Role.VIEWER)
        .get(f"/api/v1/distributors/{seller.distributor.pk}/statements/{month}?format=csv")
        .content.decode()
    )
    assert text.splitlines()[0] == "month,currency,item,amount"
    assert f"{month},CNY,closing_balance,23.00" in text
    assert_error(seller.get("/api/v1/distributor/statements/2026-13"), 400, "invalid")
    assert_error(seller.get(f"/api/v1/distributor/statements/{month}?format=xml"), 400, "invalid")
