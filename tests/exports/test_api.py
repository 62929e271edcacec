"""GET /api/v1/exports/<kind>: the files answered at once, exactly; the list's filters; who may export what."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings
from openpyxl import load_workbook

from distribution.exports import CONTENT_TYPES, read_xlsx
from distribution.models import AuditEvent
from merchants.roles import Role
from tests.builders.distributors import join
from tests.builders.factories import make_merchant
from tests.exports.conftest import EVIL, LOCAL, parse_csv
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

DISTRIBUTOR_HEADER = [
    "Distributor ID", "App user ID", "Invite code", "Name", "Phone (masked)", "Status", "Status reason",
    "Status changed at", "Inviter ID", "Inviter name", "Depth", "Level", "Level locked", "Level lock reason",
    "Real name (masked)", "ID type", "ID number (masked)", "Identity verified", "Identity verified at",
    "Applied at", "Activated at", "Created at",
]  # fmt: skip


def distributor_rows(data, evil_name):
    evil, recruit, seller, boss = data["evil"], data["recruit"], data["seller"], data["boss"]
    a = ["active", "auto-approved", LOCAL]
    return [
        [evil.pk, "evil", evil.invite_code, evil_name, "138****0001", *a, None, None, 0, None, "false", None,
         None, None, None, "false", None, LOCAL, LOCAL, LOCAL],
        [recruit.pk, "recruit", recruit.invite_code, "recruit", None, *a, seller.pk, "seller", 2, None, "false",
         None, None, None, None, "false", None, LOCAL, LOCAL, LOCAL],
        [seller.pk, "seller", seller.invite_code, "seller", None, *a, boss.pk, "boss", 1, None, "false", None,
         "王**", "cn_resident", "1101**********002X", "true", LOCAL, LOCAL, LOCAL, LOCAL],
        [boss.pk, "boss", boss.invite_code, "boss", None, *a, None, None, 0, None, "false", None, None, None,
         None, "false", None, LOCAL, LOCAL, LOCAL],
    ]  # fmt: skip


def number(text: str) -> float:
    """What an XLSX number cell holds for a decimal string: a double (exactly the one the text names)."""
    return float(text)


def as_csv(rows):
    return [["" if cell is None else str(cell) for cell in row] for row in rows]


def test_distributors_csv_is_exact_and_escapes_formulas(api, merchant, data):
    response = api.staff(merchant, Role.VIEWER).get("/api/v1/exports/distributors")
    assert response["Content-Disposition"].startswith('attachment; filename="distributors-')
    assert parse_csv(response) == [DISTRIBUTOR_HEADER, *as_csv(distributor_rows(data, "'" + EVIL))]


def test_distributors_xlsx_is_exact_and_its_text_is_never_a_formula(api, merchant, data):
    response = api.staff(merchant, Role.VIEWER).get("/api/v1/exports/distributors?format=xlsx")
    assert response.status_code == 200 and response["Content-Type"] == CONTENT_TYPES["xlsx"]
    assert read_xlsx(response.content) == [DISTRIBUTOR_HEADER, *distributor_rows(data, EVIL)]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert sheet["D2"].value == EVIL and sheet["D2"].data_type == "s"  # text, not a formula


COMMISSION_HEADER = [
    "Line ID", "Order", "Order item", "Depth", "Kind", "Beneficiary ID", "Beneficiary name",
    "Beneficiary invite code", "Status", "Base amount", "Rate source", "Rate mode", "Rate (basis points)",
    "Rate amount", "Uncapped amount", "Amount", "Reversed amount", "Net amount", "Unlocks at", "Confirmed at",
    "Settled at", "Reversed at", "Created at",
]  # fmt: skip


def commission_rows(data, money):
    seller, boss = data["seller"], data["boss"]
    times = [LOCAL, LOCAL, LOCAL, None, LOCAL]

    def line(item, depth, who, base, bps, amount):
        return ["o-1", item, depth, "commission", who.pk, who.external_user_id, who.invite_code, "settled",
                money(base), "program_default", "percent", bps, None, money(amount), money(amount), money("0.00"),
                money(amount), *times]  # fmt: skip

    return [
        line("L2", 2, boss, "50.00", 500, "2.50"),
        line("L2", 1, seller, "50.00", 1000, "5.00"),
        line("L1", 2, boss, "190.00", 500, "9.50"),
        line("L1", 1, seller, "190.00", 1000, "19.00"),
    ]


def test_commission_lines_csv_and_xlsx_are_exact(api, merchant, data):
    client = api.staff(merchant, Role.FINANCE)
    rows = parse_csv(client.get("/api/v1/exports/commission-lines"))
    assert rows[0] == COMMISSION_HEADER
    assert [row[1:] for row in rows[1:]] == as_csv(commission_rows(data, str))
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == sorted(ids, reverse=True)  # newest first, as the list
    sheet = read_xlsx(client.get("/api/v1/exports/commission-lines?format=xlsx").content)
    assert sheet[0] == COMMISSION_HEADER
    assert [row[0] for row in sheet[1:]] == ids
    assert [row[1:] for row in sheet[1:]] == commission_rows(data, number)  # money is a number in XLSX


ORDER_HEADER = [
    "Order ID", "External ID", "Customer", "Share code", "Payment transaction ID", "Kind", "Currency", "Status",
    "Goods amount", "Shipping amount", "Refunded amount", "Distributor ID", "Distributor name",
    "Distributor invite code", "Attribution", "Self purchase", "Paid at", "Shipped at", "Completed at",
    "Closed at", "Created at",
]  # fmt: skip


def order_rows(data, money):
    seller = data["seller"]
    return [
        ["o-1", "c-o-1", seller.invite_code, None, "normal", "CNY", "completed", money("240.00"), money("0.00"),
         money("0.00"), seller.pk, "seller", seller.invite_code, "share_code", "false", LOCAL, None, LOCAL, None,
         LOCAL],
    ]  # fmt: skip


def test_orders_csv_and_xlsx_are_exact(api, merchant, data):
    client = api.staff(merchant, Role.OPERATOR)
    rows = parse_csv(client.get("/api/v1/exports/orders"))
    assert rows[0] == ORDER_HEADER and [row[1:] for row in rows[1:]] == as_csv(order_rows(data, str))
    sheet = read_xlsx(client.get("/api/v1/exports/orders?format=xlsx").content)
    assert sheet[0] == ORDER_HEADER and [row[1:] for row in sheet[1:]] == order_rows(data, number)


WITHDRAWAL_HEADER = [
    "Withdrawal ID", "Distributor ID", "Payout account ID", "Payee kind", "Payee account (masked)", "Payee bank",
    "Amount", "Fee", "Tax", "Net amount", "Currency", "Status", "Provider", "Our bill number", "Provider state",
    "Needs attention", "Failure reason", "Decision reason", "Decided by", "Payout batch ID", "Requested at",
    "Decided at", "Finished at",
]  # fmt: skip


def withdrawal_rows(data, money):
    w = data["withdrawal"]
    return [
        [w.pk, data["seller"].pk, w.destination_id, "bank_card", "6222***********0123", "中国工商银行",
         money("10.00"), money("0.00"), money("0.00"), money("10.00"), "CNY", "approved", "manual", w.out_bill_no,
         None, "false", None, None, "tests", None, LOCAL, LOCAL, None],
    ]  # fmt: skip


def test_withdrawals_csv_and_xlsx_are_exact_and_masked_as_the_list(api, merchant, data):
    client = api.staff(merchant, Role.ADMIN)
    listed = client.get("/api/v1/withdrawals").json()["results"][0]
    assert listed["payee_identity_masked"] == "6222***********0123"
    assert parse_csv(client.get("/api/v1/exports/withdrawals")) == [
        WITHDRAWAL_HEADER,
        *as_csv(withdrawal_rows(data, str)),
    ]
    sheet = read_xlsx(client.get("/api/v1/exports/withdrawals?format=xlsx").content)
    assert sheet == [WITHDRAWAL_HEADER, *withdrawal_rows(data, number)]
    assert "6222021234567890123" not in str(sheet)  # the card number in clear is never in it


DAILY_HEADER = [
    "Day", "Orders", "GMV", "Refunded", "Net GMV", "Distributed orders", "Distributed GMV", "Distributed refunded",
    "Buyers", "Distributed buyers", "Completed orders", "Distributed completed orders", "Commission accrued",
    "Commission pending", "Commission confirmed", "Commission settled", "Commission reversed",
    "Commission clawed back", "Visits",
]  # fmt: skip


def daily_rows(money):
    z = money("0.00")
    return [
        ["2026-11-30", 3, money("360.00"), money("10.50"), money("349.50"), 2, money("240.00"), money("0.50"), 3, 2,
         1, 1, money("36.00"), money("10.00"), money("12.00"), money("10.00"), money("4.00"), money("0.05"), 17],
        ["2026-12-01", 1, money("0.99"), z, money("0.99"), 0, z, z, 1, 0, 0, 0, z, z, z, z, z, z, 2],
    ]  # fmt: skip


def test_daily_figures_csv_and_xlsx_are_exact(api, merchant, data):
    client = api.staff(merchant, Role.VIEWER)
    url = "/api/v1/exports/daily-figures?date_from=2026-11-30&date_to=2026-12-01"
    assert parse_csv(client.get(url)) == [DAILY_HEADER, *as_csv(daily_rows(str))]
    assert read_xlsx(client.get(url + "&format=xlsx").content) == [DAILY_HEADER, *daily_rows(number)]
    only_first = parse_csv(client.get("/api/v1/exports/daily-figures?date_from=2026-11-30&date_to=2026-11-30"))
    assert [row[0] for row in only_first] == ["Day", "2026-11-30"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=2026-12-02&date_to=2026-12-01", "date_from"),  # backwards
        ("date_from=2024-11-30&date_to=2026-12-01", "date_from"),  # 732 days: over two years
        ("date_to=2999-01-01", "date_to"),  # the future
        ("date_from=yesterday", "date_from"),
        ("date_from=２０２６-01-01", "date_from"),
        ("date_to=0001-01-01", "date_to"),  # out of range (and no default start before it)
    ],
)
def test_daily_figures_refuse_a_bad_range(api, merchant, query, field):
    error = assert_error(api.staff(merchant).get(f"/api/v1/exports/daily-figures?{query}"), 400)
    assert list(error["fields"]) == [field]


def test_two_years_is_the_longest_range(api, merchant):
    response = api.staff(merchant).get("/api/v1/exports/daily-figures?date_from=2024-12-01&date_to=2026-11-30")
    assert parse_csv(response) == [DAILY_HEADER]


@pytest.mark.parametrize(
    ("kind", "query"),
    [
        ("distributors", "depth=1"),
        ("distributors", "q=boss"),
        ("distributors", "inviter={boss}"),
        ("distributors", "status=frozen"),
        ("commission-lines", "beneficiary={seller}"),
        ("commission-lines", "order=o-1&depth=2"),
        ("orders", "distributor={seller}"),
        ("orders", "status=paid"),
        ("withdrawals", "status=approved&distributor={seller}"),
        ("withdrawals", "needs_attention=true"),
    ],
)
def test_the_export_has_the_lists_rows_for_the_same_filters(api, merchant, data, kind, query):
    query = query.format(boss=data["boss"].pk, seller=data["seller"].pk)
    client = api.staff(merchant, Role.OWNER)
    listed = [row["id"] for row in client.get(f"/api/v1/{kind}?{query}").json()["results"]]
    exported = [int(row[0]) for row in parse_csv(client.get(f"/api/v1/exports/{kind}?{query}"))[1:]]
    assert exported == listed


@pytest.mark.parametrize(
    ("kind", "query", "field"),
    [
        ("distributors", "depth=one", "depth"),
        ("distributors", "level_locked=maybe", "level_locked"),
        ("commission-lines", "created_after=tomorrow", "created_after"),
        ("orders", "distributor={foreign}", "distributor"),  # another merchant's distributor
        ("withdrawals", "distributor=１", "distributor"),
    ],
)
def test_a_filter_the_list_refuses_is_refused_alike(api, merchant, kind, query, field):
    other = make_merchant("beta")
    query = query.format(foreign=join(other, "theirs").pk)
    client = api.staff(merchant, Role.OWNER)
    listed = assert_error(client.get(f"/api/v1/{kind}?{query}"), 400)
    exported = assert_error(client.get(f"/api/v1/exports/{kind}?{query}"), 400)
    assert list(exported["fields"]) == list(listed["fields"]) == [field]


def test_an_unknown_format_is_refused(api, merchant):
    error = assert_error(api.staff(merchant).get("/api/v1/exports/orders?format=pdf"), 400)
    assert list(error["fields"]) == ["format"]


@pytest.mark.parametrize("kind", ["commission-lines", "withdrawals"])
def test_finance_exports_are_for_owner_admin_and_finance(api, merchant, data, kind):
    for role in (Role.OWNER, Role.ADMIN, Role.FINANCE):
        assert api.staff(merchant, role, username=f"u-{role}").get(f"/api/v1/exports/{kind}").status_code == 200
    for role in (Role.OPERATOR, Role.VIEWER):
        response = api.staff(merchant, role, username=f"u-{role}").get(f"/api/v1/exports/{kind}")
        assert assert_error(response, 403, "permission_denied")["required_permission"] == "finance.export"


def test_each_export_answered_at_once_is_audited(api, merchant, data):
    client = api.staff(merchant, Role.FINANCE)
    parse_csv(client.get(f"/api/v1/exports/commission-lines?beneficiary={data['seller'].pk}&ignored=1"))
    event = AuditEvent.objects.for_merchant(merchant).get(action="export.streamed")
    assert (event.actor_kind, event.actor_label, event.object_type, event.object_id) == (
        "staff",
        f"{merchant.slug}-finance",
        "export",
        "commission-lines",
    )
    assert event.changes == {
        "kind": "commission-lines",
        "format": "csv",
        "filters": {"beneficiary": [str(data["seller"].pk)]},
        "rows": 2,
    }


@override_settings(EXPORT_STREAM_MAX_ROWS=3)
def test_at_most_the_setting_comes_at_once(api, merchant, data):
    client = api.staff(merchant)
    assert client.get("/api/v1/exports/distributors?depth=0").status_code == 200  # 2 rows
    assert client.get("/api/v1/exports/distributors?status=active").status_code == 202  # 4 rows
