"""The bank's result file for a payout batch: which lines it paid and which it refused.

The file is a CSV or XLSX with a header row naming the columns `reference` (our `out_bill_no`, as in the
batch's file), `status` (`paid`/`success`/`成功` or `failed`/`fail`/`失败`), `reason` (why a line failed) and,
when the bank gives it, `amount` (what it paid, checked against the line). A dry run reports every row
with its problems and changes nothing; the real import applies the whole file or, when any row has a
problem, nothing. A row that repeats a line's final state already recorded is `unchanged`, so a file can be
imported again safely. A failed line returns its money to the distributor's available balance.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from distribution import exports
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import NotFound
from distribution.money import MoneyFormatError, parse_amount
from merchants.models import Merchant
from settlements.errors import InvalidResultFile, ResultFileProblems
from settlements.models import PayoutBatch, Withdrawal
from settlements.services.withdrawals import finish_withdrawal

W = Withdrawal.Status
MAX_ROWS = 10_000
STATUSES = {"paid": W.PAID, "success": W.PAID, "成功": W.PAID, "failed": W.FAILED, "fail": W.FAILED, "失败": W.FAILED}
REQUIRED_COLUMNS = ("reference", "status")
COLUMNS = (*REQUIRED_COLUMNS, "reason", "amount")


@dataclass
class ResultRow:
    row: int  # the row's number in the file (the header is row 1)
    reference: str
    status: str
    reason: str
    amount: str
    action: str = ""  # paid, failed, unchanged; empty when the row has a problem
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "reference": self.reference,
            "status": self.status,
            "action": self.action,
            "problems": self.problems,
        }


def read_result_file(content: bytes, file_format: str) -> list[ResultRow]:
    """The file's rows, or InvalidResultFile when it cannot be read as a table with the required columns."""
    try:
        table = exports.read_xlsx(content) if file_format == "xlsx" else _csv_rows(content)
    except (ValueError, csv.Error) as exc:
        raise InvalidResultFile(fields={"content": [f"Not a readable {file_format} file: {exc}"[:200]]}) from exc
    if not table or not any(table[0]):
        raise InvalidResultFile(fields={"content": ["The file is empty (or its first row, the header, is)."]})
    header = [str(cell or "").strip().lower() for cell in table[0]]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InvalidResultFile(fields={"content": [f"Missing columns: {', '.join(missing)}."]})
    if len(table) - 1 > MAX_ROWS:
        raise InvalidResultFile(fields={"content": [f"At most {MAX_ROWS} rows."]})
    where = {name: header.index(name) for name in COLUMNS if name in header}
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = {name: _cell(cells, index) for name, index in where.items()}
        if not any(values.values()):
            continue  # a blank line
        rows.append(
            ResultRow(
                row=number,
                reference=values["reference"],
                status=values["status"],
                reason=values.get("reason", ""),
                amount=values.get("amount", ""),
            )
        )
    return rows


def _cell(cells: list[Any], index: int) -> str:
    value = cells[index] if index < len(cells) else None
    return "" if value is None else str(value).strip()


def _csv_rows(content: bytes) -> list[list[Any]]:
    text = content.decode("utf-8-sig")
    return [list(row) for row in csv.reader(io.StringIO(text))]


def _check(rows: list[ResultRow], lines: dict[str, Withdrawal]) -> None:
    """Each row's action, or its problems."""
    seen: set[str] = set()
    for row in rows:
        line = lines.get(row.reference)
        target = STATUSES.get(row.status.lower())
        if not row.reference:
            row.problems.append("missing_reference")
        elif row.reference in seen:
            row.problems.append("duplicate_reference")
        elif line is None:
            row.problems.append("unknown_reference")
        seen.add(row.reference)
        if target is None:
            row.problems.append("bad_status")
        if row.amount and line is not None:
            try:
                paid = parse_amount(row.amount, line.currency)
            except MoneyFormatError:
                row.problems.append("bad_amount")
            else:
                if paid != line.net_amount:
                    row.problems.append("amount_mismatch")
        if line is None or target is None or row.problems:
            continue
        if line.status == target:
            row.action = "unchanged"
        elif line.status != W.PROCESSING:
            row.problems.append("already_final")
        else:
            row.action = "paid" if target == W.PAID else "failed"


def _report(batch: PayoutBatch, rows: list[ResultRow], lines: dict[str, Withdrawal], dry_run: bool) -> dict[str, Any]:
    in_file = {row.reference for row in rows}
    return {
        "batch": batch.pk,
        "dry_run": dry_run,
        "rows": [row.as_dict() for row in rows],
        "paid_lines": sum(row.action == "paid" for row in rows),
        "failed_lines": sum(row.action == "failed" for row in rows),
        "unchanged_lines": sum(row.action == "unchanged" for row in rows),
        "problem_rows": sum(bool(row.problems) for row in rows),
        "not_in_file": sorted(ref for ref, w in lines.items() if ref not in in_file and w.status == W.PROCESSING),
    }


@transaction.atomic
def payout_batch_import_results(
    *, merchant: Merchant, actor: Actor, batch_id: int, content: bytes, file_format: str, dry_run: bool
) -> dict[str, Any]:
    """Check (dry run) or apply the bank's result file to the batch's lines; the report of every row."""
    batch = PayoutBatch.objects.for_merchant(merchant).select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("Payout batch not found.")
    rows = read_result_file(content, file_format)
    withdrawals = Withdrawal.objects.for_merchant(merchant).filter(batch=batch).order_by("pk")
    lines = {w.out_bill_no: w for w in (withdrawals if dry_run else withdrawals.select_for_update())}
    _check(rows, lines)
    report = _report(batch, rows, lines, dry_run)
    if dry_run:
        return report
    if report["problem_rows"]:
        raise ResultFileProblems(extra={"report": report})
    for row in rows:
        if row.action in ("paid", "failed"):
            reason = row.reason or ("" if row.action == "paid" else "refused by the bank")
            finish_withdrawal(
                lines[row.reference],
                merchant=merchant,
                actor=actor,
                paid=row.action == "paid",
                reason=f"bank result file: {reason}" if reason else "bank result file",
            )
    audit_record(
        merchant=merchant,
        actor=actor,
        action="payout_batch.results_imported",
        obj=batch,
        changes={key: report[key] for key in ("paid_lines", "failed_lines", "unchanged_lines")},
    )
    return report
