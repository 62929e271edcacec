"""Levels: definitions and validation, and progress toward the next level with exact metrics."""

from datetime import timedelta

import pytest
from django.utils import timezone

from distribution.models import AuditEvent
from distributors.models import Level
from distributors.services import bindings, levels, lifecycle
from merchants.roles import Role
from orders.models import Order
from tests.builders.distributors import ACTOR, join, tree
from tests.helpers import assert_error
from tiers.progress import Metrics, distributor_metrics, evaluate, level_progress

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def make_order(merchant, distributor, *, amount, days_ago=1, refunded=0, status="paid", external_id=None):
    return Order.objects.create(
        merchant=merchant,
        external_id=external_id or f"o-{Order.objects.unscoped().count() + 1}",
        customer_external_id="cust",
        currency="CNY",
        status=status,
        goods_amount=amount,
        refunded_amount=refunded,
        distributor=distributor,
        attribution="binding",
        paid_at=NOW - timedelta(days=days_ago),
    )


class TestDefinitions:
    def test_the_first_level_is_the_default_and_defaults_move(self, api, merchant):
        staff = api.staff(merchant, Role.ADMIN)
        bronze = staff.post("/api/v1/levels", {"name": "Bronze", "rank": 1}, format="json").json()
        assert bronze["is_default"] is True
        silver = staff.post(
            "/api/v1/levels",
            {
                "name": "Silver",
                "rank": 2,
                "is_default": True,
                "min_sales_amount": "1000.00",
                "commission_rates": [{"depth": 1, "mode": "percent", "rate_bps": 1200}],
            },
            format="json",
        ).json()
        assert silver["is_default"] is True and silver["min_sales_amount"] == "1000.00"
        assert silver["commission_rates"] == [{"depth": 1, "mode": "percent", "rate_bps": 1200, "amount": None}]
        listed = staff.get("/api/v1/levels").json()["results"]
        assert [(lv["name"], lv["is_default"]) for lv in listed] == [("Bronze", False), ("Silver", True)]
        assert join(merchant, "u").level_id == silver["id"]
        assert_error(
            staff.patch(f"/api/v1/levels/{silver['id']}", {"is_default": False}, format="json"),
            409,
            "default_level_required",
        )

    def test_distributors_who_joined_before_any_level_get_the_first_one(self, merchant):
        d = join(merchant, "early")
        assert d.level_id is None
        level = levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "Base", "rank": 0})
        assert type(d).objects.for_merchant(merchant).get(pk=d.pk).level_id == level.pk

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "X", "rank": 1}, "rank"),  # taken
            (
                {"name": "X", "rank": 5, "commission_rates": [{"depth": 1, "mode": "percent", "rate_bps": 10001}]},
                "commission_rates",
            ),
            (
                {
                    "name": "X",
                    "rank": 5,
                    "commission_rates": [
                        {"depth": 1, "mode": "percent", "rate_bps": 6000},
                        {"depth": 2, "mode": "percent", "rate_bps": 5000},
                    ],
                },
                "commission_rates",
            ),
            (
                {"name": "X", "rank": 5, "commission_rates": [{"depth": 1, "mode": "fixed", "amount": 5}]},
                "commission_rates",
            ),
            ({"name": "X", "rank": 5, "window_days": 0}, "window_days"),
            ({"name": "X", "rank": 5, "min_order_count": -1}, "min_order_count"),
            ({"name": "X", "rank": 5, "condition_mode": "some"}, "condition_mode"),
            ({"name": "X", "rank": 5, "min_sales_amount": "1.001"}, "min_sales_amount"),
        ],
    )
    def test_invalid_levels_are_refused(self, api, merchant, body, field):
        staff = api.staff(merchant, Role.ADMIN)
        staff.post("/api/v1/levels", {"name": "Bronze", "rank": 1}, format="json")
        error = assert_error(staff.post("/api/v1/levels", body, format="json"), 400)
        assert field in error["fields"]
        assert Level.objects.for_merchant(merchant).count() == 1

    def test_fixed_rates_may_exceed_100_percent_in_total_and_modes_mix(self, api, merchant):
        rates = [
            {"depth": 1, "mode": "fixed", "amount": "500.00"},
            {"depth": 2, "mode": "fixed", "amount": "900.00"},
            {"depth": 3, "mode": "percent", "rate_bps": 9000},
        ]
        response = api.staff(merchant, Role.ADMIN).post(
            "/api/v1/levels", {"name": "F", "rank": 1, "commission_rates": rates}, format="json"
        )
        assert response.status_code == 201
        assert [(r["mode"], r["rate_bps"], r["amount"]) for r in response.json()["commission_rates"]] == [
            ("fixed", None, "500.00"),
            ("fixed", None, "900.00"),
            ("percent", 9000, None),
        ]
        level = Level.objects.for_merchant(merchant).get(pk=response.json()["id"])
        assert [level.rate(d) for d in (1, 2, 3)] == [("fixed", 50000), ("fixed", 90000), ("percent", 9000)]

    def test_deleting_levels(self, api, merchant):
        staff = api.staff(merchant, Role.ADMIN)
        base = staff.post("/api/v1/levels", {"name": "Base", "rank": 1}, format="json").json()
        top = staff.post("/api/v1/levels", {"name": "Top", "rank": 9}, format="json").json()
        d = join(merchant, "u")
        assert_error(staff.delete(f"/api/v1/levels/{base['id']}"), 409, "default_level_required")
        lifecycle.distributor_set_level(
            merchant=merchant, actor=ACTOR, distributor_id=d.pk, level_id=top["id"], lock=False, reason="x"
        )
        assert_error(staff.delete(f"/api/v1/levels/{top['id']}"), 409, "level_in_use")
        lifecycle.distributor_set_level(
            merchant=merchant, actor=ACTOR, distributor_id=d.pk, level_id=base["id"], lock=False, reason="x"
        )
        assert staff.delete(f"/api/v1/levels/{top['id']}").status_code == 204
        assert AuditEvent.objects.for_merchant(merchant).filter(action="level.deleted").count() == 1

    def test_only_program_managers_define_levels(self, api, merchant):
        assert_error(
            api.staff(merchant, Role.OPERATOR).post("/api/v1/levels", {"name": "B", "rank": 1}, format="json"), 403
        )


class TestMetrics:
    def test_each_metric_counts_exactly_what_it_says(self, merchant):
        t = tree(merchant, {"d": None, "r1": "d", "r2": "d", "grand": "r1"})
        d = t["d"]
        make_order(merchant, d, amount=10000)
        make_order(merchant, d, amount=5000, refunded=2000)  # counts 3000
        make_order(merchant, d, amount=4000, refunded=4000)  # fully refunded: neither amount nor count
        make_order(merchant, d, amount=9900, status="closed")  # closed: excluded
        make_order(merchant, d, amount=7000, days_ago=40)  # outside a 30-day window
        make_order(merchant, t["r1"], amount=99999)  # someone else's sale
        lifecycle.distributor_remove(merchant=merchant, actor=ACTOR, distributor_id=t["r2"].pk, reason="x")
        for c in ("c1", "c2"):
            bindings.binding_record_visit(merchant=merchant, customer_external_id=c, share_code=d.invite_code)
        assert distributor_metrics(d, window_days=None) == Metrics(
            sales_amount=20000, order_count=3, direct_recruits=1, bound_customers=2
        )
        assert distributor_metrics(d, window_days=30) == Metrics(
            sales_amount=13000, order_count=2, direct_recruits=1, bound_customers=2
        )

    def test_recruits_and_customers_in_a_window_count_by_when_they_started(self, merchant):
        t = tree(merchant, {"d": None, "r1": "d"})
        type(t["d"]).objects.for_merchant(merchant).filter(pk=t["r1"].pk).update(activated_at=NOW - timedelta(days=10))
        bindings.binding_record_visit(
            merchant=merchant,
            customer_external_id="old",
            share_code=t["d"].invite_code,
            visited_at=NOW - timedelta(days=12),
        )
        assert distributor_metrics(t["d"], window_days=7) == Metrics(0, 0, 0, 0)
        assert distributor_metrics(t["d"], window_days=11) == Metrics(0, 0, 1, 0)
        assert distributor_metrics(t["d"], window_days=13) == Metrics(0, 0, 1, 1)


class TestEvaluation:
    LEVEL = Level(name="Gold", rank=3, min_sales_amount=100000, min_order_count=10, min_direct_recruits=3)

    @pytest.mark.parametrize(
        ("mode", "metrics", "qualifies"),
        [
            ("any", Metrics(100000, 0, 0, 0), True),
            ("any", Metrics(99999, 9, 2, 50), False),
            ("all", Metrics(100000, 10, 3, 0), True),
            ("all", Metrics(100000, 10, 2, 99), False),
        ],
    )
    def test_any_and_all(self, mode, metrics, qualifies):
        level = Level(
            **{**{f: getattr(self.LEVEL, f) for f in ("name", "rank", *Level.CONDITION_FIELDS)}, "condition_mode": mode}
        )
        ok, rows = evaluate(level, metrics)
        assert ok is qualifies
        assert [(r["condition"], r["required"], r["current"], r["met"]) for r in rows] == [
            ("min_sales_amount", 100000, metrics.sales_amount, metrics.sales_amount >= 100000),
            ("min_order_count", 10, metrics.order_count, metrics.order_count >= 10),
            ("min_direct_recruits", 3, metrics.direct_recruits, metrics.direct_recruits >= 3),
        ]

    def test_a_level_without_conditions_is_never_reached_automatically(self):
        assert evaluate(Level(name="VIP", rank=9), Metrics(10**9, 10**6, 10**4, 10**4)) == (False, [])


def test_progress_toward_the_next_level_in_the_api(api, merchant):
    levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "Bronze", "rank": 1})
    levels.level_create(
        merchant=merchant,
        actor=ACTOR,
        data={
            "name": "Silver",
            "rank": 2,
            "condition_mode": "all",
            "window_days": 30,
            "min_sales_amount": 50000,
            "min_direct_recruits": 1,
        },
    )
    levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "Gold", "rank": 3, "min_order_count": 99})
    t = tree(merchant, {"d": None, "r": "d"})
    make_order(merchant, t["d"], amount=30000)
    progress = api.distributor(merchant, "d").get("/api/v1/distributor/me").json()["progress"]
    assert progress["current_level"]["name"] == "Bronze" and progress["next_level"]["name"] == "Silver"
    assert progress["condition_mode"] == "all" and progress["window_days"] == 30
    assert progress["conditions"] == [
        {"condition": "min_sales_amount", "unit": "amount", "required": "500.00", "current": "300.00", "met": False},
        {"condition": "min_direct_recruits", "unit": "count", "required": "1", "current": "1", "met": True},
    ]
    assert progress["qualifies"] is False
    make_order(merchant, t["d"], amount=20000)
    assert level_progress(type(t["d"]).objects.for_merchant(merchant).get(pk=t["d"].pk))["qualifies"] is True
    top = levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "Top", "rank": 10})
    lifecycle.distributor_set_level(
        merchant=merchant, actor=ACTOR, distributor_id=t["d"].pk, level_id=top.pk, lock=True, reason="x"
    )
    at_top = api.distributor(merchant, "d").get("/api/v1/distributor/me").json()["progress"]
    assert at_top["next_level"] is None and at_top["conditions"] == [] and at_top["qualifies"] is False
