"""Tax withheld from payouts, by the program's tax mode (`DistributionProgram.TaxMode`).

* `none`: nothing is withheld.
* `flat_rate`: `tax_withholding_bps` of the payout's income.
* `labour_remuneration`: individual income tax on labour remuneration (劳务报酬所得), withheld in advance
  (预扣预缴). What one merchant pays one distributor in a calendar month (Asia/Shanghai) is one payment
  (同一项目连续性收入，以一个月内取得的收入为一次), so each withdrawal withholds the tax on the month's
  income so far, this withdrawal included, minus the tax the month's other withdrawals withhold.

A payout's income is its amount less the withdrawal fee (what the merchant pays the person). The tax is
fixed when the withdrawal is requested: its net amount is what the distributor is shown and what is paid.
The month's base counts the withdrawals requested in the month that are still live (requested, approved,
processing or paid); one that is rejected or fails returns its money and leaves the base and the tax
withheld with it, so the next withdrawal of the month brings the month's total to the tax on what is
really paid. docs/money-flow.md ("Tax") states the rules for returns, refunds and clawbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import F, Sum
from django.utils import timezone

from distribution.money import apply_bps, round_minor
from distributors.models import Distributor
from ledger import services as ledger
from ledger.models import Account
from merchants.models import DistributionProgram, Merchant
from settlements.models import Withdrawal

TAX_ZONE = ZoneInfo("Asia/Shanghai")  # the tax month is China's, whatever the merchant's display zone
# 劳务报酬: income up to 4,000 yuan less 800 yuan; above it, 80% of the income (amounts in fen).
FIXED_DEDUCTION = 80_000
FIXED_DEDUCTION_LIMIT = 400_000
PERCENT_KEPT = Decimal("0.8")
# (taxable up to, rate, quick deduction), fen; the last bracket has no upper limit.
BRACKETS: tuple[tuple[int | None, Decimal, int], ...] = (
    (2_000_000, Decimal("0.20"), 0),
    (5_000_000, Decimal("0.30"), 200_000),
    (None, Decimal("0.40"), 700_000),
)
RETURNED = Withdrawal.Status.REJECTED, Withdrawal.Status.FAILED  # not in the base: their money went back


def labour_taxable(income: int) -> Decimal:
    """The exact taxable amount (应纳税所得额) of a month's income in fen, not rounded."""
    if income <= FIXED_DEDUCTION_LIMIT:
        return Decimal(max(income - FIXED_DEDUCTION, 0))
    return Decimal(income) * PERCENT_KEPT


def labour_remuneration_tax(income: int) -> int:
    """The tax on a month's labour remuneration of `income` fen: the bracket's rate of the exact taxable
    amount less its quick deduction, rounded once, half up."""
    taxable = labour_taxable(income)
    for limit, rate, quick_deduction in BRACKETS:
        if limit is None or taxable <= limit:
            return max(round_minor(taxable * rate - quick_deduction), 0)
    raise AssertionError("the last bracket has no limit")  # pragma: no cover


def tax_month(at: datetime) -> tuple[datetime, datetime]:
    """The calendar month (Asia/Shanghai) holding `at`: [start, end)."""
    local = at.astimezone(TAX_ZONE)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return start, end


def month_bounds(month: tuple[int, int]) -> tuple[datetime, datetime]:
    """(year, month) → its [start, end) in Asia/Shanghai."""
    return tax_month(datetime(month[0], month[1], 1, 12, tzinfo=TAX_ZONE))


@dataclass(frozen=True)
class MonthSoFar:
    income: int  # the live withdrawals' income (amount − fee)
    withheld: int  # their tax


def month_so_far(merchant: Merchant, distributor_id: int, at: datetime) -> MonthSoFar:
    """The distributor's live withdrawals requested in the tax month of `at`."""
    start, end = tax_month(at)
    totals = (
        Withdrawal.objects.for_merchant(merchant)
        .filter(distributor_id=distributor_id, requested_at__gte=start, requested_at__lt=end)
        .exclude(status__in=RETURNED)
        .aggregate(income=Sum(F("amount") - F("fee")), withheld=Sum("tax"))
    )
    return MonthSoFar(income=totals["income"] or 0, withheld=totals["withheld"] or 0)


def withholding_tax(*, merchant: Merchant, program: DistributionProgram, distributor: Distributor, income: int) -> int:
    """The tax to withhold from a withdrawal being requested now whose income is `income` fen.

    In the labour remuneration mode the distributor's available balance is locked first (the lock the
    reservation takes next), so two requests of one person are priced one after the other."""
    mode = DistributionProgram.TaxMode
    if program.tax_mode == mode.NONE:
        return 0
    if program.tax_mode == mode.FLAT_RATE:
        return apply_bps(income, program.tax_withholding_bps)
    ledger.locked_balance(merchant.pk, distributor.pk, Account.Kind.AVAILABLE, merchant.currency)
    so_far = month_so_far(merchant, distributor.pk, timezone.now())
    return max(labour_remuneration_tax(so_far.income + income) - so_far.withheld, 0)
