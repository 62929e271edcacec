"""The monthly tax report for the filing (identities unmasked, so owner and finance only, and audited) and
the distributor's statement with its paid withdrawals gross, tax and net."""

import csv
import io
from datetime import datetime

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from distribution.models import AuditEvent
from distributors.models import Distributor
from merchants.roles import Role
from settlements.services import withdrawals
from settlements.services.tax_reports import TAX_REPORT_COLUMNS
from tests.builders.distributors import VALID_ID
from tests.builders.settlements import ACTOR, labour_seller, pay
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def request(merchant, seller, amount):
    return withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=seller, amount=amount)


@pytest.fixture
def january(merchant, monkeypatch):
    """The seller's January 2026 (Shanghai): two paid withdrawals, one still waiting, and one in February."""
    seller = labour_seller(merchant)
    Distributor.objects.for_merchant(merchant).filter(pk=seller.pk).update(display_name="=HYPERLINK(1)")
    for when, amount, paid in [
        ("2026-01-01T00:00:00+08:00", 300_000, True),  # 31 December in UTC: January in Shanghai
        ("2026-01-20T10:00:00+08:00", 200_000, True),
        ("2026-01-25T10:00:00+08:00", 100_000, False),
        ("2026-02-01T00:00:00+08:00", 100_000, True),
    ]:
        moment = datetime.fromisoformat(when)
        monkeypatch.setattr(timezone, "now", lambda moment=moment: moment)
        withdrawal = request(merchant, seller, amount)
        if paid:
            pay(merchant, withdrawal)
    monkeypatch.undo()
    return seller


def test_finance_downloads_the_months_report_with_the_identity_and_it_is_audited(api, merchant, january):
    finance = api.staff(merchant, Role.FINANCE, username="fin")
    response = finance.get("/api/v1/tax-reports/2026-01")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="tax-report-2026-01.csv"'
    header, *rows = csv.reader(io.StringIO(response.content.decode()))
    assert header == TAX_REPORT_COLUMNS
    assert header[5:10] == ["id_number", "income", "taxable", "tax_due", "tax_withheld"]
    assert rows == [
        # paid in January: 5,000.00 → 4,000.00 taxable → 800.00 (440.00 + 360.00 withheld)
        [
            "2026-01",
            str(january.pk),
            "'=HYPERLINK(1)",
            "王小明",
            "cn_resident",
            VALID_ID,
            "5000.00",
            "4000.00",
            "800.00",
            "800.00",
            "2",
            "CNY",
        ],
    ]
    event = AuditEvent.objects.for_merchant(merchant).get(action="tax_report.downloaded")
    assert (event.actor_label, event.object_type, event.object_id) == ("fin", "tax_report", "2026-01")
    assert event.changes == {"format": "csv", "people": 1, "distributors": [january.pk]}

    xlsx = finance.get("/api/v1/tax-reports/2026-02?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)] == [
        [
            "2026-02",
            january.pk,
            "=HYPERLINK(1)",
            "王小明",
            "cn_resident",
            VALID_ID,
            "1000.00",
            "200.00",
            "40.00",
            "40.00",
            1,
            "CNY",
        ]
    ]
    assert sheet.cell(row=2, column=3).data_type == "s"  # text, never a formula
    assert AuditEvent.objects.for_merchant(merchant).filter(action="tax_report.downloaded").count() == 2


def test_a_month_without_payouts_is_an_empty_report(api, merchant, january):
    body = api.staff(merchant, Role.OWNER).get("/api/v1/tax-reports/2025-12").content.decode()
    assert body.splitlines()[1:] == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.VIEWER])
def test_only_owner_and_finance_see_the_identities(api, merchant, january, role):
    assert_error(api.staff(merchant, role).get("/api/v1/tax-reports/2026-01"), 403, "permission_denied")
    assert not AuditEvent.objects.for_merchant(merchant).filter(action="tax_report.downloaded").exists()


@pytest.mark.parametrize(
    "url", ["/api/v1/tax-reports/2026-13", "/api/v1/tax-reports/2026-1", "/api/v1/tax-reports/2026-01?format=xml"]
)
def test_a_bad_month_or_format_is_refused_and_nothing_is_audited(api, merchant, url):
    assert_error(api.staff(merchant, Role.FINANCE).get(url), 400, "invalid")
    assert not AuditEvent.objects.for_merchant(merchant).filter(action="tax_report.downloaded").exists()


def test_another_merchants_report_shows_none_of_this_merchants_people(api, merchant, other_merchant, january):
    body = api.staff(other_merchant, Role.FINANCE).get("/api/v1/tax-reports/2026-01").content.decode()
    assert body.splitlines()[1:] == []


def test_the_statement_shows_the_months_withdrawals_gross_tax_and_net(api, merchant):
    seller = labour_seller(merchant)
    pay(merchant, request(merchant, seller, 300_000), request(merchant, seller, 200_000))
    month = timezone.now().astimezone(merchant.tz).strftime("%Y-%m")
    body = api.staff(merchant, Role.VIEWER).get(f"/api/v1/distributors/{seller.pk}/statements/{month}").json()
    assert body == {
        "month": month,
        "currency": "CNY",
        "opening_balance": "0.00",
        "earned": "10000.00",
        "reversed": "0.00",
        "clawed_back": "0.00",
        "withdrawn": "4200.00",
        "fees": "0.00",
        "tax": "800.00",
        "closing_balance": "5000.00",
        "withdrawals_gross": "5000.00",
        "withdrawals_net": "4200.00",
    }
