"""Risk services: every periodic rule with its evidence, the blacklist sweep and the application check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from distribution import crypto
from distributors.models import Application, BlacklistEntry, CustomerBinding, Distributor
from distributors.services import applications, bindings, blacklist, lifecycle
from merchants.roles import Role
from merchants.services.programs import program_update
from risk import rules
from risk.models import RiskFlag
from risk.services import application_check, risk_sweep
from tests.builders.distributors import ACTOR, join
from tests.builders.orders import raw_order
from tests.builders.risk import flags
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


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
