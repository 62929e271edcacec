"""Customer binding rules: first and last touch, validity, protection, self-binding, replays, transfers."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from distributors.models import CustomerBinding, ShareVisit
from distributors.services import bindings, lifecycle
from merchants.roles import Role
from merchants.services.programs import program_update
from tests.builders.distributors import ACTOR, join, tree
from tests.builders.factories import make_api_key, make_merchant
from tests.helpers import assert_error

T0 = timezone.now().replace(microsecond=0) - timedelta(days=100)


def visit(client, customer, distributor, at=None, **extra):
    body = {"customer_external_id": customer, "share_code": distributor.invite_code, **extra}
    if at is not None:
        body["visited_at"] = at.isoformat()
    return client.post("/api/v1/visits", body, format="json")


def rows(merchant, customer):
    return list(
        CustomerBinding.objects.for_merchant(merchant)
        .filter(customer_external_id=customer)
        .order_by("id")
        .values_list("distributor__external_user_id", "status", "end_reason")
    )


@pytest.fixture
def shop(api, merchant):
    return api.api_key(merchant, Role.OPERATOR)


@pytest.mark.django_db
class TestFirstTouch:
    def test_the_first_distributor_keeps_the_customer(self, shop, merchant):
        t = tree(merchant, {"d1": None, "d2": None})
        first = visit(shop, "c", t["d1"], T0)
        assert first.status_code == 201
        body = first.json()
        assert body["decision"] == "bound" and body["previous_distributor"] is None
        assert body["binding"]["bound_at"] == T0.isoformat().replace("+00:00", "Z")
        assert body["binding"]["expires_at"] == (T0 + timedelta(days=15)).isoformat().replace("+00:00", "Z")
        again = visit(shop, "c", t["d1"], T0 + timedelta(days=1))
        assert again.status_code == 200 and again.json()["decision"] == "already_bound"
        assert_error(visit(shop, "c", t["d2"], T0 + timedelta(days=2)), 409, "customer_bound_elsewhere")
        assert rows(merchant, "c") == [("d1", "active", "")]

    def test_after_the_validity_the_next_distributor_takes_the_customer(self, shop, merchant):
        t = tree(merchant, {"d1": None, "d2": None})
        visit(shop, "c", t["d1"], T0)
        response = visit(shop, "c", t["d2"], T0 + timedelta(days=15, seconds=1))
        assert response.status_code == 201 and response.json()["decision"] == "bound"
        assert rows(merchant, "c") == [("d1", "ended", "expired"), ("d2", "active", "")]
        ended = CustomerBinding.objects.for_merchant(merchant).get(distributor=t["d1"])
        assert ended.ended_at == T0 + timedelta(days=15)

    def test_permanent_bindings_never_expire(self, shop, merchant):
        program_update(merchant=merchant, actor=ACTOR, changes={"binding_validity_days": None})
        t = tree(merchant, {"d1": None, "d2": None})
        assert visit(shop, "c", t["d1"], T0).json()["binding"]["expires_at"] is None
        assert_error(visit(shop, "c", t["d2"]), 409, "customer_bound_elsewhere")


@pytest.mark.django_db
class TestLastTouch:
    @pytest.fixture(autouse=True)
    def last_touch(self, merchant):
        program_update(
            merchant=merchant,
            actor=ACTOR,
            changes={"binding_mode": "last_touch", "binding_validity_days": 30, "binding_protection_days": 7},
        )

    def test_protection_period_holds_then_the_latest_link_wins(self, shop, merchant):
        t = tree(merchant, {"d1": None, "d2": None, "d3": None})
        visit(shop, "c", t["d1"], T0)
        error = assert_error(visit(shop, "c", t["d2"], T0 + timedelta(days=6, hours=23)), 409, "binding_protected")
        assert error["protected_until"].startswith((T0 + timedelta(days=7)).date().isoformat())
        assert rows(merchant, "c") == [("d1", "active", "")]
        moved = visit(shop, "c", t["d2"], T0 + timedelta(days=7))
        assert moved.status_code == 201
        assert moved.json()["decision"] == "moved" and moved.json()["previous_distributor"]["id"] == t["d1"].pk
        assert rows(merchant, "c") == [("d1", "ended", "replaced"), ("d2", "active", "")]
        # the new binding is protected in its turn
        assert_error(visit(shop, "c", t["d3"], T0 + timedelta(days=8)), 409, "binding_protected")

    def test_a_visit_older_than_the_current_binding_does_not_move_it(self, shop, merchant):
        t = tree(merchant, {"d1": None, "d2": None})
        visit(shop, "c", t["d1"], T0 + timedelta(days=20))
        assert_error(visit(shop, "c", t["d2"], T0 + timedelta(days=10)), 409, "customer_bound_elsewhere")


@pytest.mark.django_db
class TestRules:
    def test_self_binding_only_with_self_purchase_commission(self, shop, merchant):
        d = join(merchant, "d1")
        assert_error(visit(shop, "d1", d), 422, "self_binding_not_allowed")
        assert rows(merchant, "d1") == []
        program_update(merchant=merchant, actor=ACTOR, changes={"self_purchase_commission": True})
        assert visit(shop, "d1", d).json()["decision"] == "bound"

    @pytest.mark.parametrize("action", ["freeze", "blacklist", "remove"])
    def test_inactive_distributors_bind_no_one(self, shop, merchant, action):
        from distributors.services import blacklist

        d = join(merchant, "d1")
        if action == "blacklist":
            blacklist.blacklist_add(merchant=merchant, actor=ACTOR, kind="distributor", distributor_id=d.pk, reason="x")
        else:
            getattr(lifecycle, f"distributor_{action}")(merchant=merchant, actor=ACTOR, distributor_id=d.pk, reason="x")
        assert_error(visit(shop, "c", d), 409, "distributor_not_active")
        assert rows(merchant, "c") == []

    def test_unknown_share_code_and_future_visits_are_refused(self, shop, merchant):
        d = join(merchant, "d1")
        response = shop.post("/api/v1/visits", {"customer_external_id": "c", "share_code": "NOPE2345"}, format="json")
        assert_error(response, 422, "invalid_share_code")
        assert_error(visit(shop, "c", d, timezone.now() + timedelta(hours=1)), 400, "invalid")
        assert rows(merchant, "c") == []

    def test_the_same_visit_twice_changes_nothing(self, shop, merchant):
        t = tree(merchant, {"d1": None, "d2": None})
        first = visit(shop, "c", t["d1"], T0, visit_id="v-1")
        second = visit(shop, "c", t["d1"], T0, visit_id="v-1")
        assert first.status_code == 201 and second.status_code == 200
        assert second.json()["decision"] == "bound" and second.json()["binding"] == first.json()["binding"]
        assert rows(merchant, "c") == [("d1", "active", "")]
        assert ShareVisit.objects.for_merchant(merchant).count() == 1
        assert_error(visit(shop, "c", t["d2"], T0, visit_id="v-1"), 409, "visit_id_reused")

    def test_viewers_cannot_report_visits(self, api, merchant):
        d = join(merchant, "d1")
        assert_error(visit(api.staff(merchant, Role.VIEWER), "c", d), 403, "permission_denied")


@pytest.mark.django_db
def test_merchant_moves_customers_and_looks_them_up(api, merchant):
    t = tree(merchant, {"d1": None, "d2": None})
    for c in ("c1", "c2", "c3"):
        bindings.binding_record_visit(
            merchant=merchant,
            customer_external_id=c,
            share_code=t["d1"].invite_code,
            visited_at=T0 + timedelta(days=90),
        )
    staff = api.staff(merchant, Role.OPERATOR)
    moved = staff.post(
        "/api/v1/bindings/transfer",
        {
            "from_distributor": t["d1"].pk,
            "to_distributor": t["d2"].pk,
            "customer_external_ids": ["c1", "c2"],
            "reason": "d1 moved",
        },
        format="json",
    )
    assert moved.json() == {"moved": 2}
    released = staff.post(
        "/api/v1/bindings/transfer",
        {"from_distributor": t["d1"].pk, "to_distributor": None, "reason": "cleanup"},
        format="json",
    )
    assert released.json() == {"moved": 1}
    lookup = staff.get("/api/v1/customers/c1/binding").json()
    assert lookup["current"]["distributor"]["id"] == t["d2"].pk and lookup["current"]["source"] == "transfer"
    assert [(h["distributor"]["id"], h["status"], h["end_reason"]) for h in lookup["history"]] == [
        (t["d2"].pk, "active", ""),
        (t["d1"].pk, "ended", "transferred"),
    ]
    assert staff.get("/api/v1/customers/c3/binding").json()["current"] is None
    assert_error(staff.get("/api/v1/customers/nobody/binding"), 404, "not_found")
    listed = staff.get(f"/api/v1/bindings?distributor={t['d2'].pk}&status=active").json()["results"]
    assert sorted(b["customer_external_id"] for b in listed) == ["c1", "c2"]
    customers = staff.get(f"/api/v1/distributors/{t['d2'].pk}/customers").json()["results"]
    assert sorted(b["customer_external_id"] for b in customers) == ["c1", "c2"]
    lifecycle.distributor_freeze(merchant=merchant, actor=ACTOR, distributor_id=t["d1"].pk, reason="x")
    assert_error(
        staff.post(
            "/api/v1/bindings/transfer",
            {"from_distributor": t["d2"].pk, "to_distributor": t["d1"].pk, "reason": "x"},
            format="json",
        ),
        409,
        "distributor_not_active",
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_visits_for_one_customer_leave_exactly_one_binding():
    merchant = make_merchant("alpha")
    program_update(merchant=merchant, actor=ACTOR, changes={"binding_mode": "last_touch", "binding_protection_days": 0})
    distributors = [join(merchant, f"d{i}") for i in range(8)]
    _, key = make_api_key(merchant, Role.OPERATOR)
    barrier = threading.Barrier(len(distributors))
    statuses = []

    def go(d):
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=key)
            barrier.wait(timeout=30)
            statuses.append(visit(client, "hot-customer", d).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go, args=(d,)) for d in distributors]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert len(statuses) == 8 and set(statuses) <= {200, 201, 409}
    assert bindings.live_bindings(merchant).filter(customer_external_id="hot-customer").count() == 1
    assert (
        CustomerBinding.objects.for_merchant(merchant)
        .filter(customer_external_id="hot-customer", status="active")
        .count()
        == 1
    )
