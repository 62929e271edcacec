"""Program settings: defaults, validation (compliance on depth), roles and the audit of every change."""

import pytest
from django.db import IntegrityError, transaction

from distribution.models import AuditEvent
from merchants.models import DistributionProgram, Merchant
from merchants.roles import Role
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def program_of(merchant):
    return DistributionProgram.objects.for_merchant(merchant).get()


def test_defaults_are_readable_with_money_as_strings(api, merchant):
    body = api.staff(merchant, Role.VIEWER).get("/api/v1/program").json()
    assert body["commission_depth"] == 2
    assert body["depth1_rate_bps"] == 1000 and body["depth2_rate_bps"] == 500
    assert body["binding_mode"] == "first_touch"
    assert body["binding_validity_days"] == 15 and body["binding_protection_days"] == 0
    assert body["after_sales_days"] == 7
    assert body["settlement_schedule"] == "daily"
    assert body["withdrawal_min_amount"] == "1.00"
    assert body["withdrawal_daily_max_amount"] == "20000.00"
    assert body["withdrawal_fee_fixed"] == "0.00"
    assert body["self_purchase_commission"] is False
    assert body["auto_approve_applications"] is True


def test_a_change_is_saved_and_audited_with_old_and_new_values(api, merchant):
    client = api.staff(merchant, Role.ADMIN, username="ada")
    response = client.patch(
        "/api/v1/program",
        {"commission_depth": 3, "depth3_rate_bps": 200, "withdrawal_min_amount": "10.50", "reason": "Q4 plan"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["commission_depth"] == 3 and body["depth3_rate_bps"] == 200
    assert body["withdrawal_min_amount"] == "10.50"
    program = program_of(merchant)
    assert (program.commission_depth, program.depth3_rate_bps, program.withdrawal_min_amount) == (3, 200, 1050)

    event = AuditEvent.objects.for_merchant(merchant).filter(action="program.updated").get()
    assert event.changes == {
        "commission_depth": [2, 3],
        "depth3_rate_bps": [0, 200],
        "withdrawal_min_amount": [100, 1050],
    }
    assert (event.actor_kind, event.actor_label, event.reason) == ("staff", "ada", "Q4 plan")
    assert event.request_id == response["X-Request-ID"]

    changes = client.get("/api/v1/program/changes").json()["results"]
    assert len(changes) == 1 and changes[0]["changes"]["commission_depth"] == [2, 3]


def test_a_change_to_nothing_writes_no_audit(api, merchant):
    client = api.staff(merchant, Role.OWNER)
    assert client.patch("/api/v1/program", {"commission_depth": 2}, format="json").status_code == 200
    assert not AuditEvent.objects.for_merchant(merchant).filter(action="program.updated").exists()


@pytest.mark.parametrize("depth", [4, 5, 10])
def test_depth_above_three_is_refused_for_compliance(api, merchant, depth):
    client = api.staff(merchant, Role.OWNER)
    error = assert_error(
        client.patch("/api/v1/program", {"commission_depth": depth}, format="json"), 422, "commission_depth_not_allowed"
    )
    assert "commission_depth" in error["fields"]
    assert program_of(merchant).commission_depth == 2
    assert not AuditEvent.objects.for_merchant(merchant).filter(action="program.updated").exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"commission_depth": 0}, "commission_depth"),
        ({"binding_validity_days": 5, "binding_protection_days": 6}, "binding_protection_days"),
        ({"withdrawal_min_amount": "500.00", "withdrawal_daily_max_amount": "100.00"}, "withdrawal_min_amount"),
        ({"depth1_rate_bps": 6000, "depth2_rate_bps": 5000}, "depth1_rate_bps"),
        ({"depth1_rate_bps": 10001}, "depth1_rate_bps"),
        ({"withdrawal_min_amount": "1.005"}, "withdrawal_min_amount"),
        ({"withdrawal_min_amount": "-1"}, "withdrawal_min_amount"),
        ({"withdrawal_min_amount": "abc"}, "withdrawal_min_amount"),
        ({"settlement_hour": 24}, "settlement_hour"),
        ({"settlement_monthday": 29}, "settlement_monthday"),
        ({"binding_mode": "sticky"}, "binding_mode"),
        ({"after_sales_days": 366}, "after_sales_days"),
        ({"favourite_colour": "red"}, "favourite_colour"),
        ({"tax_mode": "progressive"}, "tax_mode"),
        ({"tax_mode": "none", "tax_withholding_bps": 1000}, "tax_withholding_bps"),
        ({"tax_mode": "labour_remuneration", "tax_withholding_bps": 1000}, "tax_withholding_bps"),
        ({"tax_mode": "labour_remuneration", "withdrawal_requires_real_name": False}, "withdrawal_requires_real_name"),
        ({"tax_mode": "labour_remuneration", "settlement_provider": "wechat_profitsharing"}, "settlement_provider"),
    ],
)
def test_invalid_settings_are_refused_and_nothing_changes(api, merchant, changes, field):
    client = api.staff(merchant, Role.OWNER)
    before = client.get("/api/v1/program").json()
    response = client.patch("/api/v1/program", changes, format="json")
    error = assert_error(response, 400)
    assert field in error["fields"], error
    assert client.get("/api/v1/program").json() == before


def test_the_tax_mode_is_set_audited_and_checked_against_the_currency(api, merchant):
    client = api.staff(merchant, Role.OWNER)
    assert client.get("/api/v1/program").json()["tax_mode"] == "flat_rate"
    response = client.patch("/api/v1/program", {"tax_mode": "labour_remuneration"}, format="json")
    assert response.status_code == 200 and response.json()["tax_mode"] == "labour_remuneration"
    event = AuditEvent.objects.for_merchant(merchant).filter(action="program.updated").get()
    assert event.changes == {"tax_mode": ["flat_rate", "labour_remuneration"]}
    Merchant.objects.filter(pk=merchant.pk).update(currency="HKD")
    client.patch("/api/v1/program", {"tax_mode": "none"}, format="json")
    error = assert_error(client.patch("/api/v1/program", {"tax_mode": "labour_remuneration"}, format="json"), 400)
    assert list(error["fields"]) == ["tax_mode"]
    assert program_of(merchant).tax_mode == "none"


def test_protection_within_a_permanent_binding_is_fine(api, merchant):
    client = api.staff(merchant, Role.OWNER)
    response = client.patch(
        "/api/v1/program", {"binding_validity_days": None, "binding_protection_days": 400}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["binding_validity_days"] is None


@pytest.mark.parametrize("number", ["2.10", "210", "1E-999999999", "2e2"])
def test_a_json_number_amount_is_refused_as_the_pattern_says(api, merchant, number):
    client = api.staff(merchant, Role.OWNER)
    before = program_of(merchant).withdrawal_min_amount
    response = client.generic(
        "PATCH", "/api/v1/program", f'{{"withdrawal_min_amount": {number}}}', content_type="application/json"
    )
    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["withdrawal_min_amount"]
    assert program_of(merchant).withdrawal_min_amount == before
    ok = client.patch("/api/v1/program", {"withdrawal_min_amount": "2.10"}, format="json")
    assert ok.status_code == 200 and program_of(merchant).withdrawal_min_amount == 210


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.FINANCE, False), (Role.OPERATOR, False), (Role.VIEWER, False)],
)
def test_who_may_change_the_program(api, merchant, role, allowed):
    response = api.staff(merchant, role).patch("/api/v1/program", {"after_sales_days": 10}, format="json")
    if allowed:
        assert response.status_code == 200
    else:
        assert_error(response, 403, "permission_denied")
    assert program_of(merchant).after_sales_days == (10 if allowed else 7)


def test_the_database_refuses_depth_four_too(merchant):
    with pytest.raises(IntegrityError), transaction.atomic():
        DistributionProgram.objects.for_merchant(merchant).update(commission_depth=4)


def test_merchant_profile_update_is_audited(api, merchant):
    client = api.staff(merchant, Role.ADMIN)
    response = client.patch("/api/v1/merchant", {"name": "Renamed", "timezone": "Asia/Hong_Kong"}, format="json")
    assert response.status_code == 200 and response.json()["timezone"] == "Asia/Hong_Kong"
    assert_error(client.patch("/api/v1/merchant", {"timezone": "Mars/Olympus"}, format="json"), 400, "invalid")
    assert_error(client.patch("/api/v1/merchant", {"currency": "USD"}, format="json"), 400, "unknown_field")
    event = AuditEvent.objects.for_merchant(merchant).get(action="merchant.updated")
    assert event.changes == {"name": ["Merchant alpha", "Renamed"], "timezone": ["Asia/Shanghai", "Asia/Hong_Kong"]}
