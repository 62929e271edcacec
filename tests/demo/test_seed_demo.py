"""make run's demo data: ninety days of a running program (demo) and an empty one that settles at once (quick)."""

import io
import json

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from catalog.models import Category, Product
from commissions.models import CommissionLine
from distributors.models import Application, Distributor, Level
from ledger.checks import ledger_problems
from merchants.models import Membership, Merchant, MerchantAPIKey
from orders.models import Order, OrderItem
from risk.models import RiskFlag
from settlements.models import SettlementRun, Withdrawal

pytestmark = pytest.mark.django_db


def counts(queryset, *fields):
    return {tuple(row[f] for f in fields): row["n"] for row in queryset.values(*fields).annotate(n=Count("id"))}


def test_seed_demo_builds_ninety_days_and_a_second_run_reuses_them(tmp_path):
    path = tmp_path / "credentials.json"
    call_command("seed_demo", "--credentials-file", str(path), stdout=io.StringIO())
    demo, quick = Merchant.objects.get(slug="demo"), Merchant.objects.get(slug="quick")

    assert sorted(Membership.objects.for_merchant(demo).values_list("role", flat=True)) == [
        "admin",
        "finance",
        "operator",
        "owner",
        "viewer",
    ]
    assert Product.objects.for_merchant(demo).count() == 6
    assert list(Level.objects.for_merchant(demo).values_list("rank", "is_default")) == [
        (1, True),
        (2, False),
        (3, False),
    ]
    distributors = Distributor.objects.for_merchant(demo)
    # 50 distributors over three levels of the tree, and two people who applied and wait for review
    assert counts(distributors.filter(status="active"), "depth") == {(0,): 5, (1,): 15, (2,): 30}
    assert distributors.filter(status="applied").count() == 2
    assert counts(Application.objects.for_merchant(demo), "status") == {("approved",): 50, ("pending",): 2}
    orders = Order.objects.for_merchant(demo)
    assert orders.count() == 359
    assert counts(orders, "status") == {("completed",): 326, ("shipped",): 6, ("paid",): 3, ("closed",): 24}
    assert orders.filter(refunded_amount__gt=0).count() == 81
    # what the analytics group by: a category tree with every product in it, channels, delivery regions
    assert sorted(
        Category.objects.for_merchant(demo).values_list("external_id", "parent__external_id", "archived_at")
    ) == [
        ("classes", None, None),
        ("gifts", None, None),
        ("tea", None, None),
        ("tea-green", "tea", None),
        ("tea-oolong", "tea", None),
        ("tea-puer", "tea", None),
        ("teaware", None, None),
    ]
    assert sorted(Product.objects.for_merchant(demo).values_list("external_id", "category__external_id")) == [
        ("class-001", "classes"),
        ("cup-001", "teaware"),
        ("gift-card", "gifts"),
        ("tea-001", "tea-green"),
        ("tea-002", "tea-oolong"),
        ("tea-003", "tea-puer"),
    ]
    assert counts(OrderItem.objects.for_merchant(demo), "category__external_id") == {
        ("classes",): 89,
        ("tea-green",): 86,
        ("tea-oolong",): 98,
        ("tea-puer",): 98,
        ("teaware",): 86,
    }
    assert counts(orders, "channel") == {
        ("share_link",): 129,
        ("qr_poster",): 46,
        ("miniprogram_code",): 43,
        ("distributor_shop",): 54,
        ("market",): 20,
        ("group_buy",): 36,
        ("direct",): 31,  # sent without a channel: inferred
    }
    assert counts(orders, "province", "city") == {
        ("广东省", "深圳市"): 59,
        ("广东省", "广州市"): 42,
        ("浙江省", "杭州市"): 57,
        ("浙江省", "宁波市"): 23,
        ("上海市", "上海市"): 33,
        ("北京市", "北京市"): 26,
        ("江苏省", "南京市"): 17,
        ("江苏省", "苏州市"): 27,
        ("四川省", "成都市"): 16,
        ("福建省", "厦门市"): 26,
        ("", ""): 33,
    }
    # a customer has one address: no customer is in two regions
    assert orders.values("customer_external_id").distinct().count() == 199
    assert orders.values("customer_external_id", "province", "city").distinct().count() == 199
    lines = CommissionLine.objects.for_merchant(demo)
    now = timezone.now()
    # settled history, clawbacks of refunds after settlement, lines due now and lines still waiting
    assert lines.filter(status="settled", kind="commission").count() > 400
    assert lines.filter(kind="clawback").count() > 0
    assert lines.filter(status="confirmed", unlock_at__lte=now).count() > 0
    assert lines.filter(status="confirmed", unlock_at__gt=now).count() > 0
    assert lines.filter(status="pending").count() > 0
    assert set(SettlementRun.objects.for_merchant(demo).values_list("status", flat=True)) == {"completed"}
    assert SettlementRun.objects.for_merchant(demo).count() >= 11
    assert counts(Withdrawal.objects.for_merchant(demo), "status") == {("paid",): 4, ("requested",): 1}
    assert counts(RiskFlag.objects.for_merchant(demo), "rule", "status") == {
        ("shared_identity", "open"): 2,
        ("refund_rate", "open"): 1,
    }
    assert ledger_problems(demo.pk) == []

    # the walkthrough's merchant: empty, its after-sales window 0 days
    assert quick.program.after_sales_days == 0
    assert Distributor.objects.for_merchant(quick).count() == 0
    assert Product.objects.for_merchant(quick).count() == 2

    credentials = json.loads(path.read_text())
    assert [login["username"] for login in credentials["logins"]] == [
        "admin",
        "demo-owner",
        "demo-admin",
        "demo-finance",
        "demo-operator",
        "demo-viewer",
        "quick-owner",
    ]
    assert [(k["merchant"], k["role"]) for k in credentials["api_keys"]] == [
        (slug, role) for slug in ("quick", "demo") for role in ("admin", "finance", "operator", "viewer")
    ]

    call_command("seed_demo", "--credentials-file", str(path), stdout=io.StringIO())
    assert json.loads(path.read_text()) == credentials  # the same passwords and keys
    assert Distributor.objects.for_merchant(demo).count() == 52 and orders.count() == 359
    assert Category.objects.for_merchant(demo).count() == 7
    assert MerchantAPIKey.objects.for_merchant(demo).count() == 4
    assert MerchantAPIKey.objects.for_merchant(quick).count() == 4
