"""The benchmark data generator writes the rows the product's services would (checked against the
product's own rules and code paths), and the tier benchmark agrees with the product line by line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count, F
from django.utils import timezone

from bench import generate, tiers
from commissions.engine import kept_after_refund
from commissions.models import CommissionLine
from distribution.auth import Actor
from distribution.money import apply_bps
from distributors.models import CustomerBinding, Distributor, LevelChange
from ledger.checks import ledger_problems
from ledger.models import LedgerTransaction
from orders.models import Order, OrderItem, Refund
from settlements.services import runs

pytestmark = pytest.mark.django_db(transaction=True)
TINY = generate.SCALES["tiny"]


@pytest.fixture
def merchant():
    return generate.generate(TINY, slug="gen-smoke")


def test_the_generated_merchant_has_the_shape_asked_for(merchant):
    assert Distributor.objects.for_merchant(merchant).count() == TINY.distributors
    assert Order.objects.for_merchant(merchant).count() == TINY.orders
    items = OrderItem.objects.for_merchant(merchant).count()
    assert TINY.orders < items < 3 * TINY.orders
    bindings = CustomerBinding.objects.for_merchant(merchant).count()
    assert 0.8 * TINY.customers < bindings < TINY.customers
    statuses = dict(Order.objects.for_merchant(merchant).values_list("status").annotate(n=Count("id")).order_by())
    assert set(statuses) == {"paid", "shipped", "completed", "closed"}
    refunded = Order.objects.for_merchant(merchant).filter(refunded_amount__gt=0).count()
    assert 0.02 * TINY.orders < refunded < 0.08 * TINY.orders
    assert generate.generate(TINY, slug="gen-smoke").pk == merchant.pk  # reused, not generated twice
    assert Order.objects.for_merchant(merchant).count() == TINY.orders


def test_orders_have_the_dimensions_the_rollups_group_by(merchant):
    from catalog.models import Category, Product

    categories = Category.objects.for_merchant(merchant)
    leaves = sum(len(children) for _, children in generate.CATEGORIES)
    assert categories.filter(parent__isnull=True).count() == len(generate.CATEGORIES)
    assert categories.filter(parent__isnull=False).count() == leaves
    products = Product.objects.for_merchant(merchant)
    assert not products.filter(category__isnull=False, category__parent__isnull=True).exists()  # leaves or none
    assert 0 < products.filter(category__isnull=True).count() < 0.2 * TINY.products
    items = OrderItem.objects.for_merchant(merchant)
    assert not items.exclude(category_id=F("product__category_id")).exclude(category__isnull=True).exists()
    assert items.filter(category__isnull=True).count() == items.filter(product__category__isnull=True).count()
    assert items.values("category").distinct().count() > leaves // 2

    orders = Order.objects.for_merchant(merchant)
    channels = dict(orders.values_list("channel").annotate(n=Count("id")).order_by())
    assert set(channels) == {c for c, _ in generate.CHANNELS_DISTRIBUTED + generate.CHANNELS_DIRECT}
    assert not orders.filter(distributor__isnull=True, channel__in=["share_link", "qr_poster"]).exists()
    assert not orders.filter(distributor__isnull=False, channel="direct").exists()
    regions = {(p, c) for p, cities in generate.REGIONS for c in cities} | {("", "")}
    seen = set(orders.values_list("province", "city").distinct())
    assert seen <= regions and len({p for p, _ in seen}) > 20
    assert 0.04 * TINY.orders < orders.filter(province="").count() < 0.12 * TINY.orders


def test_share_visits_come_through_the_bindings_about_two_and_a_half_per_distributed_order(merchant):
    from distributors.models import ShareVisit

    visits = ShareVisit.objects.for_merchant(merchant)
    distributed = Order.objects.for_merchant(merchant).filter(distributor__isnull=False).count()
    assert 2.0 * distributed < visits.count() < 3.0 * distributed
    assert not visits.exclude(distributor_id=F("binding__distributor_id")).exists()
    assert not visits.exclude(customer_external_id=F("binding__customer_external_id")).exists()
    assert not visits.filter(visited_at__lt=F("binding__bound_at")).exists()
    assert not visits.filter(visited_at__lt=timezone.now() - timedelta(days=365, minutes=5)).exists()
    bound = visits.filter(decision="bound")
    assert bound.count() == bound.values("binding").distinct().count() > 0
    assert not bound.exclude(visited_at=F("binding__bound_at")).exists()
    assert set(visits.values_list("decision", flat=True).distinct()) == {"bound", "already_bound"}


def test_orders_and_refunds_add_up(merchant):
    for order in Order.objects.for_merchant(merchant).prefetch_related("items", "refunds"):
        items = list(order.items.all())
        assert order.goods_amount == sum(i.paid_amount for i in items)
        assert order.refunded_amount == sum(i.refunded_amount for i in items)
        assert order.refunded_amount == sum(r.amount for r in order.refunds.all())
        for i in items:
            assert i.paid_amount == i.unit_price * i.quantity - i.discount
        if order.status == "closed":
            assert order.refunded_amount == order.goods_amount and order.closed_at is not None
        if order.status == "completed":
            assert order.shipped_at < order.completed_at
        assert (order.distributor_id is None) == (order.attribution == "none")
    assert Refund.objects.for_merchant(merchant).count() > 0


def test_every_commission_line_follows_the_engine_rules(merchant):
    lines = CommissionLine.objects.for_merchant(merchant).select_related("order_item", "order", "beneficiary")
    assert lines.count() > TINY.orders
    for line in lines:
        item, order = line.order_item, line.order
        expected_beneficiary = order.distributor_id if line.depth == 1 else order.distributor.inviter_id
        assert line.beneficiary_id == expected_beneficiary
        assert line.base_amount == item.paid_amount
        assert line.amount == apply_bps(item.paid_amount, generate.RATES[line.depth]) == line.uncapped_amount
        keep = kept_after_refund(line.amount, item.paid_amount, item.refunded_amount)
        assert line.reversed_amount == line.amount - keep
        if keep == 0:
            assert line.status == "reversed" and line.reversed_at is not None
        elif order.completed_at is None:
            assert line.status == "pending"
        else:
            assert line.unlock_at == order.completed_at + timedelta(days=generate.AFTER_SALES_DAYS)
            assert line.status in ("confirmed", "settled")
            assert (line.status == "settled") == (line.settlement_run_id is not None)


def test_the_books_balance_and_the_product_settles_what_is_due(merchant):
    assert ledger_problems(merchant.pk) == []
    references = set(LedgerTransaction.objects.for_merchant(merchant).values_list("reference", flat=True))
    some_line = CommissionLine.objects.for_merchant(merchant).filter(reversed_amount__gt=0).first()
    assert f"line:{some_line.pk}:accrue" in references
    assert f"line:{some_line.pk}:reverse:{some_line.reversed_amount}" in references
    due = CommissionLine.objects.for_merchant(merchant).filter(status="confirmed", unlock_at__lte=timezone.now())
    expected = due.count()
    assert expected > 0
    run = runs.settlement_request(merchant=merchant, actor=Actor.system("test"))  # the (eager) worker runs it
    run.refresh_from_db()
    assert (run.status, run.lines_done) == ("completed", expected)
    assert ledger_problems(merchant.pk) == []


def test_the_tier_benchmark_agrees_with_the_product(merchant):
    [row] = tiers.measure(merchant)  # asserts that both end with the same levels and the same history
    assert row["scenario"].startswith(f"tier recalculation ({TINY.distributors:,} distributors")
    upgraded = LevelChange.objects.for_merchant(merchant).filter(direction="up").count()
    assert upgraded > 0
    assert Distributor.objects.for_merchant(merchant).filter(level__rank__gt=0).count() == upgraded
