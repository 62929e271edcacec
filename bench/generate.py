"""A realistic merchant for the benchmarks, loaded with set-based SQL in minutes.

    .venv/bin/python bench/generate.py --scale small|full|huge     (or: manage.py bench_generate)

Shape (full scale; small is 1/20 of it, huge has 10,000,000 orders for analytics):

* 100,000 distributors in a random recursive tree (each invited by one drawn uniformly among the earlier
  ones: a few have huge teams, most have none, depth about 12), activated over two years, on four levels
  (the default one, and three with conditions over 30 days, 90 days and cumulative, any or all of them);
* 400,000 customers, 90% bound to a distributor, drawn with a heavy skew (the early distributors have
  most of them), each in a delivery region (31 provinces, 51 cities, skewed towards the populous ones);
  5,000 products priced 9.90 to 999.00, in a two-level tree of 10 categories and 35 leaves (95% of the
  products, skewed towards the first leaves; the rest uncategorised);
* 2,000,000 orders paid over the last year by skewed customers, 1-3 items each (60/30/10%), 20% of
  items discounted by 10%, 1 or 2 units; orders of bound customers are attributed through the binding.
  Each order has a channel (attributed ones through a share link, a poster, a mini-program code, a
  distributor's shop, the market or a group buy; the others mostly direct), its buyer's region (8% none)
  and, per item, its product's category. Bound customers visit through their distributor's share link,
  2.5 visits per attributed order over the last year.
  Orders older than 10 days are completed (shipped after a day, completed after eight), younger ones
  paid or shipped. About 5% are refunded five days after payment: half wholly (the order is closed),
  half in part (the first item, or half of a single item);
* commission lines at two depths (10% and 5%, the program's defaults, rounded half up), pending,
  confirmed with their unlock date, reversed wholly or in part by the refunds, and settled by one
  historical settlement run as of 30 days ago; the lines unlocked since are due;
* the ledger those produce: an accrual per line, a reversal per refunded line, a settlement transaction
  per distributor in the historical run, and the balance projections.

The rows are the ones the product's services write for the same events (same columns, states,
references and rounding; `tests/test_bench_generate.py` checks the books and each line against the
commission engine's rules); what is skipped: the raw order-event log, audit rows and idempotency keys
that the API would also have left. Data are generated once per scale in `<DATABASE_URL db>_bench` and
reused (a data set generated before orders had categories, channels and regions gets them by UPDATE).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import owner_analyze, setup_django
from bench.fixtures import distributor_tree


@dataclass(frozen=True)
class Scale:
    distributors: int
    customers: int
    products: int
    orders: int


SCALES = {
    "tiny": Scale(distributors=300, customers=1_200, products=50, orders=3_000),
    "small": Scale(distributors=5_000, customers=20_000, products=5_000, orders=100_000),
    "full": Scale(distributors=100_000, customers=400_000, products=5_000, orders=2_000_000),
    "huge": Scale(distributors=100_000, customers=1_000_000, products=5_000, orders=10_000_000),
}
RATES = {1: 1000, 2: 500}
AFTER_SALES_DAYS = 7
HISTORY_RUN_DAYS_AGO = 30
# how the buyer came (Order.Channel): orders attributed to a distributor came through its links, codes and
# shops; the others mostly straight to the shop
CHANNELS_DISTRIBUTED = [
    ("share_link", 0.45),
    ("qr_poster", 0.15),
    ("miniprogram_code", 0.15),
    ("distributor_shop", 0.12),
    ("market", 0.08),
    ("group_buy", 0.05),
]
CHANNELS_DIRECT = [("direct", 0.85), ("miniprogram_code", 0.10), ("group_buy", 0.05)]
# delivery regions, most populous (and most e-commerce) first; buyers drawn with a skew towards the top,
# each buyer in one region; NO_REGION of the orders carry none (the shop did not send it)
REGIONS = [
    ("广东省", ["广州市", "深圳市", "东莞市", "佛山市"]),
    ("浙江省", ["杭州市", "宁波市", "温州市"]),
    ("江苏省", ["南京市", "苏州市", "无锡市"]),
    ("山东省", ["济南市", "青岛市"]),
    ("上海市", ["上海市"]),
    ("北京市", ["北京市"]),
    ("河南省", ["郑州市", "洛阳市"]),
    ("四川省", ["成都市", "绵阳市"]),
    ("福建省", ["福州市", "厦门市", "泉州市"]),
    ("湖北省", ["武汉市", "宜昌市"]),
    ("湖南省", ["长沙市", "株洲市"]),
    ("河北省", ["石家庄市", "保定市"]),
    ("安徽省", ["合肥市", "芜湖市"]),
    ("陕西省", ["西安市"]),
    ("重庆市", ["重庆市"]),
    ("天津市", ["天津市"]),
    ("辽宁省", ["沈阳市", "大连市"]),
    ("江西省", ["南昌市"]),
    ("广西壮族自治区", ["南宁市", "桂林市"]),
    ("云南省", ["昆明市"]),
    ("山西省", ["太原市"]),
    ("黑龙江省", ["哈尔滨市"]),
    ("吉林省", ["长春市"]),
    ("贵州省", ["贵阳市"]),
    ("内蒙古自治区", ["呼和浩特市"]),
    ("新疆维吾尔自治区", ["乌鲁木齐市"]),
    ("甘肃省", ["兰州市"]),
    ("海南省", ["海口市", "三亚市"]),
    ("宁夏回族自治区", ["银川市"]),
    ("青海省", ["西宁市"]),
    ("西藏自治区", ["拉萨市"]),
]
NO_REGION = 0.08
# product categories (商品分类): a two-level tree, products in the leaves (skewed towards the first ones),
# UNCATEGORISED of the products in none
CATEGORIES = [
    ("服饰", ["女装", "男装", "童装", "内衣", "鞋靴", "箱包"]),
    ("美妆个护", ["护肤", "彩妆", "洗护", "香水"]),
    ("食品生鲜", ["零食", "生鲜", "粮油", "酒水", "茶叶"]),
    ("母婴", ["奶粉", "纸尿裤", "玩具"]),
    ("家居", ["家纺", "厨具", "收纳", "家具"]),
    ("数码家电", ["手机配件", "小家电", "影音"]),
    ("运动户外", ["运动服", "健身器材", "户外装备"]),
    ("医药保健", ["保健品", "医疗器械"]),
    ("图书文娱", ["图书", "文具"]),
    ("虚拟服务", ["课程", "会员", "卡券"]),
]
UNCATEGORISED = 0.05
# share visits (through a distributor's link, recorded with the binding they kept or made) per order
# attributed to a distributor, over the last year: a conversion of about 40%
VISITS_PER_ORDER = 2.5
LEVELS = [
    # name, rank, mode, window days, min sales (minor units), min orders, min recruits, min customers
    ("Member", 0, "any", None, None, None, None, None),
    ("Silver", 1, "any", 30, 300_000, 20, None, None),
    ("Gold", 2, "any", 90, 3_000_000, None, 5, None),
    ("Diamond", 3, "all", None, 20_000_000, None, None, 200),
]


def generate(scale: str | Scale, *, slug: str | None = None, seed: int = 7, verbose: bool = False):
    """The merchant for `scale` (generated on first use, then reused)."""
    # after setup_django(): app modules need Django's apps loaded
    from catalog.models import Category
    from distributors.models import Distributor, Level, ShareVisit
    from merchants.models import DistributionProgram
    from orders.models import Order

    size = SCALES[scale] if isinstance(scale, str) else scale
    slug = slug or f"bench-{scale}"
    merchant = distributor_tree(size.distributors, slug=slug, seed=seed)
    if Order.objects.for_merchant(merchant).count() == size.orders:
        sync_levels(merchant)
        if not Category.objects.for_merchant(merchant).exists():  # generated before orders had dimensions
            with transaction.atomic(), connection.cursor() as c:
                c.execute("SET LOCAL statement_timeout = 0")
                c.execute("SET LOCAL work_mem = '256MB'")
                _categories(c, merchant.pk)
                _backfill_dimensions(c, merchant.pk)
            owner_analyze("catalog_category", "orders_product", "orders_order", "orders_orderitem", vacuum=True)
        if not ShareVisit.objects.for_merchant(merchant).exists():  # generated before it had visits
            with transaction.atomic(), connection.cursor() as c:
                c.execute("SET LOCAL statement_timeout = 0")
                _visits(c, merchant.pk)
            owner_analyze("distributors_sharevisit")
        return merchant
    started = time.perf_counter()

    def step(name: str) -> None:
        if verbose:
            print(f"  {name}: {time.perf_counter() - started:.1f}s", flush=True)

    m = merchant.pk
    with transaction.atomic():
        DistributionProgram.objects.for_merchant(merchant).update(
            commission_depth=2,
            depth1_rate_bps=RATES[1],
            depth2_rate_bps=RATES[2],
            commission_cap_bps=None,
            after_sales_days=AFTER_SALES_DAYS,
            binding_validity_days=None,
            self_purchase_commission=False,
        )
        sync_levels(merchant)
        default = Level.objects.for_merchant(merchant).get(is_default=True)
        Distributor.objects.for_merchant(merchant).update(level=default, level_changed_at=None)
    with transaction.atomic(), connection.cursor() as c:  # one transaction: the ledger checks it at commit
        c.execute("SET LOCAL statement_timeout = 0")
        c.execute("SET LOCAL work_mem = '256MB'")
        c.execute("SELECT setseed(%s)", [seed / 1000 + 0.01])
        _categories(c, m)
        _facts(c, m, size)
        step("categories, distributors, products, customers, bindings")
        _orders(c, m, size)
        _visits(c, m)
        step("orders, items, refunds, visits")
        _commission(c, m)
        step("commission lines")
        _ledger(c, m)
        step("ledger")
    step("committed")
    # what autovacuum would do soon: statistics, and visibility maps for index-only scans
    owner_analyze(
        "distributors_distributor",
        "distributors_customerbinding",
        "distributors_sharevisit",
        "settlements_ledgertransaction",
        "settlements_account",
    )
    owner_analyze("orders_order", "orders_orderitem", "commissions_commissionline", "settlements_posting", vacuum=True)
    step("vacuumed")
    return merchant


def sync_levels(merchant) -> None:
    """The levels as LEVELS declares them (the tier benchmark's hand-written conditions mirror them)."""
    from distributors.models import Level  # after setup_django(): app modules need Django's apps loaded

    for name, rank, mode, window, sales, orders, recruits, customers in LEVELS:
        Level.objects.update_or_create(
            merchant=merchant,
            rank=rank,
            defaults={
                "name": name,
                "is_default": rank == 0,
                "condition_mode": mode,
                "window_days": window,
                "min_sales_amount": sales,
                "min_order_count": orders,
                "min_direct_recruits": recruits,
                "min_bound_customers": customers,
            },
        )


def _pick(u: str, choices: list[tuple[str, float]]) -> str:
    """SQL for the choice that `u` (uniform in [0, 1)) falls on, by cumulative weight (the last takes the rest)."""
    arms, edge = [], 0.0
    for value, weight in choices[:-1]:
        edge += weight
        arms.append(f"WHEN {u} < {edge:.6f} THEN '{value}'")
    return f"CASE {' '.join(arms)} ELSE '{choices[-1][0]}' END"


def _channel(distributed: str, u: str) -> str:
    """SQL for an order's channel: `distributed` says it has a distributor, `u` is uniform in [0, 1)."""
    return f"CASE WHEN {distributed} THEN {_pick(u, CHANNELS_DISTRIBUTED)} ELSE {_pick(u, CHANNELS_DIRECT)} END"


def _region_pos(u: str) -> str:
    """SQL for a buyer's region (a g_region position) drawn with a skew towards the first ones."""
    return f"1 + floor(power({u}, 2) * (SELECT count(*) FROM g_region))::int"


def _categories(c, m: int) -> None:
    """The category tree, the leaves in `g_leaf` (pos, id) and the delivery regions in `g_region`
    (pos, province, city): what products, buyers and orders draw from."""
    parents = [(f"cat-{i}", name, i) for i, (name, _) in enumerate(CATEGORIES, start=1)]
    children = [
        (f"cat-{i}-{j}", name, j, f"cat-{i}")
        for i, (_, leaves) in enumerate(CATEGORIES, start=1)
        for j, name in enumerate(leaves, start=1)
    ]
    c.execute(
        """INSERT INTO catalog_category (merchant_id, external_id, name, parent_id, sort_order, created_at, updated_at)
           SELECT %s, x.external_id, x.name, NULL, x.sort_order, now(), now()
             FROM unnest(%s::text[], %s::text[], %s::int[]) x(external_id, name, sort_order)""",
        [m, *map(list, zip(*parents, strict=True))],
    )
    c.execute(
        """INSERT INTO catalog_category (merchant_id, external_id, name, parent_id, sort_order, created_at, updated_at)
           SELECT %s, x.external_id, x.name, p.id, x.sort_order, now(), now()
             FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[]) x(external_id, name, sort_order, parent)
             JOIN catalog_category p ON p.merchant_id = %s AND p.external_id = x.parent""",
        [m, *map(list, zip(*children, strict=True)), m],
    )
    regions = [(province, city) for province, cities in REGIONS for city in cities]
    c.execute(
        """CREATE TEMP TABLE g_leaf ON COMMIT DROP AS
           SELECT row_number() OVER (ORDER BY id) AS pos, id FROM catalog_category
            WHERE merchant_id = %s AND parent_id IS NOT NULL;
           CREATE TEMP TABLE g_region ON COMMIT DROP AS
           SELECT pos, province, city FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS r(province, city, pos);
           CREATE UNIQUE INDEX ON g_leaf (pos); CREATE UNIQUE INDEX ON g_region (pos);
           ANALYZE g_leaf; ANALYZE g_region;""",
        [m, *map(list, zip(*regions, strict=True))],
    )


# a product's category: over `l.leaves` (CROSS JOIN _LEAVES), the leaf ids in order
_LEAVES = "(SELECT array_agg(id ORDER BY pos) AS leaves FROM g_leaf) l"
_PRODUCT_CATEGORY = f"""CASE WHEN random() >= {UNCATEGORISED}
                            THEN l.leaves[1 + floor(power(random(), 1.5) * cardinality(l.leaves))::int] END"""


def _backfill_dimensions(c, m: int) -> None:
    """Categories, channels and regions for a data set generated before orders had them (set-based UPDATEs,
    with the same distributions as a fresh one)."""
    c.execute(
        f"""UPDATE orders_product p SET category_id = x.category_id
              FROM (SELECT id, {_PRODUCT_CATEGORY} AS category_id FROM orders_product CROSS JOIN {_LEAVES}
                     WHERE merchant_id = %(m)s) x
             WHERE p.id = x.id;
            UPDATE orders_orderitem i SET category_id = p.category_id
              FROM orders_product p WHERE i.merchant_id = %(m)s AND p.id = i.product_id;
            CREATE TEMP TABLE g_buyer ON COMMIT DROP AS
            SELECT customer_external_id, {_region_pos("random()")} AS region_pos
              FROM (SELECT DISTINCT customer_external_id FROM orders_order WHERE merchant_id = %(m)s) b;
            CREATE UNIQUE INDEX ON g_buyer (customer_external_id);
            ANALYZE g_buyer;
            UPDATE orders_order o
               SET channel = {_channel("o.distributor_id IS NOT NULL", "x.u")},
                   province = CASE WHEN x.v >= {NO_REGION} THEN r.province ELSE '' END,
                   city = CASE WHEN x.v >= {NO_REGION} THEN r.city ELSE '' END
              FROM (SELECT id, random() AS u, random() AS v FROM orders_order WHERE merchant_id = %(m)s) x,
                   g_buyer b, g_region r
             WHERE o.id = x.id AND b.customer_external_id = o.customer_external_id AND r.pos = b.region_pos;""",
        {"m": m},
    )


def _facts(c, m: int, size: Scale) -> None:
    """Activation dates, products (in categories), customers (in regions) and their bindings."""
    c.execute(
        """UPDATE distributors_distributor d SET activated_at = now() - (730 * (1 - r.pos)) * interval '1 day'
             FROM (SELECT id, (row_number() OVER (ORDER BY id))::float / count(*) OVER () AS pos
                     FROM distributors_distributor WHERE merchant_id = %(m)s) r
            WHERE d.id = r.id""",
        {"m": m},
    )
    c.execute(
        f"""INSERT INTO orders_product (merchant_id, external_id, title, price, kind, distribution_enabled,
                                        category_id, created_at, updated_at)
            SELECT %(m)s, 'p' || g, 'Product ' || g, (990 + floor(power(random(), 3) * 98910))::bigint,
                   CASE WHEN g %% 10 = 0 THEN 'virtual' ELSE 'physical' END, true, {_PRODUCT_CATEGORY}, now(), now()
              FROM generate_series(1, %(n)s) g CROSS JOIN {_LEAVES}""",
        {"m": m, "n": size.products},
    )
    c.execute(
        f"""CREATE TEMP TABLE g_dist ON COMMIT DROP AS
           SELECT row_number() OVER (ORDER BY id) AS pos, id, inviter_id FROM distributors_distributor
            WHERE merchant_id = %(m)s;
           CREATE UNIQUE INDEX ON g_dist (pos);
           CREATE TEMP TABLE g_product ON COMMIT DROP AS
           SELECT row_number() OVER (ORDER BY id) AS pos, id, price, category_id FROM orders_product
            WHERE merchant_id = %(m)s;
           CREATE UNIQUE INDEX ON g_product (pos);
           -- customers: 90%% bound, to a distributor drawn with a heavy skew towards the early ones
           CREATE TEMP TABLE g_customer ON COMMIT DROP AS
           SELECT g AS pos, 'c' || g AS external_id,
                  CASE WHEN random() < 0.9 THEN 1 + floor(power(random(), 3) * %(d)s)::int END AS dist_pos,
                  now() - random() * interval '730 days' AS bound_at, {_region_pos("random()")} AS region_pos
             FROM generate_series(1, %(n)s) g;
           CREATE UNIQUE INDEX ON g_customer (pos);
           ANALYZE g_dist; ANALYZE g_product; ANALYZE g_customer;""",
        {"m": m, "n": size.customers, "d": size.distributors},
    )
    c.execute(
        """INSERT INTO distributors_customerbinding (merchant_id, customer_external_id, distributor_id, status, source,
                                                     bound_at, expires_at, protected_until, ended_at, end_reason,
                                                     created_at)
           SELECT %(m)s, cu.external_id, d.id, 'active', 'share_link', cu.bound_at, NULL, NULL, NULL, '', cu.bound_at
             FROM g_customer cu JOIN g_dist d ON d.pos = cu.dist_pos""",
        {"m": m},
    )


def _orders(c, m: int, size: Scale) -> None:
    """Orders, their items and refunds, with the states their age gives them."""
    c.execute(
        f"""CREATE TEMP TABLE g_order ON COMMIT DROP AS
           SELECT g AS pos, cu.external_id AS customer, d.id AS distributor_id, o.paid_at,
                  {_channel("d.id IS NOT NULL", "o.r3")} AS channel,
                  CASE WHEN o.r4 >= {NO_REGION} THEN cu.region_pos END AS region_pos,
                  1 + (o.r1 < 0.4)::int + (o.r1 < 0.1)::int AS n_items,
                  CASE WHEN o.r2 < 0.025 THEN 'full' WHEN o.r2 < 0.05 THEN 'partial' END AS refund
             FROM generate_series(1, %(n)s) g
             CROSS JOIN LATERAL (SELECT 1 + floor(power(random(), 1.5) * %(c)s)::int AS customer_pos,
                                        now() - random() * interval '365 days' AS paid_at,
                                        random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                                        g AS dep) o
             JOIN g_customer cu ON cu.pos = o.customer_pos
             LEFT JOIN g_dist d ON d.pos = cu.dist_pos;
           UPDATE g_order SET refund = NULL WHERE paid_at > now() - interval '5 days';
           CREATE TEMP TABLE g_item ON COMMIT DROP AS
           SELECT o.pos AS order_pos, i AS line, p.id AS product_id, p.category_id, q.quantity, p.price AS unit_price,
                  CASE WHEN q.discounted THEN (p.price * q.quantity) / 10 ELSE 0 END AS discount
             FROM g_order o
             CROSS JOIN LATERAL generate_series(1, o.n_items) i
             CROSS JOIN LATERAL (SELECT 1 + floor(power(random(), 2) * %(p)s)::int AS product_pos,
                                        1 + (random() < 0.2)::int AS quantity, random() < 0.2 AS discounted,
                                        o.pos + i AS dep) q
             JOIN g_product p ON p.pos = q.product_pos;
           ALTER TABLE g_item ADD COLUMN paid bigint, ADD COLUMN refunded bigint, ADD COLUMN refunded_qty int;
           UPDATE g_item SET paid = unit_price * quantity - discount, refunded = 0, refunded_qty = 0;
           -- full refunds take everything; partial ones the first of several items, or half of a single one
           UPDATE g_item i SET refunded = CASE WHEN o.refund = 'full' OR o.n_items > 1 THEN i.paid ELSE i.paid / 2 END,
                               refunded_qty = CASE WHEN o.refund = 'full' OR o.n_items > 1 THEN i.quantity ELSE 0 END
             FROM g_order o
            WHERE o.pos = i.order_pos AND (o.refund = 'full' OR (o.refund = 'partial' AND i.line = 1));
           CREATE INDEX ON g_item (order_pos);
           ANALYZE g_order; ANALYZE g_item;""",
        {"n": size.orders, "c": size.customers, "p": size.products},
    )
    c.execute(
        """CREATE TEMP TABLE g_order_id ON COMMIT DROP AS
           WITH totals AS (SELECT order_pos, sum(paid) AS goods, sum(refunded) AS refunded FROM g_item GROUP BY 1),
           ins AS (
               INSERT INTO orders_order (merchant_id, external_id, customer_external_id, share_code, kind, currency,
                      payment_transaction_id, status, goods_amount, shipping_amount, refunded_amount, distributor_id,
                      attribution, self_purchase, channel, province, city, fingerprint, paid_at, shipped_at,
                      completed_at, closed_at, created_at, updated_at)
               SELECT %(m)s, 'g' || o.pos, o.customer, '', 'normal', 'CNY', 'wx' || o.pos,
                      CASE WHEN o.refund = 'full' THEN 'closed'
                           WHEN o.paid_at <= now() - interval '10 days' THEN 'completed'
                           WHEN o.paid_at <= now() - interval '3 days' THEN 'shipped' ELSE 'paid' END,
                      t.goods, 0, t.refunded, o.distributor_id,
                      CASE WHEN o.distributor_id IS NULL THEN 'none' ELSE 'binding' END, false, o.channel,
                      coalesce(r.province, ''), coalesce(r.city, ''), '', o.paid_at,
                      CASE WHEN o.refund IS DISTINCT FROM 'full' AND o.paid_at <= now() - interval '3 days'
                           THEN o.paid_at + interval '1 day' END,
                      CASE WHEN o.refund IS DISTINCT FROM 'full' AND o.paid_at <= now() - interval '10 days'
                           THEN o.paid_at + interval '8 days' END,
                      CASE WHEN o.refund = 'full' THEN o.paid_at + interval '5 days' END,
                      o.paid_at, now()
                 FROM g_order o JOIN totals t ON t.order_pos = o.pos LEFT JOIN g_region r ON r.pos = o.region_pos
                ORDER BY o.paid_at
               RETURNING id, external_id, status, completed_at, closed_at)
           SELECT substr(external_id, 2)::bigint AS pos, id, status, completed_at, closed_at FROM ins;
           CREATE UNIQUE INDEX ON g_order_id (pos);
           ANALYZE g_order_id;""",
        {"m": m},
    )
    c.execute(
        """CREATE TEMP TABLE g_item_id ON COMMIT DROP AS
           WITH ins AS (
               INSERT INTO orders_orderitem (merchant_id, order_id, line_id, product_id, category_id, quantity,
                                             unit_price, discount, paid_amount, refunded_amount, refunded_quantity)
               SELECT %(m)s, oi.id, i.line::text, i.product_id, i.category_id, i.quantity, i.unit_price, i.discount,
                      i.paid,
                      i.refunded, i.refunded_qty
                 FROM g_item i JOIN g_order_id oi ON oi.pos = i.order_pos
                ORDER BY oi.id, i.line
               RETURNING id, order_id, paid_amount, refunded_amount, refunded_quantity)
           SELECT * FROM ins;
           ANALYZE g_item_id;
           WITH refunds AS (
               INSERT INTO orders_refund (merchant_id, order_id, refund_id, amount, refunded_at, created_at)
               SELECT %(m)s, o.id, 'r1', sum(i.refunded_amount), oo.paid_at + interval '5 days', now()
                 FROM g_item_id i JOIN orders_order o ON o.id = i.order_id
                 JOIN g_order_id oi ON oi.id = o.id JOIN g_order oo ON oo.pos = oi.pos
                WHERE i.refunded_amount > 0
                GROUP BY o.id, oo.paid_at
               RETURNING id, order_id)
           INSERT INTO orders_refunditem (merchant_id, refund_id, order_item_id, amount, quantity)
           SELECT %(m)s, r.id, i.id, i.refunded_amount, i.refunded_quantity
             FROM refunds r JOIN g_item_id i ON i.order_id = r.order_id AND i.refunded_amount > 0;""",
        {"m": m},
    )


def _visits(c, m: int) -> None:
    """Share visits by bound customers through their distributor's link: the one that made a binding of the
    last year (decision `bound`, at its bound_at) and, per binding, a random number of later ones that kept
    it (`already_bound`), spread uniformly over the binding's part of the last year; VISITS_PER_ORDER of
    them per attributed order in all."""
    c.execute(
        """WITH rate AS (
               SELECT %(per)s * (SELECT count(*) FROM orders_order
                                  WHERE merchant_id = %(m)s AND distributor_id IS NOT NULL)
                      / greatest(1, (SELECT count(*) FROM distributors_customerbinding WHERE merchant_id = %(m)s))
                      AS per_binding),
           b AS (
               SELECT id, customer_external_id, distributor_id, bound_at,
                      greatest(bound_at, now() - interval '365 days') AS since
                 FROM distributors_customerbinding WHERE merchant_id = %(m)s AND status = 'active')
           INSERT INTO distributors_sharevisit (merchant_id, visit_id, customer_external_id, distributor_id,
                                                visited_at, decision, binding_id, created_at)
           SELECT %(m)s, 'gv-' || b.id || '-' || v.k, b.customer_external_id, b.distributor_id, v.at,
                  CASE WHEN v.k = 0 THEN 'bound' ELSE 'already_bound' END, b.id, v.at
             FROM b CROSS JOIN rate
            CROSS JOIN LATERAL (
                SELECT 0 AS k, b.bound_at AS at WHERE b.bound_at >= now() - interval '365 days'
                UNION ALL
                SELECT k, b.since + random() * (now() - b.since)
                  FROM generate_series(1, floor(random() * 2 * greatest(rate.per_binding - 0.5, 0)
                                                + b.id * 0)::int) k) v""",
        {"m": m, "per": VISITS_PER_ORDER},
    )


def _commission(c, m: int) -> None:
    """Two depths per attributed item at the program's rates; refunds reverse them, a past run settled
    what had unlocked 30 days ago."""
    c.execute(
        """INSERT INTO settlements_settlementrun (merchant_id, as_of, status, trigger, provider, requested_by,
                  lines_total, amount_total, lines_done, amount_done, distributors_done, cursor, chunks_done,
                  lease_owner, heartbeat_at, attempts, last_error, started_at, finished_at, created_at)
           VALUES (%(m)s, now() - %(ago)s * interval '1 day', 'completed', 'schedule', 'wallet', 'bench history',
                   0, 0, 0, 0, 0, 0, 0, '', NULL, 1, '', now(), now(), now())
           RETURNING id""",
        {"m": m, "ago": HISTORY_RUN_DAYS_AGO},
    )
    run_id = c.fetchone()[0]
    c.execute(
        """CREATE TEMP TABLE g_run ON COMMIT DROP AS SELECT %(run)s::bigint AS id, as_of
             FROM settlements_settlementrun WHERE id = %(run)s""",
        {"run": run_id},
    )
    c.execute(
        """WITH raw AS (
               SELECT i.id AS item_id, i.order_id, i.paid_amount, i.refunded_amount, o.status AS order_status,
                      o.completed_at, o.paid_at, b.depth, b.beneficiary, b.bps,
                      round(i.paid_amount * b.bps / 10000.0)::bigint AS amount
                 FROM g_item_id i
                 JOIN orders_order o ON o.id = i.order_id
                 JOIN distributors_distributor d ON d.id = o.distributor_id
                CROSS JOIN LATERAL (VALUES (1, d.id, %(r1)s), (2, d.inviter_id, %(r2)s)) AS b(depth, beneficiary, bps)
                WHERE b.beneficiary IS NOT NULL),
           kept AS (
               SELECT raw.*, CASE WHEN refunded_amount >= paid_amount THEN 0
                                  ELSE round(amount * (paid_amount - refunded_amount)::numeric / paid_amount)::bigint
                             END AS keep,
                      completed_at + %(days)s * interval '1 day' AS unlock_at
                 FROM raw)
           INSERT INTO commissions_commissionline (merchant_id, order_id, order_item_id, beneficiary_id, depth, kind,
                  status, currency, base_amount, rate_source, rate_mode, rate_value, uncapped_amount, amount,
                  reversed_amount, unlock_at, confirmed_at, settled_at, reversed_at, settlement_run_id,
                  created_at, updated_at)
           SELECT %(m)s, k.order_id, k.item_id, k.beneficiary, k.depth, 'commission',
                  CASE WHEN k.keep = 0 THEN 'reversed'
                       WHEN k.completed_at IS NULL THEN 'pending'
                       WHEN k.unlock_at <= r.as_of THEN 'settled' ELSE 'confirmed' END,
                  'CNY', k.paid_amount, 'program_default', 'percent', k.bps, k.amount, k.amount, k.amount - k.keep,
                  k.unlock_at, k.completed_at,
                  CASE WHEN k.keep > 0 AND k.unlock_at <= r.as_of THEN r.as_of END,
                  CASE WHEN k.keep = 0 THEN k.paid_at + interval '5 days' END,
                  CASE WHEN k.keep > 0 AND k.unlock_at <= r.as_of THEN r.id END,
                  k.paid_at, now()
             FROM kept k CROSS JOIN g_run r
            WHERE k.amount > 0
            ORDER BY k.item_id, k.depth""",
        {"m": m, "r1": RATES[1], "r2": RATES[2], "days": AFTER_SALES_DAYS},
    )
    c.execute(
        """UPDATE settlements_settlementrun s
              SET lines_total = x.n, lines_done = x.n, amount_total = x.total, amount_done = x.total,
                  distributors_done = x.beneficiaries, cursor = x.last + 1, chunks_done = 1
             FROM (SELECT count(*) AS n, coalesce(sum(amount - reversed_amount), 0) AS total,
                          count(DISTINCT beneficiary_id) AS beneficiaries, coalesce(max(beneficiary_id), 0) AS last
                     FROM commissions_commissionline WHERE merchant_id = %(m)s AND settlement_run_id = %(run)s) x
            WHERE s.id = %(run)s""",
        {"m": m, "run": run_id},
    )


def _ledger(c, m: int) -> None:
    """Accrual per line, reversal per refunded line, a settlement per distributor of the past run; then the
    balance projections from the postings."""
    c.execute(
        """INSERT INTO settlements_account (merchant_id, owner_kind, owner_id, kind, currency, balance, updated_at)
           SELECT %(m)s, 'distributor', b.id, k.kind, 'CNY', 0, now()
             FROM (SELECT DISTINCT beneficiary_id AS id FROM commissions_commissionline WHERE merchant_id = %(m)s) b
            CROSS JOIN (VALUES ('pending')) k(kind)
           UNION ALL
           SELECT %(m)s, 'distributor', b.id, k.kind, 'CNY', 0, now()
             FROM (SELECT DISTINCT beneficiary_id AS id FROM commissions_commissionline
                    WHERE merchant_id = %(m)s AND status = 'settled') b
            CROSS JOIN (VALUES ('available'), ('receivable')) k(kind)
           UNION ALL SELECT %(m)s, 'merchant', %(m)s, 'commission_expense', 'CNY', 0, now()
           ON CONFLICT DO NOTHING;
           CREATE TEMP TABLE g_account ON COMMIT DROP AS
           SELECT owner_id AS distributor_id, kind, id FROM settlements_account
            WHERE merchant_id = %(m)s AND owner_kind = 'distributor';
           CREATE UNIQUE INDEX ON g_account (distributor_id, kind);
           ANALYZE g_account;""",
        {"m": m},
    )
    c.execute(
        "SELECT id FROM settlements_account WHERE merchant_id = %s AND owner_kind = 'merchant' AND kind = %s",
        [m, "commission_expense"],
    )
    expense = c.fetchone()[0]
    # (reference, kind, debit account, credit account, amount, created_at) for every transaction
    c.execute(
        """CREATE TEMP TABLE g_txn ON COMMIT DROP AS
           SELECT 'line:' || l.id || ':accrue' AS reference, 'accrue' AS kind, %(e)s::bigint AS debit,
                  p.id AS credit, l.amount, l.created_at
             FROM commissions_commissionline l JOIN g_account p ON p.distributor_id = l.beneficiary_id
                                                             AND p.kind = 'pending'
            WHERE l.merchant_id = %(m)s
           UNION ALL
           SELECT 'line:' || l.id || ':reverse:' || l.reversed_amount, 'reverse', p.id, %(e)s, l.reversed_amount,
                  l.created_at + interval '5 days'
             FROM commissions_commissionline l JOIN g_account p ON p.distributor_id = l.beneficiary_id
                                                             AND p.kind = 'pending'
            WHERE l.merchant_id = %(m)s AND l.reversed_amount > 0
           UNION ALL
           SELECT 'run:' || s.settlement_run_id || ':d:' || s.beneficiary_id, 'settle', p.id, a.id, s.total, s.at
             FROM (SELECT settlement_run_id, beneficiary_id, sum(amount - reversed_amount) AS total,
                          min(settled_at) AS at
                     FROM commissions_commissionline WHERE merchant_id = %(m)s AND status = 'settled'
                    GROUP BY 1, 2) s
             JOIN g_account p ON p.distributor_id = s.beneficiary_id AND p.kind = 'pending'
             JOIN g_account a ON a.distributor_id = s.beneficiary_id AND a.kind = 'available'""",
        {"m": m, "e": expense},
    )
    c.execute(
        """CREATE TEMP TABLE g_txn_id ON COMMIT DROP AS
           WITH ins AS (
               INSERT INTO settlements_ledgertransaction (merchant_id, reference, kind, memo, created_at)
               SELECT %(m)s, reference, kind, '', created_at FROM g_txn ORDER BY created_at
               RETURNING id, reference)
           SELECT * FROM ins;
           CREATE UNIQUE INDEX ON g_txn_id (reference);
           ANALYZE g_txn_id;
           INSERT INTO settlements_posting (merchant_id, transaction_id, account_id, amount, currency, created_at)
           SELECT %(m)s, i.id, leg.account_id, leg.amount, 'CNY', t.created_at
             FROM g_txn t JOIN g_txn_id i ON i.reference = t.reference
            CROSS JOIN LATERAL (VALUES (t.debit, t.amount), (t.credit, -t.amount)) AS leg(account_id, amount)
            ORDER BY i.id;
           UPDATE settlements_account a
              SET balance = s.total * CASE WHEN a.kind IN ('receivable', 'commission_expense') THEN 1 ELSE -1 END
             FROM (SELECT account_id, sum(amount) AS total FROM settlements_posting
                    WHERE merchant_id = %(m)s GROUP BY 1) s
            WHERE a.id = s.account_id AND a.owner_kind = 'distributor';""",
        {"m": m},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    args = parser.parse_args()
    setup_django()
    start = time.perf_counter()
    merchant = generate(args.scale, verbose=True)
    print(f"merchant {merchant.slug} (id {merchant.pk}) ready in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
