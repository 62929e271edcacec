"""Tax withheld from payouts: the 劳务报酬 rule at every bracket edge, withholding per withdrawal over a
month (Asia/Shanghai), returned withdrawals, refunds inside and after the month, and the ledger."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger import services as ledger
from ledger.models import Account
from ledger.services import MERCHANT
from merchants.services.programs import program_update
from orders.services import intake
from settlements.services import payouts, withdrawals
from settlements.services.tax import labour_remuneration_tax, labour_taxable, tax_month
from tests.builders.settlements import ACTOR, BIG_ITEM, balances, due_order, labour_seller, pay, settle

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("income", "taxable", "tax"),
    [
        (0, "0", 0),
        (50_000, "0", 0),
        (80_000, "0", 0),  # 800.00: nothing taxable
        (80_001, "1", 0),  # 0.01 taxable: 0.002 of tax rounds to nothing
        (80_003, "3", 1),  # 0.006 rounds half up to 0.01
        (300_000, "220000", 44_000),  # 3,000: (3,000 − 800) × 20% = 440.00
        (399_999, "319999", 64_000),  # 639.998 → 640.00
        (400_000, "320000", 64_000),  # 4,000: the last income with the 800 deduction
        (400_001, "320000.8", 64_000),  # 4,000.01: 80% of it; 640.0016 → 640.00
        (400_010, "320008.0", 64_002),  # 4,000.10: 640.016 → 640.02
        (2_499_999, "1999999.2", 400_000),  # 3,999.9984 → 4,000.00
        (2_500_000, "2000000.0", 400_000),  # 20,000 taxable: the last at 20%
        (2_500_001, "2000000.8", 400_000),  # 30% − 2,000: 4,000.0024 → 4,000.00
        (2_500_010, "2000008.0", 400_002),  # 4,000.024 → 4,000.02
        (6_249_990, "4999992.0", 1_299_998),  # 12,999.976 → 12,999.98
        (6_250_000, "5000000.0", 1_300_000),  # 50,000 taxable: the last at 30%
        (6_250_001, "5000000.8", 1_300_000),  # 40% − 7,000: 13,000.0032 → 13,000.00
        (6_250_010, "5000008.0", 1_300_003),  # 13,000.032 → 13,000.03
        (10_000_000, "8000000.0", 2_500_000),  # 100,000: 80,000 × 40% − 7,000 = 25,000.00
    ],
)
def test_the_tax_on_a_months_income_at_every_bracket_edge(income, taxable, tax):
    assert labour_taxable(income) == Decimal(taxable)
    assert labour_remuneration_tax(income) == tax


def test_the_tax_month_is_shanghais():
    # 2026-01-31 16:00 UTC is 2026-02-01 00:00 in Shanghai: February there.
    start, end = tax_month(datetime(2026, 1, 31, 16, 0, tzinfo=UTC))
    assert (start.isoformat(), end.isoformat()) == ("2026-02-01T00:00:00+08:00", "2026-03-01T00:00:00+08:00")
    start, end = tax_month(datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC))
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")


# --- withholding per withdrawal ----------------------------------------------------------------------------
@pytest.fixture
def seller(merchant):
    return labour_seller(merchant)


@pytest.fixture
def at(monkeypatch):
    """Set the clock: at("2026-01-31T23:59:00+08:00")."""

    def set_clock(when: str):
        moment = datetime.fromisoformat(when)
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_clock


def request(merchant, seller, amount):
    return withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=seller, amount=amount)


def tax_payable(merchant) -> int:
    return ledger.balance(merchant.pk, MERCHANT, merchant.pk, Account.Kind.TAX_PAYABLE, "CNY")


def test_each_withdrawal_withholds_the_months_tax_so_far_less_what_was_withheld(merchant, seller):
    first = request(merchant, seller, 300_000)  # month 3,000.00: 440.00
    second = request(merchant, seller, 200_000)  # month 5,000.00: 4,000 taxable → 800.00, less 440.00
    third = request(merchant, seller, 500_000)  # month 10,000.00: 8,000 × 20% = 1,600.00, less 800.00
    assert [(w.tax, w.net_amount) for w in (first, second, third)] == [
        (44_000, 256_000),
        (36_000, 164_000),
        (80_000, 420_000),
    ]
    assert labour_remuneration_tax(1_000_000) == 160_000 == first.tax + second.tax + third.tax
    pay(merchant, first, second, third)
    assert tax_payable(merchant) == 160_000
    assert balances(merchant, seller)["paid_out"] == 1_000_000 - 160_000


def test_the_fee_is_not_income(merchant, seller):
    program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_fee_fixed": 100_000})
    withdrawal = request(merchant, seller, 500_000)  # income 4,000.00 after the 1,000.00 fee: 640.00
    assert (withdrawal.fee, withdrawal.tax, withdrawal.net_amount) == (100_000, 64_000, 336_000)


def test_a_new_month_in_shanghai_starts_a_new_payment(merchant, seller, at):
    at("2026-01-31T23:59:00+08:00")
    january = request(merchant, seller, 300_000)
    at("2026-02-01T00:00:30+08:00")  # still 31 January in UTC
    february = request(merchant, seller, 300_000)
    at("2026-02-27T12:00:00+08:00")
    later = request(merchant, seller, 300_000)  # February's second: 6,000.00 → 960.00, less 440.00
    assert (january.tax, february.tax, later.tax) == (44_000, 44_000, 52_000)


def test_a_rejected_or_failed_withdrawal_leaves_the_months_base(merchant, seller):
    first = request(merchant, seller, 300_000)  # 440.00
    second = request(merchant, seller, 200_000)  # 360.00 (on a month of 5,000.00 with the first)
    withdrawals.withdrawal_reject(merchant=merchant, actor=ACTOR, withdrawal_id=first.pk, reason="no")
    # the month is now the second's 2,000.00 and this 1,000.00: 3,000.00 → 440.00, less the 360.00 withheld
    third = request(merchant, seller, 100_000)
    assert third.tax == 8_000
    assert second.tax + third.tax == labour_remuneration_tax(300_000)
    withdrawals.withdrawal_approve(merchant=merchant, actor=ACTOR, withdrawal_id=third.pk)
    payouts.withdrawals_export(merchant=merchant, actor=ACTOR)
    payouts.withdrawal_mark(merchant=merchant, actor=ACTOR, withdrawal_id=third.pk, paid=False, reason="closed")
    fourth = request(merchant, seller, 100_000)  # the failed one left too: again 3,000.00 in all
    assert fourth.tax == 8_000
    pay(merchant, second, fourth)
    assert tax_payable(merchant) == 44_000 == labour_remuneration_tax(300_000)
    assert balances(merchant, seller)["available"] == 1_000_000 - 300_000


def test_an_over_withholding_left_by_a_return_is_never_negative(merchant, seller):
    first = request(merchant, seller, 300_000)
    second = request(merchant, seller, 200_000)  # 360.00
    withdrawals.withdrawal_reject(merchant=merchant, actor=ACTOR, withdrawal_id=first.pk, reason="no")
    # 2,500.00 in the month owes 340.00, and 360.00 is withheld already: nothing more, and nothing back
    third = request(merchant, seller, 50_000)
    assert (third.tax, third.net_amount) == (0, 50_000)
    fourth = request(merchant, seller, 150_000)  # 4,000.00 in all → 640.00, less 360.00
    assert fourth.tax == 28_000 and second.tax + third.tax + fourth.tax == labour_remuneration_tax(400_000)


def refund(merchant, refund_id: str, amount: int):
    """A refund of `amount` of the big order's item: the seller's 10% of it is clawed back."""
    intake.order_apply_event(
        merchant=merchant,
        external_id="o-1",
        type_="refunded",
        source="api",
        data={
            "refund_id": refund_id,
            "items": [{"line_id": "L1", "amount": amount}],
            "occurred_at": datetime.now(UTC),  # the real time: the order was paid before it, whatever the clock
        },
    )


def test_a_refund_inside_the_month_lowers_what_is_paid_and_so_the_base(merchant, seller):
    first = request(merchant, seller, 300_000)
    pay(merchant, first)
    refund(merchant, "r-1", 5_000_000)  # 500.00 clawed back from the 7,000.00 available
    assert balances(merchant, seller)["available"] == 200_000
    second = request(merchant, seller, 200_000)  # the month paid 5,000.00 (not 10,000.00): 800.00, less 440.00
    first.refresh_from_db()
    assert (first.tax, second.tax) == (44_000, 36_000)
    pay(merchant, second)
    assert tax_payable(merchant) == 80_000


def test_a_clawback_of_paid_money_keeps_the_tax_and_is_not_counted_twice(merchant, seller):
    everything = request(merchant, seller, 1_000_000)  # 1,600.00
    pay(merchant, everything)
    refund(merchant, "r-1", 10_000_000)  # the whole commission back: a receivable of 10,000.00
    assert balances(merchant, seller)["receivable"] == 1_000_000
    assert tax_payable(merchant) == 160_000  # withheld tax is not given back
    # a new order in the month earns 15,000.00: 10,000.00 repays the receivable, 5,000.00 can be withdrawn
    due_order(merchant, seller.invite_code, "o-2", items=[{**BIG_ITEM[0], "unit_price": 15_000_000}])
    settle(merchant)
    assert balances(merchant, seller)["available"] == 500_000
    # paid in the month: 15,000.00, what the seller earned net of the refund: 12,000 taxable → 2,400.00
    rest = request(merchant, seller, 500_000)
    assert rest.tax == labour_remuneration_tax(1_500_000) - 160_000 == 80_000


def test_a_refund_after_the_month_changes_neither_that_month_nor_the_next_base(merchant, seller, at):
    at("2026-01-20T10:00:00+08:00")
    january = request(merchant, seller, 300_000)
    pay(merchant, january)
    at("2026-02-03T10:00:00+08:00")
    refund(merchant, "r-1", 5_000_000)  # 500.00 back from February's available 7,000.00
    january.refresh_from_db()
    february = request(merchant, seller, 200_000)  # February alone: (2,000 − 800) × 20% = 240.00
    assert (january.tax, february.tax) == (44_000, 24_000)
    pay(merchant, february)
    assert tax_payable(merchant) == 68_000


def test_the_other_modes(merchant, seller):
    program_update(merchant=merchant, actor=ACTOR, changes={"tax_mode": "none"})
    assert request(merchant, seller, 300_000).tax == 0
    program_update(merchant=merchant, actor=ACTOR, changes={"tax_mode": "flat_rate", "tax_withholding_bps": 1000})
    assert request(merchant, seller, 300_000).tax == 30_000
