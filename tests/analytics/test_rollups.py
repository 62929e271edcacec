"""The rollups equal the base tables' answer, computed here independently in Python, after any sequence of
events refreshed incrementally: late refunds, replays, out-of-order completions, settlements, forfeits."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import refresh
from analytics.models import (
    Buyer,
    DailyCategory,
    DailyChannel,
    DailyDistributor,
    DailyMerchant,
    DailyProduct,
    RefreshPass,
)
from analytics.verify import rollup_problems
from catalog.models import Category, Product
from commissions.models import CommissionLine
from commissions.services import commission_forfeit
from distribution.errors import ApplicationError
from distributors.models import ShareVisit
from distributors.services.bindings import binding_record_visit
from orders.models import Order, OrderItem
from orders.services import intake
from tests.builders.factories import make_merchant
from tests.builders.orders import setup_shop
from tests.builders.settlements import ACTOR, settle

pytestmark = pytest.mark.django_db
counter = itertools.count()
_passes = itertools.count(1)


def refresh_later():
    """A refresh pass a look-back after the previous one, so that it rescans nothing it need not: what it
    finds, it finds through the watermarks (a pass within the look-back would rescan everything)."""
    return refresh.refresh_pass(now=datetime.now(UTC) + next(_passes) * (refresh.LOOKBACK + timedelta(seconds=1)))


# Around midnight in Shanghai (UTC+8) 45 days ago: 15:59:59Z is 23:59:59 local, 16:00:00Z the next day.
BASE = (datetime.now(UTC) - timedelta(days=45)).replace(hour=15, minute=59, second=59, microsecond=0)
PAY_TIMES = [BASE, BASE + timedelta(seconds=1), BASE + timedelta(hours=10), BASE + timedelta(days=2)]

FIGURES = [
    "orders",
    "gmv",
    "refunded",
    "commission_accrued",
    "commission_pending",
    "commission_confirmed",
    "commission_settled",
    "commission_reversed",
    "commission_clawed_back",
]
DISTRIBUTED = ["distributed_orders", "distributed_gmv", "distributed_refunded"]


# --- the base tables' answer, in Python -----------------------------------------------------------------
def _line_figures(line: CommissionLine) -> dict[str, int]:
    if line.kind == "clawback":
        return {"commission_clawed_back": -line.amount}
    figures = {"commission_accrued": line.amount, "commission_reversed": line.reversed_amount}
    if line.status != "reversed":  # what is left of it is pending, confirmed or settled
        figures[f"commission_{line.status}"] = line.amount - line.reversed_amount
    return figures


def expected(merchant) -> dict[str, dict]:
    tz = merchant.tz
    orders = {o.id: o for o in Order.objects.for_merchant(merchant)}
    items = {i.id: i for i in OrderItem.objects.for_merchant(merchant)}
    day = {oid: o.paid_at.astimezone(tz).date() for oid, o in orders.items()}
    tables: dict[str, dict] = {name: defaultdict(lambda: defaultdict(int)) for name in ("m", "d", "p", "c", "ch")}
    buyers: dict[tuple, set] = defaultdict(set)

    def add(table, key, figures):
        row = tables[table][key]
        for name, value in figures.items():
            row[name] += value

    for o in orders.values():
        distributed = o.distributor_id is not None
        completed = o.status == "completed"
        base = {"orders": 1, "gmv": o.goods_amount, "refunded": o.refunded_amount}
        dist = {
            "distributed_orders": int(distributed),
            "distributed_gmv": o.goods_amount if distributed else 0,
            "distributed_refunded": o.refunded_amount if distributed else 0,
        }
        add("m", day[o.id], {**base, **dist, "completed_orders": int(completed)})
        add("m", day[o.id], {"distributed_completed_orders": int(completed and distributed)})
        buyers[("m", day[o.id])].add(o.customer_external_id)
        if distributed:
            buyers[("md", day[o.id])].add(o.customer_external_id)
            add("d", (day[o.id], o.distributor_id), {**base, "completed_orders": int(completed)})
            buyers[("d", day[o.id], o.distributor_id)].add(o.customer_external_id)
        add("ch", (day[o.id], o.channel), {**base, **dist})
    for table, key_of in (("p", "product_id"), ("c", "category_id")):
        seen: dict[tuple, set] = defaultdict(set)
        for i in items.values():
            o = orders[i.order_id]
            key = (day[o.id], getattr(i, key_of))
            distributed = o.distributor_id is not None
            add(
                table,
                key,
                {
                    "gmv": i.paid_amount,
                    "refunded": i.refunded_amount,
                    "quantity": i.quantity,
                    "refunded_quantity": i.refunded_quantity,
                    "distributed_gmv": i.paid_amount if distributed else 0,
                    "distributed_refunded": i.refunded_amount if distributed else 0,
                },
            )
            seen[key].add((o.id, distributed))
        for key, ids in seen.items():
            add(table, key, {"orders": len(ids), "distributed_orders": sum(1 for _, d in ids if d)})
    for line in CommissionLine.objects.for_merchant(merchant):
        d, figures = day[line.order_id], _line_figures(line)
        item = items[line.order_item_id]
        add("m", d, figures)
        add("d", (d, line.beneficiary_id), figures)
        add("p", (d, item.product_id), figures)
        add("c", (d, item.category_id), figures)
        add("ch", (d, orders[line.order_id].channel), figures)
    for visit in ShareVisit.objects.for_merchant(merchant):
        d = visit.visited_at.astimezone(tz).date()
        add("m", d, {"visits": 1})
        add("d", (d, visit.distributor_id), {"visits": 1})
    for key, customers in buyers.items():
        if key[0] == "m":
            add("m", key[1], {"buyers": len(customers)})
        elif key[0] == "md":
            add("m", key[1], {"distributed_buyers": len(customers)})
        else:
            add("d", (key[1], key[2]), {"buyers": len(customers)})
    return {name: {k: {f: v for f, v in row.items() if v} for k, row in rows.items()} for name, rows in tables.items()}


def stored(merchant) -> dict[str, dict]:
    def rows(model, key):
        out = {}
        for row in model.objects.for_merchant(merchant).values():
            k = row["day"] if key is None else (row["day"], row[key])
            out[k] = {
                f: v for f, v in row.items() if f not in ("id", "merchant_id", "day", key) and v
            }  # zeros left out, as above
        return out

    return {
        "m": rows(DailyMerchant, None),
        "d": rows(DailyDistributor, "distributor_id"),
        "p": rows(DailyProduct, "product_id"),
        "c": rows(DailyCategory, "category_id"),
        "ch": rows(DailyChannel, "channel"),
    }


def expected_buyers(merchant) -> dict[str, tuple]:
    facts: dict[str, list] = {}
    for o in Order.objects.for_merchant(merchant).order_by("paid_at", "id"):
        f = facts.setdefault(o.customer_external_id, [o.paid_at, o.paid_at, 0, 0, 0, "", ""])
        f[1] = o.paid_at
        f[2] += 1
        f[3] += o.goods_amount
        f[4] += o.refunded_amount
        if o.province:
            f[5], f[6] = o.province, o.city
    return {c: tuple(f) for c, f in facts.items()}


def stored_buyers(merchant) -> dict[str, tuple]:
    return {
        b.customer_external_id: (
            b.first_paid_at,
            b.last_paid_at,
            b.orders,
            b.paid_amount,
            b.refunded_amount,
            b.province,
            b.city,
        )
        for b in Buyer.objects.for_merchant(merchant)
    }


# --- a shop with categories, a tree and channels -----------------------------------------------------------
def shop():
    merchant = make_merchant(f"rollups-{next(counter)}")
    people = setup_shop(merchant)
    meat = Category.objects.create(merchant=merchant, external_id="meat", name="肉类")
    Product.objects.for_merchant(merchant).filter(external_id="tea").update(category=meat)
    return merchant, people


def pay(merchant, n, paid_at, share_code, customer, channel, province):
    body = {
        "external_id": f"o{n}",
        "customer_external_id": customer,
        "paid_at": paid_at,
        "shipping_amount": 0,
        "items": [
            {"line_id": "L0", "product": "tea", "quantity": 2, "unit_price": 10000, "discount": 1000},
            {"line_id": "L1", "product": "cup", "quantity": 1, "unit_price": 5000, "discount": 0},
        ],
    }
    if share_code:
        body["share_code"] = share_code
    if channel:
        body["channel"] = channel
    if province:
        body.update(province=province, city="深圳市")
    intake.order_ingest_paid(merchant=merchant, data=body, source="api")


def apply(merchant, n, type_, data, event_id):
    try:
        intake.order_apply_event(
            merchant=merchant, external_id=f"o{n}", type_=type_, data=data, source="api", event_id=event_id
        )
    except ApplicationError:
        pass  # an event the order's state refuses (a completion after closing, a refund too large): nothing


order_st = st.tuples(
    st.sampled_from(PAY_TIMES),
    st.sampled_from(["seller", "recruit", None]),
    st.sampled_from(["c1", "c2", "c3"]),
    st.sampled_from([None, "qr_poster", "distributor_shop"]),
    st.sampled_from([None, "广东省"]),
)
step_st = st.one_of(
    st.tuples(st.just("shipped"), st.integers(0, 3)),
    st.tuples(st.just("completed"), st.integers(0, 3)),
    st.tuples(st.just("closed"), st.integers(0, 3)),
    st.tuples(st.just("refund_item"), st.integers(0, 3), st.integers(0, 1), st.integers(1, 20000)),
    st.tuples(st.just("refund_amount"), st.integers(0, 3), st.integers(1, 25000)),
    st.tuples(st.just("replay"), st.integers(0, 20)),
    st.tuples(st.just("settle")),
    st.tuples(st.just("forfeit")),
    st.tuples(st.just("visit"), st.sampled_from(PAY_TIMES), st.sampled_from(["c1", "c4"])),
    st.tuples(st.just("refresh")),
)


def run_steps(merchant, people, orders, steps):
    for n, (paid_at, seller, customer, channel, province) in enumerate(orders):
        code = people[seller].invite_code if seller else ""
        pay(merchant, n, paid_at, code, customer, channel, province)
    done: list[tuple] = []
    for index, step in enumerate(steps):
        kind = step[0]
        if kind in ("shipped", "completed", "closed") and step[1] < len(orders):
            data = {"occurred_at": orders[step[1]][0] + timedelta(days=1)}
            done.append((step[1], kind, data, f"e{index}"))
            apply(merchant, *done[-1])
        elif kind in ("refund_item", "refund_amount") and step[1] < len(orders):
            if kind == "refund_item":
                data = {"refund_id": f"r{index}", "items": [{"line_id": f"L{step[2]}", "amount": step[3]}]}
            else:
                data = {"refund_id": f"r{index}", "amount": step[2]}
            done.append((step[1], "refunded", data, f"e{index}"))
            apply(merchant, *done[-1])
        elif kind == "replay" and done:
            apply(merchant, *done[step[1] % len(done)])
        elif kind == "settle":
            settle(merchant)
        elif kind == "forfeit":
            commission_forfeit(merchant=merchant, actor=ACTOR, distributor_id=people["recruit"].pk, reason="test")
        elif kind == "visit":
            try:
                binding_record_visit(
                    merchant=merchant,
                    customer_external_id=step[2],
                    share_code=people["seller"].invite_code,
                    visited_at=step[1],
                    visit_id=f"v{index}",
                )
            except ApplicationError:
                pass
        elif kind == "refresh":
            refresh_later()
    refresh_later()
    settle(merchant)  # whatever is due by now settles, touching its days through the ledger alone
    refresh_later()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=st.lists(order_st, min_size=1, max_size=4), steps=st.lists(step_st, max_size=14))
def test_incremental_rollups_equal_the_base_tables(orders, steps):
    with transaction.atomic():  # each example on its own (the test's transaction spans them all)
        merchant, people = shop()
        run_steps(merchant, people, orders, steps)
        got, want = stored(merchant), expected(merchant)
        for table in want:
            if got[table] != want[table]:
                pytest.fail(f"{table}: stored {sorted(got[table].items())} != expected {sorted(want[table].items())}")
        assert stored_buyers(merchant) == expected_buyers(merchant)
        assert rollup_problems(merchant.pk) == []
        transaction.set_rollback(True)


def test_the_standard_order_in_every_rollup():
    """One order of tea (2 × 100.00 − 10.00, category 肉类) and a cup (50.00) through the seller, paid at
    23:59:59 Shanghai time, then 30.00 refunded on the tea two days later: every figure, exactly."""
    merchant, people = shop()
    pay(merchant, 1, BASE, people["seller"].invite_code, "c1", None, "广东省")
    pay(merchant, 2, BASE + timedelta(seconds=1), "", "c2", None, None)  # a customer nobody brought
    apply(merchant, 1, "refunded", {"refund_id": "r1", "items": [{"line_id": "L0", "amount": 3000}]}, "e1")
    refresh_later()
    local = BASE.astimezone(merchant.tz).date()
    assert local == (BASE + timedelta(hours=8)).date()
    day = DailyMerchant.objects.for_merchant(merchant).get(day=local)
    # the seller earns 10% (19.00 + 5.00), the boss 5% (9.50 + 2.50); the refund of 30.00 on 190.00 of tea
    # takes back 3.00 and 1.50 of the tea's lines
    assert (day.orders, day.gmv, day.refunded, day.buyers) == (1, 24000, 3000, 1)
    assert (day.distributed_orders, day.distributed_gmv, day.distributed_refunded) == (1, 24000, 3000)
    assert (day.commission_accrued, day.commission_pending, day.commission_reversed) == (3600, 3150, 450)
    next_day = DailyMerchant.objects.for_merchant(merchant).get(day=local + timedelta(days=1))
    assert (next_day.orders, next_day.gmv, next_day.distributed_orders, next_day.commission_accrued) == (1, 24000, 0, 0)
    seller = DailyDistributor.objects.for_merchant(merchant).get(day=local, distributor=people["seller"])
    assert (seller.orders, seller.gmv, seller.commission_accrued, seller.commission_reversed) == (1, 24000, 2400, 300)
    boss = DailyDistributor.objects.for_merchant(merchant).get(day=local, distributor=people["boss"])
    assert (boss.orders, boss.gmv, boss.commission_accrued, boss.commission_reversed) == (0, 0, 1200, 150)
    meat = DailyCategory.objects.for_merchant(merchant).get(day=local, category__external_id="meat")
    assert (meat.orders, meat.quantity, meat.gmv, meat.refunded, meat.commission_accrued) == (1, 2, 19000, 3000, 2850)
    uncategorised = DailyCategory.objects.for_merchant(merchant).get(day=local, category=None)
    assert (uncategorised.gmv, uncategorised.commission_accrued) == (5000, 750)
    channels = {
        (c.day, c.channel): (c.orders, c.gmv) for c in DailyChannel.objects.for_merchant(merchant).order_by("day")
    }
    assert channels == {(local, "share_link"): (1, 24000), (local + timedelta(days=1), "direct"): (1, 24000)}
    buyer = Buyer.objects.for_merchant(merchant).get(customer_external_id="c1")
    assert (buyer.orders, buyer.paid_amount, buyer.refunded_amount, buyer.province) == (1, 24000, 3000, "广东省")
    assert buyer.first_paid_at == BASE


def test_a_late_commit_below_the_watermark_is_picked_up_by_the_look_back():
    """A pass sees ids up to N; an event with a lower id that commits afterwards is still counted, because the
    next passes rescan from the newest pass at least LOOKBACK old."""
    merchant, people = shop()
    pay(merchant, 1, BASE, people["seller"].invite_code, "c1", None, None)
    now = datetime.now(UTC)
    first = refresh.refresh_pass(now=now)
    assert first is not None
    # pretend an order event below the watermark committed only now: its order's day is not in the rollup yet
    DailyMerchant.objects.for_merchant(merchant).update(orders=0)
    second = refresh.refresh_pass(now=now + timedelta(seconds=30))
    assert second is not None
    assert DailyMerchant.objects.for_merchant(merchant).get().orders == 1  # rescanned from before `first`
    third = refresh.refresh_pass(now=now + refresh.LOOKBACK + timedelta(seconds=31))
    assert third is not None and third.days == 0  # older than the look-back: from `second` on, nothing new
    assert RefreshPass.objects.filter(pk__in=[first.pk, second.pk, third.pk]).count() == 3


def test_check_rollups_fails_on_any_difference(capsys):
    merchant, people = shop()
    pay(merchant, 1, BASE, people["seller"].invite_code, "c1", None, None)
    refresh.rebuild_merchant(merchant.pk)
    call_command("check_rollups", merchant=merchant.pk)
    assert "rollups ok" in capsys.readouterr().out
    DailyProduct.objects.for_merchant(merchant).filter(product__external_id="cup").update(gmv=1)
    with pytest.raises(Exception, match="2 rollup difference"):
        call_command("check_rollups", merchant=merchant.pk)


def test_settlement_and_a_refund_after_it_move_the_pay_days_figures():
    """Completed, settled (the ledger's settle transaction touches the day), then 30.00 refunded on the tea:
    a clawback of 3.00 + 1.50, counted on the day the order was paid."""
    merchant, people = shop()
    pay(merchant, 1, BASE, people["seller"].invite_code, "c1", None, None)
    apply(merchant, 1, "completed", {"occurred_at": BASE + timedelta(days=1)}, "e1")
    refresh_later()
    local = BASE.astimezone(merchant.tz).date()
    day = DailyMerchant.objects.for_merchant(merchant).get(day=local)
    assert (day.completed_orders, day.commission_confirmed, day.commission_settled) == (1, 3600, 0)
    settle(merchant)
    refresh_later()
    day = DailyMerchant.objects.for_merchant(merchant).get(day=local)  # a recomputed day is a new row
    assert (day.commission_confirmed, day.commission_settled, day.commission_clawed_back) == (0, 3600, 0)
    apply(merchant, 1, "refunded", {"refund_id": "r1", "items": [{"line_id": "L0", "amount": 3000}]}, "e2")
    refresh_later()
    day = DailyMerchant.objects.for_merchant(merchant).get(day=local)
    assert (day.refunded, day.commission_settled, day.commission_reversed, day.commission_clawed_back) == (
        3000,
        3600,
        0,
        450,
    )
    seller = DailyDistributor.objects.for_merchant(merchant).get(day=local, distributor=people["seller"])
    assert (seller.commission_settled, seller.commission_clawed_back) == (2400, 300)
    assert rollup_problems(merchant.pk) == []


def test_a_forfeit_reverses_the_days_unsettled_commission():
    merchant, people = shop()
    pay(merchant, 1, BASE, people["seller"].invite_code, "c1", None, None)
    refresh_later()
    commission_forfeit(merchant=merchant, actor=ACTOR, distributor_id=people["seller"].pk, reason="blacklisted")
    refresh_later()  # no order event: the ledger's reversal transactions touched the day
    day = DailyMerchant.objects.for_merchant(merchant).get()
    assert (day.commission_accrued, day.commission_pending, day.commission_reversed) == (3600, 1200, 2400)
