"""Risk checks: every periodic rule with its evidence, the blacklist sweep, the application check, the
merchant's review of flags, and what blacklisting does to commission under each program policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from commissions.models import CommissionLine
from distribution import crypto
from distributors.models import Application, BlacklistEntry, CustomerBinding, Distributor
from distributors.services import applications, bindings, blacklist, lifecycle
from ledger.models import LedgerTransaction
from merchants.roles import Role
from merchants.services.programs import program_update
from orders.services import intake
from risk import rules
from risk.models import RiskFlag
from risk.services import application_check, risk_sweep
from settlements.services import withdrawals
from tests.distributors.helpers import ACTOR, join
from tests.helpers import assert_error
from tests.orders.helpers import raw_order
from tests.settlements.helpers import INVITER_EARNS, SELLER_EARNS, balances, due_order, settle, setup_shop

pytestmark = pytest.mark.django_db


def flags(merchant, rule=None):
    qs = RiskFlag.objects.for_merchant(merchant).order_by("id")
    if rule:
        qs = qs.filter(rule=rule)
    return list(qs.values_list("rule", "distributor_id", "evidence", "status"))


class TestRules:
    def test_one_phone_shared_by_several_distributors(self, merchant):
        a = join(merchant, "a", phone="13800000001")
        b = join(merchant, "b", phone="138 0000 0001")
        join(merchant, "c", phone="13800000002")
        gone = join(merchant, "gone", phone="13800000001")
        lifecycle.distributor_remove(
            merchant=merchant, actor=ACTOR, distributor_id=gone.pk, reason="left", customers="release"
        )
        result = risk_sweep(merchant=merchant)
        assert result["shared_identity"] == 2
        evidence = {"shared": "phone", "value": "138****0001", "distributors": [a.pk, b.pk]}
        assert flags(merchant) == [
            ("shared_identity", a.pk, evidence, "open"),
            ("shared_identity", b.pk, evidence, "open"),
        ]
        assert risk_sweep(merchant=merchant)["shared_identity"] == 0  # one open flag per subject

    def test_a_refund_rate_far_above_the_merchants_normal(self, merchant):
        now = timezone.now()
        normal, bad, few = join(merchant, "normal"), join(merchant, "bad"), join(merchant, "few")
        for _ in range(60):
            raw_order(merchant, normal, 10_000, now - timedelta(days=3))
        for n in range(5):
            raw_order(merchant, bad, 10_000, now - timedelta(days=3), refunded=10_000 if n < 4 else 0)
        for _ in range(4):  # all refunded, but too few orders to judge
            raw_order(merchant, few, 10_000, now - timedelta(days=3), refunded=10_000)
        raw_order(merchant, bad, 10_000, now - timedelta(days=91), refunded=10_000)  # outside the 90 days
        # the merchant's normal: 80,000 refunded of 690,000 paid = 11.59%; bad: 80% ≥ 3× and ≥ +30 points
        hits = rules.refund_rate(merchant.pk, now)
        assert [(h.subject, h.distributor_id, h.evidence) for h in hits] == [
            (
                f"d{bad.pk}",
                bad.pk,
                {
                    "orders": 5,
                    "paid": "500.00",
                    "refunded": "400.00",
                    "refund_rate_bps": 8000,
                    "merchant_rate_bps": 1159,
                    "window_days": 90,
                },
            )
        ]

    def test_a_refund_rate_just_under_three_times_normal_is_not_a_hit(self, merchant):
        now = timezone.now()
        normal, edge = join(merchant, "normal"), join(merchant, "edge")
        for n in range(10):
            raw_order(merchant, normal, 10_000, now - timedelta(days=1), refunded=10_000 if n < 1 else 0)
        for n in range(5):
            raw_order(merchant, edge, 10_000, now - timedelta(days=1), refunded=10_000 if n < 2 else 0)
        # normal = 30,000 / 150,000 = 20%; edge 40% < 3 × 20%
        assert rules.refund_rate(merchant.pk, now) == []

    def test_a_burst_of_self_purchases(self, merchant):
        now = timezone.now()
        burst, spread = join(merchant, "burst"), join(merchant, "spread")
        for n in range(5):
            raw_order(
                merchant,
                burst,
                1_000,
                now - timedelta(hours=30 - n * 5),
                customer="burst",
                self_purchase=True,
                external_id=f"b{n}",
            )
        for n in range(5):  # five, but never five within 24 hours
            raw_order(
                merchant,
                spread,
                1_000,
                now - timedelta(hours=6 * 24 - n * 30),
                customer="spread",
                self_purchase=True,
                external_id=f"s{n}",
            )
        raw_order(
            merchant, burst, 1_000, now - timedelta(days=8), customer="burst", self_purchase=True, external_id="old"
        )
        hits = rules.self_purchase_burst(merchant.pk, now)
        assert [(h.distributor_id, h.evidence) for h in hits] == [
            (burst.pk, {"max_in_24h": 5, "self_purchases": ["b0", "b1", "b2", "b3", "b4"], "lookback_days": 7})
        ]

    def test_a_customer_switched_again_and_again(self, merchant):
        program_update(
            merchant=merchant, actor=ACTOR, changes={"binding_mode": "last_touch", "binding_protection_days": 0}
        )
        a, b = join(merchant, "a"), join(merchant, "b")
        start = timezone.now() - timedelta(days=10)
        for n, who in enumerate([a, b, a, b]):
            bindings.binding_record_visit(
                merchant=merchant,
                customer_external_id="hopper",
                share_code=who.invite_code,
                visited_at=start + timedelta(days=n),
            )
        for n, who in enumerate([a, b, a]):  # two switches: under the threshold
            bindings.binding_record_visit(
                merchant=merchant,
                customer_external_id="calm",
                share_code=who.invite_code,
                visited_at=start + timedelta(days=n),
            )
        ended = CustomerBinding.objects.for_merchant(merchant).filter(customer_external_id="hopper", status="ended")
        assert set(ended.values_list("end_reason", flat=True)) == {"replaced"} and ended.count() == 3
        hits = rules.customer_switching(merchant.pk, timezone.now())
        assert [(h.subject, h.distributor_id, h.evidence) for h in hits] == [
            (
                "customer:hopper",
                None,
                {"customer": "hopper", "switches": 3, "distributors": sorted([a.pk, b.pk]), "window_days": 30},
            )
        ]
        risk_sweep(merchant=merchant)
        assert flags(merchant, "customer_switching") == [("customer_switching", None, hits[0].evidence, "open")]

    def test_a_reviewed_flag_does_not_come_back_every_night(self, api, merchant):
        join(merchant, "a", phone="13800000001")
        join(merchant, "b", phone="13800000001")
        risk_sweep(merchant=merchant)
        first = RiskFlag.objects.for_merchant(merchant).order_by("id").first()
        staff = api.staff(merchant, Role.OPERATOR)
        staff.post(f"/api/v1/risk-flags/{first.pk}/review", {"action": "dismiss", "note": "siblings"}, format="json")
        assert risk_sweep(merchant=merchant)["shared_identity"] == 0
        assert RiskFlag.objects.for_merchant(merchant).count() == 2
        RiskFlag.objects.filter(pk=first.pk).update(reviewed_at=timezone.now() - timedelta(days=31))
        assert risk_sweep(merchant=merchant)["shared_identity"] == 1  # a month later, it is raised again


class TestBlacklistSweep:
    def test_a_live_entry_added_behind_the_services_back_blacklists_its_matches(self, merchant):
        a = join(merchant, "a", phone="13800000001")
        b = join(merchant, "b")
        join(merchant, "c")
        # entries the services did not apply (the admin, an import): the sweep catches them
        BlacklistEntry.objects.create(
            merchant=merchant,
            kind="phone",
            value_hash=crypto.keyed_hash("phone", "13800000001"),
            value_display="138****0001",
            reason="fraud ring",
            added_by="import",
        )
        BlacklistEntry.objects.create(
            merchant=merchant,
            kind="external_user_id",
            value_hash=crypto.keyed_hash("external_user_id", "b"),
            value_display="b",
            reason="chargebacks",
            added_by="import",
        )
        result = risk_sweep(merchant=merchant)
        assert sorted(result["blacklisted"]) == sorted([a.pk, b.pk])
        statuses = dict(Distributor.objects.for_merchant(merchant).values_list("external_user_id", "status"))
        assert statuses == {"a": "blacklisted", "b": "blacklisted", "c": "active"}
        assert risk_sweep(merchant=merchant)["blacklisted"] == []


class TestApplicationCheck:
    def submit(self, merchant, user, **kwargs):
        return applications.application_submit(
            merchant=merchant, actor=ACTOR, external_user_id=user, channel=Application.Channel.SERVER, **kwargs
        )

    def test_hold_mode_approves_a_clean_applicant_after_the_check_and_holds_a_hit(self, merchant):
        program_update(merchant=merchant, actor=ACTOR, changes={"application_risk_check": "hold"})
        first = join(merchant, "first", phone="13800000001")
        assert first.status == "applied"  # held for the check
        assert application_check(Application.objects.get(distributor=first).pk) == {"hit": False}
        first.refresh_from_db()
        assert first.status == "active"

        twin = self.submit(merchant, "twin", phone="13800000001")
        assert application_check(twin.pk) == {"hit": True, "others": [first.pk]}
        twin.refresh_from_db()
        assert (twin.status, twin.distributor.status) == ("pending", "applied")
        assert flags(merchant) == [
            ("application", twin.distributor_id, {"application": twin.pk, "shares_identity_with": [first.pk]}, "open")
        ]

    def test_flag_mode_approves_at_once_and_flags_a_hit(self, merchant):
        first = join(merchant, "first", phone="13800000001")
        twin = self.submit(merchant, "twin", phone="13800000001")
        assert twin.status == "approved"
        application_check(twin.pk)
        assert [f[0:2] for f in flags(merchant)] == [("application", twin.distributor_id)]
        assert first.status == "active"

    def test_the_blacklist_refuses_at_once(self, api, merchant):
        blacklist.blacklist_add(merchant=merchant, actor=ACTOR, kind="phone", value="13800000009", reason="fraud")
        staff = api.staff(merchant, Role.OPERATOR)
        response = staff.post("/api/v1/applications", {"external_user_id": "x", "phone": "13800000009"}, format="json")
        assert_error(response, 422, "applicant_blacklisted")
        assert not Application.objects.for_merchant(merchant).exists()


class TestReview:
    @pytest.fixture
    def twins(self, merchant):
        a = join(merchant, "a", phone="13800000001")
        b = join(merchant, "b", phone="13800000001")
        risk_sweep(merchant=merchant)
        return a, b

    def test_blacklisting_from_a_flag(self, api, merchant, twins):
        a, _ = twins
        flag = RiskFlag.objects.for_merchant(merchant).get(distributor=a)
        staff = api.staff(merchant, Role.OPERATOR)
        response = staff.post(
            f"/api/v1/risk-flags/{flag.pk}/review", {"action": "blacklist", "note": "confirmed"}, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["status"], body["review_note"], body["distributor"]) == ("blacklisted", "confirmed", a.pk)
        a.refresh_from_db()
        assert a.status == "blacklisted"
        entry = BlacklistEntry.objects.for_merchant(merchant).get()
        assert (entry.kind, entry.reason) == ("distributor", f"risk flag {flag.pk} (shared_identity): confirmed")
        again = staff.post(f"/api/v1/risk-flags/{flag.pk}/review", {"action": "dismiss"}, format="json")
        assert_error(again, 409, "flag_already_reviewed")

    def test_listing_filtering_and_bad_input(self, api, merchant, twins):
        b = twins[1]
        staff = api.staff(merchant, Role.VIEWER)
        listed = staff.get("/api/v1/risk-flags", {"distributor": b.pk}).json()["results"]
        assert [(f["rule"], f["distributor"], f["status"]) for f in listed] == [("shared_identity", b.pk, "open")]
        flag_id = listed[0]["id"]
        assert_error(staff.post(f"/api/v1/risk-flags/{flag_id}/review", {"action": "accept"}, format="json"), 403)
        operator = api.staff(merchant, Role.OPERATOR)
        assert_error(operator.post(f"/api/v1/risk-flags/{flag_id}/review", {"action": "ban"}, format="json"), 400)
        assert RiskFlag.objects.get(pk=flag_id).status == "open"

    def test_a_flag_without_a_distributor_cannot_blacklist(self, api, merchant):
        flag = RiskFlag.objects.create(
            merchant=merchant, rule="customer_switching", subject="customer:x", evidence={"customer": "x"}
        )
        response = api.staff(merchant, Role.OPERATOR).post(
            f"/api/v1/risk-flags/{flag.pk}/review", {"action": "blacklist"}, format="json"
        )
        assert_error(response, 422, "no_distributor")


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
