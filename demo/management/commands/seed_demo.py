"""Load the demo (idempotent: a second run reuses what exists) and print how to log in.

Two merchants:

* **demo** (Demo Tea House 演示茶庄): ninety days of a running program, so every list and report shows
  real figures: a category tree (茶叶 > 绿茶 / 乌龙茶 / 普洱茶, 茶具, 茶课, 礼品) with every product in
  it, three levels, 50 distributors over three levels of the invite tree, their customers, a few
  hundred orders over the ninety days (by several channels, most with a delivery region; completed,
  shipped, open, closed, refunded in part or whole, some days later, some after their commission
  settled: clawbacks), weekly settlement runs up to a week ago (so some lines are due now),
  paid withdrawals, one withdrawal waiting for approval, a pending application and an open risk flag.
* **quick** (Quick Shop 快结小店): an empty program whose after-sales window is 0 days, so an order the
  README's walkthrough completes can be settled at once.

Passwords and API keys are derived from DJANGO_SECRET_KEY, so they stay the same across runs on one
machine and differ between machines. `--credentials-file` also writes them as JSON (make run prints
them once everything is up).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from analytics.refresh import current_tops, rebuild_merchant, record_rebuild
from catalog.models import Product
from catalog.services import category_upsert_many, product_upsert_many
from commissions.models import CommissionLine
from distribution import outbox, rls
from distribution.auth import Actor
from distributors.models import Distributor, Level
from distributors.services import applications, bindings, identity, levels, recruitment
from distributors.services.identity import _CN_CHECK, _CN_WEIGHTS
from ledger.services import distributor_balances
from merchants.models import Membership, Merchant, MerchantAPIKey
from merchants.roles import Role
from merchants.services.lifecycle import merchant_create
from merchants.services.programs import program_update
from orders.models import Order
from orders.services import intake
from risk.services import risk_sweep
from settlements.models import Withdrawal
from settlements.services import payout_accounts, payouts, runs, withdrawals

DEMO_SLUG, QUICK_SLUG = "demo", "quick"
AGREEMENT_VERSION = "2026-01"
DEMO_STAFF = [
    ("demo-owner", Role.OWNER),
    ("demo-admin", Role.ADMIN),
    ("demo-finance", Role.FINANCE),
    ("demo-operator", Role.OPERATOR),
    ("demo-viewer", Role.VIEWER),
]
QUICK_STAFF = [("quick-owner", Role.OWNER)]
KEY_ROLES = (Role.ADMIN, Role.FINANCE, Role.OPERATOR, Role.VIEWER)
DEMO_LEVELS = [
    {"name": "见习分销员 Trainee", "rank": 1, "commission_rates": []},
    {
        "name": "银牌 Silver",
        "rank": 2,
        "condition_mode": "any",
        "window_days": 90,
        "min_sales_amount": 300000,
        "min_direct_recruits": 3,
        "commission_rates": [
            {"depth": 1, "mode": "percent", "rate_bps": 1200},
            {"depth": 2, "mode": "percent", "rate_bps": 400},
        ],
    },
    {
        "name": "金牌 Gold",
        "rank": 3,
        "condition_mode": "all",
        "min_sales_amount": 1000000,
        "min_order_count": 20,
        "commission_rates": [
            {"depth": 1, "mode": "percent", "rate_bps": 1500},
            {"depth": 2, "mode": "percent", "rate_bps": 500},
        ],
    },
]
DEMO_CATEGORIES = [
    {"external_id": "tea", "name": "茶叶 Tea", "sort_order": 1},
    {"external_id": "tea-green", "name": "绿茶 Green tea", "parent": "tea", "sort_order": 1},
    {"external_id": "tea-oolong", "name": "乌龙茶 Oolong", "parent": "tea", "sort_order": 2},
    {"external_id": "tea-puer", "name": "普洱茶 Pu'er", "parent": "tea", "sort_order": 3},
    {"external_id": "teaware", "name": "茶具 Teaware", "sort_order": 2},
    {"external_id": "classes", "name": "茶课 Classes", "sort_order": 3},
    {"external_id": "gifts", "name": "礼盒与礼品卡 Gifts", "sort_order": 4},
]
DEMO_PRODUCTS = [
    {
        "external_id": "tea-001",
        "title": "West Lake Longjing 250g",
        "price": 16800,
        "kind": "physical",
        "category": "tea-green",
    },
    {
        "external_id": "tea-002",
        "title": "Anxi Tieguanyin 500g",
        "price": 12800,
        "kind": "physical",
        "category": "tea-oolong",
    },
    {
        "external_id": "tea-003",
        "title": "Yunnan Pu'er cake 357g",
        "price": 29900,
        "kind": "physical",
        "category": "tea-puer",
        "commission_rates": [
            {"depth": 1, "mode": "percent", "rate_bps": 1500},
            {"depth": 2, "mode": "percent", "rate_bps": 500},
        ],
    },
    {
        "external_id": "cup-001",
        "title": "Celadon tea cup set",
        "price": 8800,
        "kind": "physical",
        "category": "teaware",
        # a fixed ¥10.00 a set for the seller, 3% for their inviter
        "commission_rates": [
            {"depth": 1, "mode": "fixed", "amount": 1000},
            {"depth": 2, "mode": "percent", "rate_bps": 300},
        ],
    },
    {
        "external_id": "class-001",
        "title": "Online tea tasting class",
        "price": 9900,
        "kind": "virtual",
        "category": "classes",
    },
    {
        "external_id": "gift-card",
        "title": "Gift card ¥100",
        "price": 10000,
        "kind": "virtual",
        "category": "gifts",
        "distribution_enabled": False,
    },
]
QUICK_PRODUCTS = [
    {"external_id": "tea-9", "title": "Dragon Well 100g", "price": 6800, "kind": "physical"},
    {"external_id": "pot-1", "title": "Yixing clay teapot", "price": 36000, "kind": "physical"},
]
# How the demo's buyers came (weights out of 100); "" leaves the channel out, so intake infers it (direct:
# the demo's orders carry no share code, the binding attributes them).
CHANNELS = [
    ("share_link", 34),
    ("qr_poster", 14),
    ("miniprogram_code", 14),
    ("distributor_shop", 14),
    ("market", 6),
    ("group_buy", 8),
    ("", 10),
]
# Where they live (weights out of 100); a customer always has the same address, and some never send one.
REGIONS = [
    (("广东省", "深圳市"), 18),
    (("广东省", "广州市"), 12),
    (("浙江省", "杭州市"), 16),
    (("浙江省", "宁波市"), 6),
    (("上海市", "上海市"), 12),
    (("北京市", "北京市"), 10),
    (("江苏省", "南京市"), 6),
    (("江苏省", "苏州市"), 6),
    (("四川省", "成都市"), 4),
    (("福建省", "厦门市"), 4),
    ((), 6),
]
SURNAMES = "林陈王赵孙李周吴郑冯何许"
GIVEN = ["小茶", "一壶", "二两", "三叶", "四季", "五味", "六安", "七碗", "八仙", "九曲", "十方", "云雾", "春芽", "秋露"]
DAYS = 90


def derived_secret(purpose: str, length: int = 24) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"seed_demo:{purpose}".encode(), hashlib.sha256).hexdigest()
    return digest[:length]


def resident_id(serial: int) -> str:
    """A checksum-valid sample ID number (GB 11643): Beijing Chaoyang, born 1990-01-01 + serial days."""

    born = date(1990, 1, 1) + timedelta(days=serial * 37)
    body = f"110105{born:%Y%m%d}{serial % 1000:03d}"
    return body + _CN_CHECK[sum(int(d) * w for d, w in zip(body, _CN_WEIGHTS, strict=True)) % 11]


class Command(BaseCommand):
    help = "Create (or reuse) the demo merchants, their staff, programs, history and API keys."

    def add_arguments(self, parser):
        parser.add_argument("--credentials-file", help="also write the logins and API keys there as JSON")

    @rls.bypass()  # an operator's command: it works across merchants
    def handle(self, *args, credentials_file=None, **options):
        # the demo's settlement runs are executed here; their tasks must not run them again elsewhere
        with transaction.atomic(), mock.patch.object(outbox, "publish"):
            credentials = self.seed()
        # the figures are there at once: every merchant's rollups from its history (the refresh task keeps
        # them current from here on)
        started_at, tops = timezone.now(), current_tops()
        for merchant_id in Merchant.objects.order_by("pk").values_list("pk", flat=True):
            rebuild_merchant(merchant_id)
        record_rebuild(tops, started_at)
        if options["verbosity"] > 0:
            self.report(credentials)
        if credentials_file:
            path = Path(credentials_file)
            path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2))
            path.chmod(0o600)

    # --- people and merchants -------------------------------------------------------------------------
    def seed(self) -> dict:
        actor = Actor.system("seed_demo")
        users = self.users(["admin", *(u for u, _ in DEMO_STAFF), *(u for u, _ in QUICK_STAFF)])
        demo = self.merchant(
            DEMO_SLUG,
            "Demo Tea House 演示茶庄",
            users["demo-owner"],
            actor,
            {
                "commission_depth": 2,
                "depth1_rate_bps": 1000,
                "depth2_rate_bps": 300,
                "binding_mode": "last_touch",
                "binding_validity_days": 30,
                "binding_protection_days": 7,
                "after_sales_days": 7,
                "commission_cap_bps": 3000,
                "withdrawal_min_amount": 1000,
                "app_base_url": "https://demo.example.com",
            },
        )
        quick = self.merchant(
            QUICK_SLUG,
            "Quick Shop 快结小店",
            users["quick-owner"],
            actor,
            {
                "commission_depth": 2,
                "depth1_rate_bps": 1000,
                "depth2_rate_bps": 500,
                "after_sales_days": 0,
                "withdrawal_min_amount": 100,
                "app_base_url": "https://quick.example.com",
            },
        )
        for username, role in DEMO_STAFF:
            Membership.objects.get_or_create(merchant=demo, user=users[username], defaults={"role": role})
        category_upsert_many(merchant=demo, actor=actor, items=DEMO_CATEGORIES)
        product_upsert_many(merchant=demo, actor=actor, items=DEMO_PRODUCTS)
        product_upsert_many(merchant=quick, actor=actor, items=QUICK_PRODUCTS)
        for merchant in (demo, quick):
            if not recruitment.current_agreement(merchant):
                recruitment.agreement_publish(
                    merchant=merchant,
                    actor=actor,
                    version=AGREEMENT_VERSION,
                    title="分销员协议 Distributor agreement",
                    body="Promote honestly; no spam; commission is paid after the after-sales window.",
                )
        if not Level.objects.for_merchant(demo).exists():
            for data in DEMO_LEVELS:
                levels.level_create(merchant=demo, actor=actor, data=data)
            DemoHistory(demo, actor).build()
        logins = [{"who": "platform operator", "username": "admin", "password": self.passwords["admin"]}]
        for slug, staff in ((DEMO_SLUG, DEMO_STAFF), (QUICK_SLUG, QUICK_STAFF)):
            for username, role in staff:
                logins.append({"who": f"{slug} {role}", "username": username, "password": self.passwords[username]})
        api_keys = [
            {"merchant": merchant.slug, "role": str(role), "key": self.api_key(merchant, role)}
            for merchant in (quick, demo)
            for role in KEY_ROLES
        ]
        return {"logins": logins, "api_keys": api_keys}

    def users(self, usernames: list[str]) -> dict:
        User = get_user_model()
        self.passwords, users = {}, {}
        for username in usernames:
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            self.passwords[username] = derived_secret(f"password:{username}", 16)
            user.set_password(self.passwords[username])
            if username == "admin":
                user.is_staff = user.is_superuser = True
            user.save()
            users[username] = user
        return users

    def merchant(self, slug: str, name: str, owner, actor: Actor, program: dict) -> Merchant:
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            merchant = merchant_create(name=name, slug=slug, owner=owner, actor=actor)
            program_update(merchant=merchant, actor=actor, reason="demo defaults", changes=program)
        return merchant

    def api_key(self, merchant: Merchant, role: str) -> str:
        """A deterministic key (from the secret key), so a second run can print it again."""
        generator = MerchantAPIKey.objects.key_generator
        prefix = merchant.slug[:2] + role[:2] + derived_secret(f"api-key-prefix:{merchant.slug}:{role}", 4)
        key = f"{prefix}.{derived_secret(f'api-key:{merchant.slug}:{role}', 32)}"
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
                name=f"demo {role} key",
                role=role,
            )
        return key

    def report(self, credentials: dict) -> None:
        out = self.stdout.write
        out("")
        for slug in (DEMO_SLUG, QUICK_SLUG):
            merchant = Merchant.objects.get(slug=slug)
            program = merchant.program
            out(
                f"Merchant '{slug}': {merchant.name} ({merchant.currency}, {merchant.timezone}, after-sales window "
                f"{program.after_sales_days} days): {Distributor.objects.for_merchant(merchant).count()} distributors, "
                f"{Order.objects.for_merchant(merchant).count()} orders, "
                f"{Product.objects.for_merchant(merchant).count()} products"
            )
        for login in credentials["logins"]:
            out(f"  login    {login['who']:<24} {login['username']} / {login['password']}")
        for key in credentials["api_keys"]:
            out(f"  API key  {key['merchant']:<6} {key['role']:<9} {key['key']}")
        out("")


class DemoHistory:
    """Ninety days of the demo merchant's program, built through the product's own services in the order
    things happened: people join, customers visit, orders are paid, shipped, completed and refunded, and
    a settlement runs every Monday."""

    def __init__(self, merchant: Merchant, actor: Actor):
        self.merchant = merchant
        self.actor = actor
        self.random = random.Random(2026)  # noqa: S311 - the same demo every time, not a secret
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - timedelta(days=DAYS)
        self.prices = {p["external_id"]: p["price"] for p in DEMO_PRODUCTS if p.get("distribution_enabled", True)}

    def build(self) -> None:
        distributors = self.network()
        events = self.customers_and_orders(distributors)
        self.browsing(distributors)
        for monday in self.mondays():
            events.append((monday, "settle", {}))
        for at, kind, data in sorted(events, key=lambda e: (e[0], e[1] != "paid")):
            if kind == "settle":
                run = runs.settlement_request(merchant=self.merchant, actor=self.actor, as_of=at)
                runs.settlement_execute(run.pk)
            elif kind == "paid":
                intake.order_ingest_paid(merchant=self.merchant, source="api", data=data)
            else:
                intake.order_apply_event(
                    merchant=self.merchant,
                    external_id=data.pop("external_id"),
                    type_=kind,
                    source="api",
                    data={"occurred_at": at, **data},
                )
        self.payouts(distributors)
        self.open_items(distributors)

    def mondays(self) -> list[datetime]:
        """Settlement as of every Monday 02:00 of the history, the last one at least a week ago (so the lines
        unlocked since are due now)."""
        day = self.start + timedelta(days=(7 - self.start.weekday()) % 7)
        day = day.replace(hour=2, minute=0, second=0)
        out = []
        while day < self.now - timedelta(days=7):
            out.append(day)
            day += timedelta(days=7)
        return out

    def network(self) -> list[Distributor]:
        """5 founders, 15 recruits of theirs and 30 of those: 50 distributors over three levels, joined over
        the first two months."""
        made: list[Distributor] = []
        parents: list[Distributor | None] = [None] * 5
        for generation, per_parent in ((0, 1), (1, 3), (2, 2)):
            children = []
            for parent in parents if generation else [None] * 5:
                for _ in range(per_parent):
                    n = len(made)
                    application = applications.application_submit(
                        merchant=self.merchant,
                        actor=self.actor,
                        external_user_id=f"wx-{n + 1:03d}",
                        channel="server",
                        display_name=SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 5) % len(GIVEN)],
                        invite_code=parent.invite_code if parent else "",
                        agreement_version=AGREEMENT_VERSION,
                        phone=f"139{n + 1:08d}",
                    )
                    distributor = application.distributor
                    joined = self.start + timedelta(days=generation * 20 + self.random.randint(0, 12))
                    Distributor.objects.for_merchant(self.merchant).filter(pk=distributor.pk).update(
                        activated_at=joined, created_at=joined
                    )
                    distributor.activated_at = joined
                    made.append(distributor)
                    children.append(distributor)
            parents = children
        return made

    def customers_and_orders(self, distributors: list[Distributor]) -> list[tuple]:
        """Each distributor's customers (2-6, through their share links), and each customer's orders in the
        month after their visit, with what happened to each order afterwards."""
        events: list[tuple] = []
        skus = list(self.prices)
        n = 0
        for d_index, distributor in enumerate(distributors):
            for c in range(self.random.randint(2, 6)):
                customer = f"customer-{d_index + 1:03d}-{c + 1}"
                visited = distributor.activated_at + timedelta(days=self.random.randint(0, 20), hours=c)
                if visited > self.now - timedelta(days=1):
                    continue
                bindings.binding_record_visit(
                    merchant=self.merchant,
                    customer_external_id=customer,
                    share_code=distributor.invite_code,
                    visited_at=visited,
                    visit_id=f"{customer}:first",  # reported with an id: the funnel counts it
                )
                for _ in range(self.random.choice((1, 1, 2, 2, 3))):
                    paid_at = visited + timedelta(days=self.random.randint(0, 25), minutes=self.random.randint(1, 900))
                    if paid_at > self.now - timedelta(hours=1):
                        continue
                    n += 1
                    events += self.order(f"demo-{n:04d}", customer, paid_at, skus)
        return events

    def browsing(self, distributors: list[Distributor]) -> None:
        """Visitors who looked and did not buy (yet): 0-4 per distributor over the last four weeks, so that the
        funnel's visits and the conversion mean something. Their own random stream leaves the rest as it was."""
        for d_index, distributor in enumerate(distributors):
            browse = random.Random(f"browse:{d_index}")  # noqa: S311 - the same demo every time, not a secret
            for k in range(browse.randint(0, 4)):
                visited = self.now - timedelta(days=browse.randint(1, 28), minutes=browse.randint(0, 900))
                bindings.binding_record_visit(
                    merchant=self.merchant,
                    customer_external_id=f"prospect-{d_index + 1:03d}-{k + 1}",
                    share_code=distributor.invite_code,
                    visited_at=visited,
                    visit_id=f"prospect-{d_index + 1:03d}-{k + 1}:{visited:%Y%m%d}",
                )

    def order(self, external_id: str, customer: str, paid_at: datetime, skus: list[str]) -> list[tuple]:
        pick = self.random.sample(skus, self.random.choice((1, 1, 1, 2)))
        items = [
            {
                "line_id": str(i + 1),
                "product": sku,
                "quantity": self.random.choice((1, 1, 2, 3)),
                "unit_price": self.prices[sku],
                "discount": self.random.choice((0, 0, 0, 500)),
            }
            for i, sku in enumerate(pick)
        ]
        data = {
            "external_id": external_id,
            "customer_external_id": customer,
            "paid_at": paid_at,
            "items": items,
            **self.channel_and_region(external_id, customer),
        }
        events = [(paid_at, "paid", data)]
        roll = self.random.random()
        if roll < 0.05:
            return [*events, (paid_at + timedelta(hours=2), "closed", {"external_id": external_id})]
        shipped, completed = paid_at + timedelta(days=1), paid_at + timedelta(days=4)
        if shipped < self.now:
            events.append((shipped, "shipped", {"external_id": external_id}))
        if roll < 0.15:  # a partial refund before completion: half of the first item
            first = items[0]
            half = (first["unit_price"] * first["quantity"] - first["discount"]) // 2
            events.append(
                (
                    paid_at + timedelta(days=2),
                    "refunded",
                    {"external_id": external_id, "refund_id": "r1", "amount": half},
                )
            )
        if completed < self.now:
            events.append((completed, "completed", {"external_id": external_id}))
            refund_at = completed + timedelta(days=self.random.randint(9, 20))
            if 0.15 <= roll < 0.19 and refund_at < self.now:  # refunded after its commission settled: a clawback
                first = items[0]
                amount = first["unit_price"] * first["quantity"] - first["discount"]
                events.append(
                    (refund_at, "refunded", {"external_id": external_id, "refund_id": "late", "amount": amount})
                )
        return events

    @staticmethod
    def channel_and_region(external_id: str, customer: str) -> dict[str, str]:
        """The order's channel and the customer's delivery region, each from its own seeded generator: the
        same for every run, and drawn apart from `self.random`, so the rest of the history is unchanged."""
        pick = random.Random(f"channel:{external_id}")  # noqa: S311 - the same demo every time, not a secret
        (channel,) = pick.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])
        where = random.Random(f"region:{customer}")  # noqa: S311 - as above
        (region,) = where.choices([r for r, _ in REGIONS], weights=[w for _, w in REGIONS])
        out = {"channel": channel} if channel else {}
        if region:
            out["province"], out["city"] = region
        return out

    def payouts(self, distributors: list[Distributor]) -> None:
        """The six best earners verified their identity and added a bank card; four were paid out by bank
        transfer (a bank batch), and one more
        withdrawal waits for finance's approval."""
        currency = self.merchant.currency
        distributors = list(
            Distributor.objects.for_merchant(self.merchant).filter(pk__in=[d.pk for d in distributors], status="active")
        )
        available = {d.pk: distributor_balances(self.merchant.pk, d.pk, currency)["available"] for d in distributors}
        earners = sorted(distributors, key=lambda d: -available[d.pk])[:6]
        finance = Actor.system("demo-finance")
        for i, distributor in enumerate(earners):
            distributor = identity.distributor_identity_submit(
                merchant=self.merchant,
                actor=self.actor,
                distributor_id=distributor.pk,
                real_name=f"{distributor.display_name[0]}示例",
                id_type="cn_resident",
                id_number=resident_id(i + 1),
                verified=True,
            )
            payout_accounts.payout_account_add(
                merchant=self.merchant,
                actor=self.actor,
                distributor_id=distributor.pk,
                kind="bank_card",
                identity=f"62220200000000{i + 1:05d}",
                real_name=f"{distributor.display_name[0]}示例",
                bank_name="中国工商银行",
                bank_branch="杭州西湖支行",
            )
            amount = available[distributor.pk] // 2 // 100 * 100  # verifying an identity moves no money
            if i == 5 or amount < 1000:
                continue
            withdrawals.withdrawal_request(
                merchant=self.merchant, actor=self.actor, distributor=distributor, amount=amount
            )
        requested = list(Withdrawal.objects.for_merchant(self.merchant).order_by("pk"))
        for withdrawal in requested[:-1]:
            withdrawals.withdrawal_approve(merchant=self.merchant, actor=finance, withdrawal_id=withdrawal.pk)
        payouts.withdrawals_export(merchant=self.merchant, actor=finance)
        for withdrawal in requested[:-1]:
            payouts.withdrawal_mark(merchant=self.merchant, actor=finance, withdrawal_id=withdrawal.pk, paid=True)

    def open_items(self, distributors: list[Distributor]) -> None:
        """What a merchant finds waiting: a pending application (the program now reviews them) and a risk
        flag (two distributors gave the same phone number)."""
        program_update(merchant=self.merchant, actor=self.actor, changes={"auto_approve_applications": False})
        applications.application_submit(
            merchant=self.merchant,
            actor=self.actor,
            external_user_id="wx-applicant",
            channel="server",
            display_name="申请中 Applicant",
            invite_code=distributors[0].invite_code,
            agreement_version=AGREEMENT_VERSION,
            phone="13900000999",
        )
        twin = distributors[-1]
        applications.application_submit(
            merchant=self.merchant,
            actor=self.actor,
            external_user_id="wx-twin",
            channel="server",
            display_name="同号 Same phone",
            invite_code=twin.invite_code,
            agreement_version=AGREEMENT_VERSION,
            phone=f"139{len(distributors):08d}",
        )
        risk_sweep(merchant=self.merchant, now=self.now)
        assert CommissionLine.objects.for_merchant(self.merchant).exists()
