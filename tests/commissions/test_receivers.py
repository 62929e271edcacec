"""What blacklisting does to a distributor's commission under each program policy (freeze or forfeit),
and the merchant's forfeit of frozen commission (`POST /api/v1/distributors/{id}/forfeit-commission`)."""

from __future__ import annotations

import pytest

from commissions.models import CommissionLine
from distributors.models import Distributor
from distributors.services import blacklist, lifecycle
from ledger.models import LedgerTransaction
from merchants.roles import Role
from merchants.services.programs import program_update
from orders.services import intake
from settlements.services import withdrawals
from tests.builders.distributors import ACTOR
from tests.builders.settlements import (
    INVITER_EARNS,
    SELLER_EARNS,
    balances,
    bank_card,
    due_order,
    settle,
    setup_shop,
)
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


class TestCommissionPolicy:
    """The seller has 48.00 available (two settled orders), 24.00 due but unsettled and 24.00 pending
    (an order not yet completed), and a 10.00 withdrawal waiting for approval."""

    @pytest.fixture
    def shop(self, merchant):
        people = setup_shop(merchant)
        code = people["seller"].invite_code
        due_order(merchant, code, "o-1")
        due_order(merchant, code, "o-2")
        settle(merchant)
        due_order(merchant, code, "o-3")
        due_order(merchant, code, "o-4", completed=False)
        program_update(merchant=merchant, actor=ACTOR, changes={"withdrawal_requires_real_name": False})
        seller = Distributor.objects.get(pk=people["seller"].pk)
        bank_card(merchant, seller)
        withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=seller, amount=1000)
        assert balances(merchant, seller) == {
            "pending": 2 * SELLER_EARNS,
            "available": 2 * SELLER_EARNS - 1000,
            "withdrawing": 1000,
            "paid_out": 0,
            "receivable": 0,
        }
        return people

    def blacklist_seller(self, merchant, people):
        return blacklist.blacklist_add(
            merchant=merchant, actor=ACTOR, kind="distributor", distributor_id=people["seller"].pk, reason="fraud"
        )

    def test_freeze_holds_the_commission_in_settlement_until_the_merchant_decides(self, api, merchant, shop):
        self.blacklist_seller(merchant, shop)
        run = settle(merchant)
        seller, boss = shop["seller"], shop["boss"]
        assert run.lines_done == 2  # only the boss's lines of o-3
        assert balances(merchant, seller)["pending"] == 2 * SELLER_EARNS
        assert balances(merchant, boss)["available"] == 3 * INVITER_EARNS
        # the merchant decides: forfeit (finance only)
        url = f"/api/v1/distributors/{seller.pk}/forfeit-commission"
        assert_error(api.staff(merchant, Role.OPERATOR).post(url, {"reason": "fraud"}, format="json"), 403)
        finance = api.staff(merchant, Role.FINANCE)
        response = finance.post(url, {"reason": "fraud"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json() == {"lines_reversed": 4, "unsettled": "48.00", "available": "38.00"}
        assert balances(merchant, seller) == {
            "pending": 0,
            "available": 0,
            "withdrawing": 1000,
            "paid_out": 0,
            "receivable": 0,
        }
        forfeit = LedgerTransaction.objects.for_merchant(merchant).get(kind="forfeit")
        assert sorted(forfeit.postings.values_list("amount", flat=True)) == [-3800, 3800]
        # the withdrawal still waiting is the merchant's to reject; forfeiting again then takes that too
        withdrawal = withdrawals.Withdrawal.objects.for_merchant(merchant).get()
        withdrawals.withdrawal_reject(merchant=merchant, actor=ACTOR, withdrawal_id=withdrawal.pk, reason="fraud")
        again = finance.post(url, {"reason": "the rest"}, format="json").json()
        assert again == {"lines_reversed": 0, "unsettled": "0.00", "available": "10.00"}
        assert balances(merchant, seller)["available"] == 0

    def test_reactivation_releases_frozen_commission_to_the_next_run(self, merchant, shop):
        entry, _ = self.blacklist_seller(merchant, shop)
        settle(merchant)
        blacklist.blacklist_remove(merchant=merchant, actor=ACTOR, entry_id=entry.pk, reason="cleared")
        lifecycle.distributor_reactivate(
            merchant=merchant, actor=ACTOR, distributor_id=shop["seller"].pk, reason="cleared"
        )
        assert settle(merchant).lines_done == 2
        assert balances(merchant, shop["seller"])["available"] == 3 * SELLER_EARNS - 1000

    def test_forfeit_policy_reverses_at_once_and_books_it_back_to_the_merchant(self, api, merchant, shop):
        program_update(merchant=merchant, actor=ACTOR, changes={"blacklist_commission_policy": "forfeit"})
        self.blacklist_seller(merchant, shop)
        seller = shop["seller"]
        assert balances(merchant, seller) == {
            "pending": 0,
            "available": 0,
            "withdrawing": 1000,
            "paid_out": 0,
            "receivable": 0,
        }
        lines = CommissionLine.objects.for_merchant(merchant).filter(beneficiary=seller)
        assert sorted(lines.values_list("order__external_id", "status")) == [
            ("o-1", "settled"),
            ("o-1", "settled"),
            ("o-2", "settled"),
            ("o-2", "settled"),
            ("o-3", "reversed"),
            ("o-3", "reversed"),
            ("o-4", "reversed"),
            ("o-4", "reversed"),
        ]
        assert LedgerTransaction.objects.for_merchant(merchant).filter(kind="forfeit").count() == 1
        assert balances(merchant, shop["boss"])["pending"] == 2 * INVITER_EARNS  # the upline keeps theirs
        # a refund of a forfeited order later takes nothing more from the seller
        intake.order_apply_event(
            merchant=merchant,
            external_id="o-4",
            type_="refunded",
            source="api",
            data={"refund_id": "r-1", "amount": 24_000},
        )
        assert balances(merchant, seller)["pending"] == 0
        assert balances(merchant, shop["boss"])["pending"] == INVITER_EARNS

    def test_only_a_blacklisted_distributors_commission_can_be_forfeited(self, api, merchant, shop):
        response = api.staff(merchant, Role.FINANCE).post(
            f"/api/v1/distributors/{shop['seller'].pk}/forfeit-commission", {"reason": "x"}, format="json"
        )
        assert_error(response, 409, "not_blacklisted")
        assert not LedgerTransaction.objects.for_merchant(merchant).filter(kind="forfeit").exists()
