"""Money under concurrency, with real parallel connections: no double spend, no double settlement, and a
refund racing a settlement never leaves money both paid and reversed without a clawback."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from commissions.models import CommissionLine
from distributors.models import Distributor
from ledger import services as ledger
from ledger.checks import ledger_problems
from ledger.models import LedgerTransaction
from merchants.services.programs import program_update
from orders.services import intake
from settlements.models import Withdrawal
from settlements.services import runs, withdrawals
from settlements.services.tax import labour_remuneration_tax
from tests.builders.distributors import join
from tests.builders.factories import make_distributor_token, make_merchant
from tests.builders.settlements import (
    ACTOR,
    SELLER_EARNS,
    balances,
    bank_card,
    due_order,
    labour_seller,
    settle,
    shop_with_due_commission,
)
from tests.helpers import parallel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_background_runs(monkeypatch):
    """Commits here are real, so a new run would be handed to the (eager) task at once: keep it for the
    threads of each test to race over."""
    from distribution import outbox

    monkeypatch.setattr(outbox, "publish", lambda message_id: False)


def owed(merchant, distributor_id: int) -> int:
    b = ledger.distributor_balances(merchant.pk, distributor_id, merchant.currency)
    return b["pending"] + b["available"] + b["withdrawing"] - b["receivable"]


def test_twenty_simultaneous_withdrawals_of_the_whole_balance_spend_it_once():
    merchant = make_merchant("alpha")
    people = shop_with_due_commission(merchant, orders=2)
    settle(merchant)
    program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_requires_real_name": False})
    bank_card(merchant, people["seller"])
    _, key = make_distributor_token(merchant, "seller")

    def withdraw(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        response = client.post(
            "/api/v1/distributor/withdrawals", {"amount": "48.00"}, format="json", HTTP_IDEMPOTENCY_KEY=f"attempt-{i}"
        )
        return response.status_code, response.json()

    results = parallel(20, withdraw)
    assert sorted(status for status, _ in results) == [201] + [422] * 19
    assert {body["error"]["code"] for status, body in results if status == 422} == {"insufficient_balance"}
    assert Withdrawal.objects.for_merchant(merchant).count() == 1
    assert balances(merchant, people["seller"])["available"] == 0
    assert balances(merchant, people["seller"])["withdrawing"] == 2 * SELLER_EARNS
    assert ledger_problems(merchant.pk) == []


def test_eight_workers_on_the_same_run_settle_each_line_exactly_once():
    merchant = make_merchant("alpha")
    people = shop_with_due_commission(merchant)
    for n in range(12):
        recruit = join(merchant, f"r{n}", people["boss"])
        due_order(merchant, recruit.invite_code, f"x{n}")
    run = runs.settlement_request(merchant=merchant, actor=ACTOR)
    assert run.status == "pending"
    expected = {d: owed(merchant, d) for d in Distributor.objects.for_merchant(merchant).values_list("pk", flat=True)}

    parallel(8, lambda i: runs.settlement_execute(run.pk, worker=f"worker-{i}", chunk_size=1, lease=timedelta(0)))
    run.refresh_from_db()
    if run.status != "completed":  # the last lease holder may have lost the lease to a thread that quit
        runs.settlement_execute(run.pk, worker="finisher", lease=timedelta(0))
        run.refresh_from_db()
    lines = CommissionLine.objects.for_merchant(merchant)
    assert run.status == "completed" and run.lines_done == lines.count() == 4 + 12 * 4
    assert set(lines.values_list("status", "settlement_run_id")) == {("settled", run.pk)}
    settle_txns = LedgerTransaction.objects.for_merchant(merchant).filter(kind="settle")
    assert settle_txns.count() == len({line.beneficiary_id for line in lines})  # one per distributor
    for distributor_id, before in expected.items():
        b = ledger.distributor_balances(merchant.pk, distributor_id, merchant.currency)
        assert (b["pending"], b["available"]) == (0, before)
    assert ledger_problems(merchant.pk) == []


def test_refunds_racing_a_settlement_never_leave_paid_and_reversed_without_a_clawback():
    merchant = make_merchant("alpha")
    people = shop_with_due_commission(merchant)
    sellers = [people["seller"]]
    for n in range(15):  # a seller per order, so the run settles them in many small chunks
        sellers.append(join(merchant, f"s{n}", people["boss"]))
        due_order(merchant, sellers[-1].invite_code, f"race-{n}")
    run = runs.settlement_request(merchant=merchant, actor=ACTOR)
    assert run.status == "pending"
    orders = ["o-1", *[f"race-{n}" for n in range(15)]]

    def work(i):
        if i == 0:
            return runs.settlement_execute(run.pk, chunk_size=1)
        for external_id in orders[i - 1 :: 3]:
            intake.order_apply_event(
                merchant=merchant,
                external_id=external_id,
                type_="refunded",
                source="api",
                data={"refund_id": "all", "amount": 24000},
            )
        return None

    parallel(4, work)
    for line in CommissionLine.objects.for_merchant(merchant).filter(kind="commission"):
        clawback = (
            CommissionLine.objects.for_merchant(merchant)
            .filter(kind="clawback", order_item=line.order_item, depth=line.depth, beneficiary=line.beneficiary)
            .first()
        )
        if line.status == "settled":
            assert clawback is not None and clawback.amount == -(line.amount - line.reversed_amount), line
        else:
            assert line.status == "reversed" and line.reversed_amount == line.amount and clawback is None, line
    for distributor in [people["boss"], *sellers]:
        assert owed(merchant, distributor.pk) == 0  # every order was refunded in full: nothing is owed
    assert ledger_problems(merchant.pk) == []


def test_a_distributor_token_and_idempotency_hold_under_a_storm_of_the_same_request():
    merchant = make_merchant("alpha")
    people = shop_with_due_commission(merchant)
    settle(merchant)
    program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_requires_real_name": False})
    bank_card(merchant, people["seller"])
    _, key = make_distributor_token(merchant, "seller")

    def same(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client.post(
            "/api/v1/distributor/withdrawals", {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="one-key"
        ).status_code

    assert set(parallel(10, same)) == {201}
    assert Withdrawal.objects.for_merchant(merchant).count() == 1
    assert ledger_problems(merchant.pk) == []


def test_simultaneous_withdrawals_of_one_person_are_taxed_one_after_the_other():
    """劳务报酬: each is priced on the month so far, so five at once must see each other, in turn."""
    merchant = make_merchant("alpha")
    seller = labour_seller(merchant)

    def withdraw(i):
        return withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=seller, amount=200_000).pk

    parallel(5, withdraw)
    taxes = list(Withdrawal.objects.for_merchant(merchant).order_by("pk").values_list("tax", flat=True))
    # the month at 2,000, 4,000, 6,000, 8,000, 10,000.00: 240.00, 640.00, 960.00, 1,280.00, 1,600.00 in all
    assert taxes == [24_000, 40_000, 32_000, 32_000, 32_000]
    assert sum(taxes) == labour_remuneration_tax(1_000_000)
    assert ledger_problems(merchant.pk) == []
