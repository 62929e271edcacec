"""Order intake through the API: attribution, commission lines, events, refunds, refusals."""

import json
from datetime import timedelta, timezone

import pytest

from catalog.models import Product
from commissions.models import CommissionLine
from distributors.services import bindings, lifecycle
from merchants.services.programs import program_update
from orders.models import Order, OrderEvent, OrderItem, Refund
from tests.builders.distributors import ACTOR
from tests.builders.orders import PAID_AT, event, lines, paid_body, send
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def counts(merchant):
    return tuple(
        m.objects.for_merchant(merchant).count() for m in (Order, OrderItem, OrderEvent, CommissionLine, Refund)
    )


class TestPaid:
    def test_an_order_with_a_share_code_earns_two_depths_and_binds_the_customer(self, shop, merchant):
        seller = shop.people["seller"]
        response = send(shop, paid_body(share_code=seller.invite_code.lower()))
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["duplicate"] is False
        order = body["order"]
        assert (order["status"], order["attribution"], order["distributor"]["id"]) == ("paid", "share_code", seller.pk)
        assert (order["goods_amount"], order["shipping_amount"], order["refunded_amount"]) == ("240.00", "0.00", "0.00")
        assert [(i["line_id"], i["paid_amount"]) for i in order["items"]] == [("L1", "190.00"), ("L2", "50.00")]
        # 10% to the seller, 5% to the seller's inviter, per item; pending
        assert lines(merchant) == [
            ("L1", 1, "seller", "commission", "pending", 1900, 0),
            ("L1", 2, "boss", "commission", "pending", 950, 0),
            ("L2", 1, "seller", "commission", "pending", 500, 0),
            ("L2", 2, "boss", "commission", "pending", 250, 0),
        ]
        breakdown = order["commission_lines"][0]
        assert breakdown["rate_source"] == "program_default" and breakdown["base_amount"] == "190.00"
        assert bindings.live_bindings(merchant).get(customer_external_id="cust-1").distributor_id == seller.pk

    def test_without_a_share_code_the_binding_decides(self, shop, merchant):
        recruit = shop.people["recruit"]
        bindings.binding_record_visit(
            merchant=merchant,
            customer_external_id="cust-1",
            share_code=recruit.invite_code,
            visited_at=PAID_AT - timedelta(days=1),
        )
        order = send(shop, paid_body()).json()["order"]
        assert (order["attribution"], order["distributor"]["id"]) == ("binding", recruit.pk)
        assert {(depth, who) for _, depth, who, *_ in lines(merchant)} == {(1, "recruit"), (2, "seller")}

    def test_no_share_code_no_binding_no_commission(self, shop, merchant):
        order = send(shop, paid_body()).json()["order"]
        assert (order["attribution"], order["distributor"]) == ("none", None)
        assert lines(merchant) == []

    def test_an_unknown_share_code_falls_back_to_the_binding(self, shop, merchant):
        bindings.binding_record_visit(
            merchant=merchant,
            customer_external_id="cust-1",
            share_code=shop.people["boss"].invite_code,
            visited_at=PAID_AT,
        )
        order = send(shop, paid_body(share_code="NOSUCH22")).json()["order"]
        assert order["attribution"] == "binding" and order["distributor"]["id"] == shop.people["boss"].pk

    def test_depth_three_and_level_and_product_rates(self, shop, merchant):
        from distributors.services import levels

        program_update(merchant=merchant, actor=ACTOR, changes={"commission_depth": 3, "depth3_rate_bps": 100})
        gold = levels.level_create(
            merchant=merchant,
            actor=ACTOR,
            data={
                "name": "Gold",
                "rank": 1,
                "commission_rates": [{"depth": 2, "mode": "percent", "rate_bps": 700}],
            },
        )
        lifecycle.distributor_set_level(
            merchant=merchant,
            actor=ACTOR,
            distributor_id=shop.people["seller"].pk,
            level_id=gold.pk,
            lock=True,
            reason="x",
        )
        Product.objects.for_merchant(merchant).filter(external_id="cup").update(
            commission_depth1_mode="fixed", commission_depth1=800
        )
        send(shop, paid_body(share_code=shop.people["recruit"].invite_code))
        rows = CommissionLine.objects.for_merchant(merchant).order_by("order_item__line_id", "depth")
        assert [
            (r.order_item.line_id, r.depth, r.beneficiary.external_user_id, r.rate_source, r.amount) for r in rows
        ] == [
            ("L1", 1, "recruit", "program_default", 1900),
            ("L1", 2, "seller", "level", 1330),
            ("L1", 3, "boss", "program_default", 190),
            ("L2", 1, "recruit", "product_override", 800),
            ("L2", 2, "seller", "level", 350),
            ("L2", 3, "boss", "program_default", 50),
        ]

    def test_inactive_distributors_earn_nothing(self, shop, merchant):
        lifecycle.distributor_freeze(
            merchant=merchant, actor=ACTOR, distributor_id=shop.people["seller"].pk, reason="x"
        )
        order = send(shop, paid_body(share_code=shop.people["seller"].invite_code)).json()["order"]
        assert order["distributor"]["id"] == shop.people["seller"].pk  # who brought it stays true
        assert {(depth, who) for _, depth, who, *_ in lines(merchant)} == {(2, "boss")}

    @pytest.mark.parametrize(("allowed", "depths"), [(False, {2}), (True, {1, 2})])
    def test_self_purchase(self, shop, merchant, allowed, depths):
        program_update(merchant=merchant, actor=ACTOR, changes={"self_purchase_commission": allowed})
        seller = shop.people["seller"]
        order = send(shop, paid_body(customer="seller", share_code=seller.invite_code)).json()["order"]
        assert order["self_purchase"] is True
        assert {depth for _, depth, *_ in lines(merchant)} == depths

    def test_the_cap_applies_per_item(self, shop, merchant):
        program_update(merchant=merchant, actor=ACTOR, changes={"commission_cap_bps": 1200})
        send(shop, paid_body(share_code=shop.people["seller"].invite_code))
        # L1: 19.00 + 9.50 > 22.80 (12% of 190.00): split 2:1 -> 15.20 + 7.60
        assert [(line, depth, amount) for line, depth, _, _, _, amount, _ in lines(merchant)] == [
            ("L1", 1, 1520),
            ("L1", 2, 760),
            ("L2", 1, 400),
            ("L2", 2, 200),
        ]

    @pytest.mark.parametrize("case", ["share_code", "binding_depth_three", "no_one", "self_purchase", "new_product"])
    def test_the_answer_is_the_order_as_stored(self, shop, merchant, case):
        """A new order is answered from what intake wrote, not read back: the body must be what
        GET /orders/{id} reads from the database, field for field."""
        people = shop.people
        body = paid_body(
            share_code=people["seller"].invite_code,
            kind="gift",
            shipping_amount="8.00",
            payment_transaction_id="4200000001",
            paid_at=(PAID_AT + timedelta(microseconds=123456)).astimezone(timezone(timedelta(hours=8))).isoformat(),
        )
        if case == "binding_depth_three":
            program_update(merchant=merchant, actor=ACTOR, changes={"commission_depth": 3, "depth3_rate_bps": 100})
            Product.objects.for_merchant(merchant).filter(external_id="cup").update(
                commission_depth1_mode="fixed", commission_depth1=800
            )
            bindings.binding_record_visit(
                merchant=merchant,
                customer_external_id="cust-1",
                share_code=people["recruit"].invite_code,
                visited_at=PAID_AT - timedelta(days=1),
            )
            del body["share_code"]
        elif case == "no_one":
            del body["share_code"]
        elif case == "self_purchase":
            program_update(merchant=merchant, actor=ACTOR, changes={"self_purchase_commission": True})
            body["customer_external_id"] = "seller"
        elif case == "new_product":
            program_update(merchant=merchant, actor=ACTOR, changes={"create_unknown_products": True})
            body["items"].append({"line_id": "L3", "product": "new-thing", "quantity": 3, "unit_price": "9.90"})
        response = send(shop, body)
        assert response.status_code == 201, response.content
        answered = response.json()
        assert answered["duplicate"] is False
        stored = shop.get(f"/api/v1/orders/{body['external_id']}").json()
        assert json.dumps(answered["order"]) == json.dumps(stored)  # same fields, values and order
        expected_lines = {"no_one": 0, "binding_depth_three": 6, "new_product": 6}.get(case, 4)
        assert len(stored["commission_lines"]) == expected_lines


class TestDuplicatesAndRefusals:
    def test_the_same_order_twice_is_one_order(self, shop, merchant):
        body = paid_body(share_code=shop.people["seller"].invite_code)
        first = send(shop, body)
        before = counts(merchant)
        second = send(shop, body)
        assert second.status_code == 200 and second.json()["duplicate"] is True
        assert second.json()["order"]["id"] == first.json()["order"]["id"]
        assert counts(merchant) == before
        other_event = send(shop, {**body, "event_id": "shop-evt-9"})
        assert other_event.json()["duplicate"] is True
        assert counts(merchant)[:2] == before[:2] and counts(merchant)[3:] == before[3:]

    def test_the_same_external_id_with_other_content_is_a_conflict(self, shop, merchant):
        send(shop, paid_body())
        before = counts(merchant)
        changed = paid_body(items=[{"line_id": "L1", "product": "tea", "quantity": 9, "unit_price": "100.00"}])
        assert_error(send(shop, changed), 409, "order_conflict")
        assert counts(merchant) == before

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            (
                paid_body(items=[{"line_id": "L1", "product": "ghost", "quantity": 1, "unit_price": "1.00"}]),
                422,
                "unknown_product",
            ),
            (
                paid_body(
                    items=[
                        {"line_id": "L1", "product": "tea", "quantity": 1, "unit_price": "1.00", "paid_amount": "0.99"}
                    ]
                ),
                422,
                "amount_mismatch",
            ),
            (
                paid_body(
                    items=[{"line_id": "L1", "product": "tea", "quantity": 1, "unit_price": "1.00", "discount": "1.01"}]
                ),
                422,
                "amount_mismatch",
            ),
            (paid_body(currency="USD"), 422, "currency_mismatch"),
            (paid_body(items=[]), 400, "invalid"),
            (
                paid_body(items=[{"line_id": "L1", "product": "tea", "quantity": 1, "unit_price": "1.00"}] * 2),
                400,
                "invalid",
            ),
            (paid_body(paid_at="2999-01-01T00:00:00Z"), 400, "invalid"),
            (
                paid_body(items=[{"line_id": "L1", "product": "tea", "quantity": 0, "unit_price": "1.00"}]),
                400,
                "invalid",
            ),
        ],
    )
    def test_bad_orders_are_refused_and_nothing_is_written(self, shop, merchant, body, status, code):
        before = counts(merchant)
        assert_error(send(shop, body), status, code)
        assert counts(merchant) == before

    def test_unknown_products_can_be_created_on_the_fly(self, shop, merchant):
        program_update(merchant=merchant, actor=ACTOR, changes={"create_unknown_products": True})
        items = [{"line_id": "L1", "product": "new-thing", "title": "New thing", "quantity": 1, "unit_price": "9.90"}]
        assert send(shop, paid_body(items=items)).status_code == 201
        product = Product.objects.for_merchant(merchant).get(external_id="new-thing")
        assert (product.title, product.price) == ("New thing", 990)


class TestLifecycle:
    def test_completion_confirms_lines_until_the_after_sales_window_ends(self, shop, merchant):
        send(shop, paid_body(share_code=shop.people["seller"].invite_code))
        assert event(shop, "o-1", type="shipped").json()["order"]["status"] == "shipped"
        done = (PAID_AT + timedelta(days=2)).isoformat()
        response = event(shop, "o-1", type="completed", occurred_at=done)
        assert response.status_code == 201 and response.json()["order"]["status"] == "completed"
        rows = CommissionLine.objects.for_merchant(merchant)
        assert set(rows.values_list("status", flat=True)) == {"confirmed"}
        assert set(rows.values_list("unlock_at", flat=True)) == {PAID_AT + timedelta(days=2 + 7)}

    def test_a_repeated_event_changes_nothing_and_a_reused_id_is_a_conflict(self, shop, merchant):
        send(shop, paid_body())
        event(shop, "o-1", type="shipped")
        again = event(shop, "o-1", type="shipped")
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert_error(event(shop, "o-1", type="completed", event_id="order:o-1:shipped"), 409, "event_id_reused")

    @pytest.mark.parametrize(
        ("steps", "bad", "current"),
        [
            (["completed"], "shipped", "completed"),
            (["closed"], "shipped", "closed"),
            (["completed"], "closed", "completed"),
        ],
    )
    def test_impossible_transitions_are_409_and_write_nothing(self, shop, merchant, steps, bad, current):
        send(shop, paid_body())
        for step in steps:
            event(shop, "o-1", type=step)
        before = counts(merchant)
        error = assert_error(event(shop, "o-1", type=bad), 409, "invalid_transition")
        assert error["current_status"] == current
        assert counts(merchant) == before

    def test_events_for_an_unknown_order_are_404(self, shop, merchant):
        before = counts(merchant)
        assert_error(event(shop, "never-paid", type="completed"), 404, "not_found")
        assert counts(merchant) == before


class TestRefunds:
    @pytest.fixture
    def paid(self, shop, merchant):
        send(shop, paid_body(share_code=shop.people["seller"].invite_code))
        return shop

    def test_a_partial_refund_reverses_pro_rata_exactly(self, paid, merchant):
        response = event(
            paid, "o-1", type="refunded", refund_id="r1", items=[{"line_id": "L1", "amount": "63.33", "quantity": 0}]
        )
        assert response.status_code == 201
        assert response.json()["order"]["refunded_amount"] == "63.33"
        # L1 paid 190.00; keeps (190.00 - 63.33)/190.00: 19.00 -> 12.67, 9.50 -> 6.33
        assert lines(merchant) == [
            ("L1", 1, "seller", "commission", "pending", 1900, 633),
            ("L1", 2, "boss", "commission", "pending", 950, 317),
            ("L2", 1, "seller", "commission", "pending", 500, 0),
            ("L2", 2, "boss", "commission", "pending", 250, 0),
        ]

    def test_a_refund_by_amount_is_spread_over_the_items(self, paid, merchant):
        event(paid, "o-1", type="refunded", refund_id="r1", amount="24.00")
        items = dict(OrderItem.objects.for_merchant(merchant).values_list("line_id", "refunded_amount"))
        assert items == {"L1": 1900, "L2": 500}  # 24.00 split 190:50

    def test_refunding_everything_reverses_everything_and_closes_the_order(self, paid, merchant):
        event(paid, "o-1", type="refunded", refund_id="r1", items=[{"line_id": "L1", "amount": "100.00"}])
        response = event(paid, "o-1", type="refunded", refund_id="r2", amount="140.00")
        assert response.json()["order"]["status"] == "closed"
        assert {(status, amount - rev) for *_, status, amount, rev in lines(merchant)} == {("reversed", 0)}

    def test_closing_reverses_everything(self, paid, merchant):
        event(paid, "o-1", type="closed")
        assert {(s, a, r) for *_, s, a, r in lines(merchant)} == {
            ("reversed", 1900, 1900),
            ("reversed", 950, 950),
            ("reversed", 500, 500),
            ("reversed", 250, 250),
        }
        assert Order.objects.for_merchant(merchant).get().refunded_amount == 24000

    @pytest.mark.parametrize(
        "body",
        [
            {"items": [{"line_id": "L1", "amount": "190.01"}]},
            {"items": [{"line_id": "L2", "amount": "1.00", "quantity": 2}]},
            {"items": [{"line_id": "nope", "amount": "1.00"}]},
            {"amount": "240.01"},
            {"items": [{"line_id": "L1", "amount": "0.00"}]},
        ],
    )
    def test_refunds_beyond_what_was_paid_are_refused(self, paid, merchant, body):
        before = counts(merchant)
        response = event(paid, "o-1", type="refunded", refund_id="r1", **body)
        assert_error(response, 422)
        assert counts(merchant) == before
        assert OrderItem.objects.for_merchant(merchant).filter(refunded_amount__gt=0).count() == 0

    def test_a_refund_after_settlement_is_a_clawback(self, paid, merchant):
        CommissionLine.objects.for_merchant(merchant).update(status="settled")  # as a settlement run would
        event(paid, "o-1", type="refunded", refund_id="r1", items=[{"line_id": "L2", "amount": "50.00"}])
        assert lines(merchant) == [
            ("L1", 1, "seller", "commission", "settled", 1900, 0),
            ("L1", 2, "boss", "commission", "settled", 950, 0),
            ("L2", 1, "seller", "clawback", "settled", -500, 0),
            ("L2", 1, "seller", "commission", "settled", 500, 0),
            ("L2", 2, "boss", "clawback", "settled", -250, 0),
            ("L2", 2, "boss", "commission", "settled", 250, 0),
        ]

    def test_refund_ids_are_idempotent(self, paid, merchant):
        body = {"type": "refunded", "refund_id": "r1", "amount": "10.00"}
        event(paid, "o-1", **body)
        assert event(paid, "o-1", **body).json()["duplicate"] is True
        assert Order.objects.for_merchant(merchant).get().refunded_amount == 1000
