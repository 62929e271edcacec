"""The bank batch round trip: export the file a bank imports, download it again (the same bytes, audited), mark
a line by hand, check the bank's result file (dry run: every row's problem), import it; balances and ledger
exact."""

import base64
import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from distribution.models import AuditEvent
from distributors.models import Distributor
from ledger import services as ledger
from ledger.checks import ledger_problems
from ledger.models import Account, LedgerTransaction
from ledger.services import MERCHANT
from merchants.roles import Role
from merchants.services.programs import program_update
from settlements.models import Withdrawal
from settlements.services import withdrawals
from tests.builders.settlements import ACTOR, CARD, balances, bank_card, settle, shop_with_due_commission
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db
BOSS_CARD = "6217000010001234567"


@pytest.fixture
def batch(api, merchant):
    """Three approved manual withdrawals exported in one batch: the seller's 20.00 and 10.00 (of 48.00), the
    boss's 12.00 (of 24.00); fee 1% + 0.50, tax 20% of the rest."""
    people = shop_with_due_commission(merchant, orders=2)
    settle(merchant)
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
    seller, boss = people["seller"], people["boss"]
    bank_card(merchant, seller, real_name="王小明")
    bank_card(merchant, boss, real_name="=李雷", card=BOSS_CARD, bank_name="中国建设银行", bank_branch="")
    seller, boss = (Distributor.objects.for_merchant(merchant).get(pk=d.pk) for d in (seller, boss))
    made = [
        withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=who, amount=amount)
        for who, amount in ((seller, 2000), (seller, 1000), (boss, 1200))
    ]
    export = api.staff(merchant, Role.FINANCE).post("/api/v1/withdrawals/export", HTTP_IDEMPOTENCY_KEY="bank-1")
    assert export.status_code == 200, export.content
    return {"people": people, "withdrawals": made, "export": export, "id": int(export["X-Payout-Batch"])}


def upload(client, batch_id, rows, *, dry_run, file_format="csv", header=("reference", "status", "reason", "amount")):
    if file_format == "csv":
        out = io.StringIO()
        csv.writer(out).writerows([header, *rows])
        content = out.getvalue().encode()
    else:
        workbook = Workbook()
        sheet = workbook.active
        for row in [header, *rows]:
            sheet.append(list(row))
        buffer = io.BytesIO()
        workbook.save(buffer)
        content = buffer.getvalue()
    body = {"format": file_format, "content": base64.b64encode(content).decode(), "dry_run": dry_run}
    return client.post(f"/api/v1/payout-batches/{batch_id}/results", body, format="json")


def statuses(merchant):
    return list(Withdrawal.objects.for_merchant(merchant).order_by("pk").values_list("status", flat=True))


def test_the_file_holds_what_a_bank_needs_and_downloads_again_byte_for_byte(api, merchant, batch):
    a, b, c = batch["withdrawals"]
    export = batch["export"]
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    people = batch["people"]
    header = ["reference", "payee_name", "card_number", "bank_name", "bank_branch", "amount", "currency", "purpose"]
    icbc = ("王小明", CARD, "中国工商银行", "北京西单支行")
    boss = (str(c.pk), str(people["boss"].pk))
    assert rows == [
        [*header, "withdrawal_id", "distributor_id"],
        [a.out_bill_no, *icbc, "15.44", "CNY", f"分销佣金 {a.out_bill_no}", str(a.pk), str(people["seller"].pk)],
        [b.out_bill_no, *icbc, "7.52", "CNY", f"分销佣金 {b.out_bill_no}", str(b.pk), str(people["seller"].pk)],
        [c.out_bill_no, "'=李雷", BOSS_CARD, "中国建设银行", "", "9.10", "CNY", f"分销佣金 {c.out_bill_no}", *boss],
    ]  # 20.00 − 0.70 fee − 3.86 tax; 10.00 − 0.60 − 1.88; 12.00 − 0.62 − 2.28 (20% of 11.38, half up)
    finance = api.staff(merchant, Role.FINANCE, username="clerk")
    url = f"/api/v1/payout-batches/{batch['id']}/file"
    assert finance.get(url).content == export.content
    xlsx = finance.get(f"{url}?format=xlsx")
    assert xlsx["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert finance.get(f"{url}?format=xlsx").content == xlsx.content
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cells = next(sheet.iter_rows(min_row=4, max_row=4))
    assert (cells[1].value, cells[1].data_type, cells[2].value) == ("=李雷", "s", BOSS_CARD)
    replay = finance.post("/api/v1/withdrawals/export", HTTP_IDEMPOTENCY_KEY="bank-1")
    assert replay.content == export.content and replay["X-Payout-Batch"] == str(batch["id"])
    assert_error(api.staff(merchant, Role.OPERATOR).get(url), 403, "permission_denied")
    events = AuditEvent.objects.for_merchant(merchant).filter(object_type="settlements.payoutbatch").order_by("pk")
    assert [(e.action, e.actor_label, e.reason) for e in events] == [
        ("payout_batch.exported", events[0].actor_label, ""),
        ("payout_batch.file_downloaded", "clerk", "downloaded as csv"),
        ("payout_batch.file_downloaded", "clerk", "downloaded as xlsx"),
        ("payout_batch.file_downloaded", "clerk", "downloaded as xlsx"),
        ("payout_batch.file_downloaded", "clerk", "replayed export"),
    ]
    assert events[0].changes == {"count": 3, "total": "32.06", "fields": ["payee_name", "card_number"]}


def test_the_round_trip_from_export_to_the_banks_result_file(api, merchant, batch):
    a, b, c = batch["withdrawals"]
    seller, boss = batch["people"]["seller"], batch["people"]["boss"]
    finance = api.staff(merchant, Role.FINANCE)
    # one line by hand: the boss's was paid
    assert finance.post(f"/api/v1/withdrawals/{c.pk}/mark-paid", {}, format="json").json()["status"] == "paid"
    # a file with a problem in every row but the first
    messy = [
        (a.out_bill_no, "paid", "", "15.44"),
        (b.out_bill_no, "failed", "account closed", "7.00"),
        ("W999X999", "paid", "", ""),
        (c.out_bill_no, "failed", "", ""),
        (a.out_bill_no, "paid", "", ""),
        ("", "paid", "", ""),
        (b.out_bill_no, "maybe", "", "x"),
    ]
    dry = upload(finance, batch["id"], messy, dry_run=True)
    assert dry.status_code == 200, dry.content
    assert [(r["row"], r["reference"], r["action"], r["problems"]) for r in dry.json()["rows"]] == [
        (2, a.out_bill_no, "paid", []),
        (3, b.out_bill_no, "", ["amount_mismatch"]),
        (4, "W999X999", "", ["unknown_reference"]),
        (5, c.out_bill_no, "", ["already_final"]),
        (6, a.out_bill_no, "", ["duplicate_reference"]),
        (7, "", "", ["missing_reference"]),
        (8, b.out_bill_no, "", ["duplicate_reference", "bad_status", "bad_amount"]),
    ]
    assert {k: v for k, v in dry.json().items() if k != "rows"} == {
        "batch": batch["id"],
        "dry_run": True,
        "paid_lines": 1,
        "failed_lines": 0,
        "unchanged_lines": 0,
        "problem_rows": 6,
        "not_in_file": [],
    }
    refused = upload(finance, batch["id"], messy, dry_run=False)
    assert_error(refused, 422, "result_file_problems")
    assert refused.json()["error"]["report"]["problem_rows"] == 6
    assert statuses(merchant) == ["processing", "processing", "paid"]
    # the clean file, as XLSX: a paid, b failed, c repeated (already paid: unchanged)
    clean = [
        (a.out_bill_no, "成功", "", "15.44"),
        (b.out_bill_no, "FAILED", "account closed", ""),
        (c.out_bill_no, "paid", "", ""),
    ]
    check = upload(finance, batch["id"], clean, dry_run=True, file_format="xlsx")
    assert [r["action"] for r in check.json()["rows"]] == ["paid", "failed", "unchanged"]
    assert statuses(merchant) == ["processing", "processing", "paid"]
    done = upload(finance, batch["id"], clean, dry_run=False, file_format="xlsx")
    assert done.status_code == 200, done.content
    assert (done.json()["paid_lines"], done.json()["failed_lines"], done.json()["unchanged_lines"]) == (1, 1, 1)
    assert statuses(merchant) == ["paid", "failed", "paid"]
    assert Withdrawal.objects.for_merchant(merchant).get(pk=b.pk).failure_reason == "bank result file: account closed"
    # the seller: 48.00 − 20.00 paid (15.44 net) − 10.00 returned; the boss: 24.00 − 12.00 paid (9.10 net)
    assert balances(merchant, seller) == {
        "pending": 0,
        "available": 2800,
        "withdrawing": 0,
        "paid_out": 1544,
        "receivable": 0,
    }
    assert balances(merchant, boss) == {
        "pending": 0,
        "available": 1200,
        "withdrawing": 0,
        "paid_out": 910,
        "receivable": 0,
    }
    assert ledger.balance(merchant.pk, MERCHANT, merchant.pk, Account.Kind.FEE_INCOME, "CNY") == 70 + 62
    assert ledger.balance(merchant.pk, MERCHANT, merchant.pk, Account.Kind.TAX_PAYABLE, "CNY") == 386 + 228
    refs = set(
        LedgerTransaction.objects.for_merchant(merchant)
        .filter(reference__startswith="withdrawal:")
        .values_list("reference", flat=True)
    )
    assert refs == {
        *(f"withdrawal:{w.pk}:reserve" for w in (a, b, c)),
        f"withdrawal:{a.pk}:paid",
        f"withdrawal:{c.pk}:paid",
        f"withdrawal:{b.pk}:return",
    }
    assert ledger_problems(merchant.pk) == []
    # the same file again changes nothing; a different outcome for a final line is a problem
    transactions = LedgerTransaction.objects.for_merchant(merchant).count()
    again = upload(finance, batch["id"], clean, dry_run=False, file_format="xlsx")
    assert again.status_code == 200 and again.json()["unchanged_lines"] == 3
    assert LedgerTransaction.objects.for_merchant(merchant).count() == transactions
    flip = upload(finance, batch["id"], [(b.out_bill_no, "paid", "", "")], dry_run=True)
    assert flip.json()["rows"][0]["problems"] == ["already_final"]
    imported = AuditEvent.objects.for_merchant(merchant).filter(action="payout_batch.results_imported")
    assert [e.changes for e in imported.order_by("pk")] == [
        {"paid_lines": 1, "failed_lines": 1, "unchanged_lines": 1},
        {"paid_lines": 0, "failed_lines": 0, "unchanged_lines": 3},
    ]


@pytest.mark.parametrize(
    ("content", "file_format", "problem"),
    [
        (b"\n", "csv", "The file is empty"),
        (b"ref,state\nW1X1,paid\n", "csv", "Missing columns: reference, status."),
        (b"PK not a workbook", "xlsx", "Not a readable xlsx file"),
        (b"\xff\xfe\x00bad", "csv", "Not a readable csv file"),
    ],
)
def test_an_unreadable_result_file_is_a_400_and_changes_nothing(api, merchant, batch, content, file_format, problem):
    body = {"format": file_format, "content": base64.b64encode(content).decode(), "dry_run": False}
    response = api.staff(merchant, Role.FINANCE).post(
        f"/api/v1/payout-batches/{batch['id']}/results", body, format="json"
    )
    error = assert_error(response, 400, "invalid_result_file")
    assert error["fields"]["content"][0].startswith(problem)
    assert statuses(merchant) == ["processing"] * 3


def test_content_that_is_not_base64_is_a_400(api, merchant, batch):
    body = {"format": "csv", "content": "not base64!", "dry_run": True}
    response = api.staff(merchant, Role.FINANCE).post(
        f"/api/v1/payout-batches/{batch['id']}/results", body, format="json"
    )
    assert assert_error(response, 400)["fields"] == {"content": ["Not base64."]}
