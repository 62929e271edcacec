"""Load the demo merchant (idempotent: a second run reuses what exists) and print how to log in.

Demo passwords and the API key are derived from DJANGO_SECRET_KEY, so they stay the same across runs
on one machine and differ between machines.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from distribution import rls
from distribution.auth import Actor
from distributors.models import Distributor, Level
from distributors.services import applications, bindings, levels, recruitment
from merchants import services
from merchants.models import Membership, Merchant, MerchantAPIKey
from merchants.roles import Role
from orders.models import Order, Product
from orders.services import intake
from orders.services.products import product_upsert_many

DEMO_SLUG = "demo"
DEMO_STAFF = [
    ("demo-owner", Role.OWNER),
    ("demo-finance", Role.FINANCE),
    ("demo-operator", Role.OPERATOR),
    ("demo-viewer", Role.VIEWER),
]
DEMO_LEVELS = [
    {"name": "见习分销员 Trainee", "rank": 1, "depth1_rate": None},
    {
        "name": "银牌 Silver",
        "rank": 2,
        "condition_mode": "any",
        "window_days": 90,
        "min_sales_amount": 300000,
        "min_direct_recruits": 5,
        "rate_mode": "percent",
        "depth1_rate": 1200,
        "depth2_rate": 400,
    },
    {
        "name": "金牌 Gold",
        "rank": 3,
        "condition_mode": "all",
        "min_sales_amount": 2000000,
        "min_order_count": 50,
        "rate_mode": "percent",
        "depth1_rate": 1500,
        "depth2_rate": 500,
    },
]
# (app user id, display name, inviter's app user id): three levels deep.
DEMO_TREE = [
    ("wx-lin", "林小茶", None),
    ("wx-chen", "陈一壶", "wx-lin"),
    ("wx-wang", "王二两", "wx-lin"),
    ("wx-zhao", "赵三叶", "wx-chen"),
    ("wx-sun", "孙四季", "wx-chen"),
    ("wx-li", "李五味", "wx-wang"),
    ("wx-zhou", "周六安", "wx-zhao"),
]
DEMO_PRODUCTS = [
    {"external_id": "tea-001", "title": "West Lake Longjing 250g", "price": 16800, "kind": "physical"},
    {"external_id": "tea-002", "title": "Anxi Tieguanyin 500g", "price": 12800, "kind": "physical"},
    {
        "external_id": "tea-003",
        "title": "Yunnan Pu'er cake 357g",
        "price": 29900,
        "kind": "physical",
        "commission_mode": "percent",
        "commission_depth1": 1500,
        "commission_depth2": 500,
    },
    {
        "external_id": "cup-001",
        "title": "Celadon tea cup set",
        "price": 8800,
        "kind": "physical",
        "commission_mode": "fixed",
        "commission_depth1": 1000,
        "commission_depth2": 300,
    },
    {"external_id": "class-001", "title": "Online tea tasting class", "price": 9900, "kind": "virtual"},
    {
        "external_id": "gift-card",
        "title": "Gift card ¥100",
        "price": 10000,
        "kind": "virtual",
        "distribution_enabled": False,
    },
]


def derived_secret(purpose: str, length: int = 24) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"seed_demo:{purpose}".encode(), hashlib.sha256).hexdigest()
    return digest[:length]


class Command(BaseCommand):
    help = "Create (or reuse) the demo merchant, its staff, program, products and API key."

    @rls.bypass()  # an operator's command: it works across merchants
    def handle(self, *args, **options):
        with transaction.atomic():
            result = self.seed()
        self.report(**result)

    def seed(self) -> dict:
        User = get_user_model()
        actor = Actor.system("seed_demo")
        passwords = {}
        users = {}
        for username, _ in [("admin", None), *DEMO_STAFF]:
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            passwords[username] = derived_secret(f"password:{username}", 16)
            user.set_password(passwords[username])
            if username == "admin":
                user.is_staff = user.is_superuser = True
            user.save()
            users[username] = user

        merchant = Merchant.objects.filter(slug=DEMO_SLUG).first()
        if merchant is None:
            merchant = services.merchant_create(
                name="Demo Tea House 演示茶庄",
                slug=DEMO_SLUG,
                owner=users["demo-owner"],
                actor=actor,
            )
            services.program_update(
                merchant=merchant,
                actor=actor,
                reason="demo defaults",
                changes={
                    "commission_depth": 2,
                    "depth1_rate_bps": 1000,
                    "depth2_rate_bps": 300,
                    "binding_mode": "last_touch",
                    "binding_validity_days": 30,
                    "binding_protection_days": 7,
                    "after_sales_days": 7,
                    "commission_cap_bps": 3000,
                },
            )
        for username, role in DEMO_STAFF:
            Membership.objects.get_or_create(merchant=merchant, user=users[username], defaults={"role": role})

        product_upsert_many(merchant=merchant, actor=actor, items=DEMO_PRODUCTS)
        self.seed_network(merchant, actor)

        api_key_plain = self.demo_api_key(merchant)
        return {"merchant": merchant, "passwords": passwords, "api_key": api_key_plain}

    def seed_network(self, merchant: Merchant, actor: Actor) -> None:
        """Levels, a three-deep invite tree and bound customers (only on the first run)."""
        if Level.objects.for_merchant(merchant).exists():
            return
        for data in DEMO_LEVELS:
            levels.level_create(merchant=merchant, actor=actor, data=data)
        recruitment.agreement_publish(
            merchant=merchant,
            actor=actor,
            version="2026-01",
            title="分销员协议",
            body="Promote honestly; no spam; commission is paid after the after-sales window.",
        )
        services.program_update(merchant=merchant, actor=actor, changes={"app_base_url": "https://demo.example.com"})
        made: dict[str, Distributor] = {}
        for user, name, parent in DEMO_TREE:
            application = applications.application_submit(
                merchant=merchant,
                actor=actor,
                external_user_id=user,
                channel="server",
                display_name=name,
                invite_code=made[parent].invite_code if parent else "",
                agreement_version="2026-01",
                phone=f"1380000{len(made):04d}",
            )
            made[user] = application.distributor
        start = timezone.now() - timedelta(days=24)
        for i, (user, _, _) in enumerate(DEMO_TREE):
            for j in range(max(1, 3 - made[user].depth)):
                bindings.binding_record_visit(
                    merchant=merchant,
                    customer_external_id=f"customer-{i:02d}{j}",
                    share_code=made[user].invite_code,
                    visited_at=start,
                )
        self.seed_orders(merchant, start)

    def seed_orders(self, merchant: Merchant, start) -> None:
        """Three weeks of orders from the bound customers: most completed, some refunded in part, some closed."""
        customers = list(
            bindings.live_bindings(merchant)
            .order_by("customer_external_id")
            .values_list("customer_external_id", flat=True)
        )
        prices = {p["external_id"]: p["price"] for p in DEMO_PRODUCTS if p.get("distribution_enabled", True)}
        skus = list(prices)
        for n, customer in enumerate(customers):
            paid_at = start + timedelta(days=1 + n * 2, hours=n)
            sku = skus[n % len(skus)]
            items = [{"line_id": "1", "product": sku, "quantity": 1 + n % 3, "unit_price": prices[sku], "discount": 0}]
            external_id = f"demo-{n + 1:04d}"
            intake.order_ingest_paid(
                merchant=merchant,
                source="api",
                data={"external_id": external_id, "customer_external_id": customer, "paid_at": paid_at, "items": items},
            )

            def event(type_, at, external_id=external_id, **data):
                intake.order_apply_event(
                    merchant=merchant,
                    external_id=external_id,
                    type_=type_,
                    source="api",
                    data={"occurred_at": at, **data},
                )

            if n % 5 == 4:
                event("closed", paid_at + timedelta(hours=2))
                continue
            if n % 4 == 3:
                event("refunded", paid_at + timedelta(days=1), refund_id="r1", amount=prices[sku] // 2)
            event("shipped", paid_at + timedelta(hours=6))
            if paid_at + timedelta(days=3) < timezone.now():
                event("completed", paid_at + timedelta(days=3))

    def demo_api_key(self, merchant: Merchant) -> str:
        """A deterministic key (from the secret key), so a second run can print it again."""
        generator = MerchantAPIKey.objects.key_generator
        prefix = "demo" + derived_secret("api-key-prefix", 4)
        key = f"{prefix}.{derived_secret('api-key', 32)}"
        api_key = MerchantAPIKey.objects.for_merchant(merchant).filter(prefix=prefix).first()
        if api_key is None or api_key.revoked or not api_key.is_valid(key):
            if api_key is not None:
                MerchantAPIKey.objects.for_merchant(merchant).filter(pk=api_key.pk).delete()
            hashed = generator.hash(key)
            MerchantAPIKey.objects.create(
                merchant=merchant,
                id=f"{prefix}.{hashed}",
                prefix=prefix,
                hashed_key=hashed,
                name="demo server key",
                role=Role.ADMIN,
            )
        return key

    def report(self, *, merchant: Merchant, passwords: dict, api_key: str) -> None:
        products = Product.objects.for_merchant(merchant).count()
        distributors = Distributor.objects.for_merchant(merchant).count()
        orders = Order.objects.for_merchant(merchant).count()
        out = self.stdout.write
        out("")
        out(f"Demo merchant: {merchant.name} (slug '{merchant.slug}', {merchant.currency}, {merchant.timezone})")
        out(f"  products: {products}; distributors: {distributors} (app users wx-lin, wx-chen, ...); orders: {orders}")
        out(f"  platform admin (/admin/):  admin / {passwords['admin']}")
        for username, role in DEMO_STAFF:
            out(f"  staff {role:<9} {username} / {passwords[username]}")
        out(f"  server API key (admin role): {api_key}")
        out("  try: curl -H 'X-Api-Key: <key>' http://127.0.0.1:8000/api/v1/program")
        out("")
