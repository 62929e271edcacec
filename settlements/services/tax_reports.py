"""The monthly tax report (个税扣缴申报) of a merchant: per person, the month's paid income, the taxable
amount and tax due under the 劳务报酬 rule, and the tax withheld, with the real name and ID number the
filing needs. The identity is decrypted for it, so every download is audited (who, when, which month).

A month is a tax month (Asia/Shanghai, settlements.services.tax): a withdrawal belongs to the month in
which it was requested, when its tax was fixed, and is in the report once it is paid.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, F, Sum

from distribution import crypto
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.inputs import parse_month
from distribution.money import format_amount, round_minor
from distributors.models import Distributor
from merchants.models import Merchant
from settlements.models import Withdrawal
from settlements.services.tax import labour_remuneration_tax, labour_taxable, month_bounds

TAX_REPORT_COLUMNS = [
    "month",
    "distributor_id",
    "display_name",
    "real_name",
    "id_type",
    "id_number",
    "income",
    "taxable",
    "tax_due",
    "tax_withheld",
    "payouts",
    "currency",
]
ReportRow = list[str | int]


def _clear(encrypted: str) -> str:
    return crypto.decrypt(encrypted) if encrypted else ""


@transaction.atomic
def tax_report(*, merchant: Merchant, actor: Actor, month: str, file_format: str) -> list[ReportRow]:
    """The report's rows under TAX_REPORT_COLUMNS, one per distributor paid in `month` ('YYYY-MM'); the
    download (with its unmasked identities) is audited."""
    start, end = month_bounds(parse_month(month))
    totals = (
        Withdrawal.objects.for_merchant(merchant)
        .filter(status=Withdrawal.Status.PAID, requested_at__gte=start, requested_at__lt=end)
        .values("distributor_id")
        .annotate(income=Sum(F("amount") - F("fee")), withheld=Sum("tax"), payouts=Count("id"))
        .order_by("distributor_id")
    )
    people = Distributor.objects.for_merchant(merchant).in_bulk([t["distributor_id"] for t in totals])
    currency = merchant.currency
    rows: list[ReportRow] = []
    for t in totals:
        person = people[t["distributor_id"]]
        rows.append(
            [
                month,
                person.pk,
                person.display_name,
                _clear(person.real_name_encrypted),
                person.id_type,
                _clear(person.id_number_encrypted),
                format_amount(t["income"], currency),
                format_amount(round_minor(labour_taxable(t["income"])), currency),
                format_amount(labour_remuneration_tax(t["income"]), currency),
                format_amount(t["withheld"], currency),
                t["payouts"],
                currency,
            ]
        )
    audit_record(
        merchant=merchant,
        actor=actor,
        action="tax_report.downloaded",
        object_type="tax_report",
        object_id=month,
        changes={"format": file_format, "people": len(rows), "distributors": sorted(people)},
    )
    return rows
