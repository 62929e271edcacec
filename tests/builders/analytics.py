"""A shop with a known March 2026 (Asia/Shanghai), built through the real services, then rolled up.

The tree: boss (李四) → seller (张三丰) → recruit (王五). Program rates 10% / 5%. Products: tea (100.00, in
the category Drinks) and cup (50.00, uncategorised). The range under test is 1–2 March 2026 (Shanghai);
the period before it is 27–28 February.

order  pay time (UTC)        Shanghai day   sold by  customer  goods   region   later
G      2026-02-27T04:00:00Z  27 Feb         -        c5         50.00  -
E      2026-02-28T04:00:00Z  28 Feb         seller   c4        100.00  -
F      2026-03-01T01:00:00Z  1 Mar          -        c5         50.00  广东深圳
A      2026-03-01T15:59:59Z  1 Mar 23:59    seller   c1        100.00  广东深圳  completed 3 Mar, settled
B      2026-03-01T16:00:00Z  2 Mar 00:00    seller   c2        200.00  广东深圳  50.00 refunded on 20 Mar
C      2026-03-02T02:00:00Z  2 Mar          -        c3        500.00  广东广州
D      2026-03-02T03:00:00Z  2 Mar          recruit  c1         50.00  广东广州  completed 5 Mar, settled,
                                                                                 10.00 refunded on 10 Apr
H      today 00:00 Shanghai  today          seller   c6        100.00  -

Commission (10% to the seller of an order, 5% to their inviter): A 10.00 + 5.00; B 20.00 + 10.00, of which
the refund reversed 5.00 + 2.50 (pending, so reversed); D 5.00 (recruit) + 2.50 (seller), settled, then the
refund clawed back 1.00 + 0.50; E 10.00 + 5.00; H 10.00 + 5.00.

Four share visits of the seller's link on 1 and 2 March (customers v1–v4; none of them orders). Levels:
bronze (rank 1) for everyone, the seller moved to silver (rank 2) afterwards. Activation and application
times are set to: boss 28 Feb, seller 2 Mar 00:30 Shanghai, recruit today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone

from analytics.refresh import rebuild_merchant
from catalog.models import Category
from distributors.models import Application, Distributor, Level
from distributors.services import bindings, levels, lifecycle
from orders.services import intake
from tests.builders.distributors import ACTOR, join
from tests.builders.factories import ProductFactory
from tests.builders.settlements import settle

RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-02"}
DAY_1, DAY_2 = date(2026, 3, 1), date(2026, 3, 2)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class March:
    merchant: Any
    boss: Distributor
    seller: Distributor
    recruit: Distributor
    bronze: Level
    silver: Level
    drinks: Category


def _order(merchant, external_id, customer, paid_at, items, *, share_code="", **extra):
    data = {
        "external_id": external_id,
        "customer_external_id": customer,
        "paid_at": paid_at,
        "items": items,
        **extra,
    }
    if share_code:
        data["share_code"] = share_code
    return intake.order_ingest_paid(merchant=merchant, data=data, source="api").order


def _event(merchant, external_id, type_, **data):
    intake.order_apply_event(merchant=merchant, external_id=external_id, type_=type_, source="api", data=data)


def tea(quantity=1):
    return [{"line_id": "L1", "product": "tea", "quantity": quantity, "unit_price": 10000, "discount": 0}]


def cup(quantity=1):
    return [{"line_id": "L1", "product": "cup", "quantity": quantity, "unit_price": 5000, "discount": 0}]


def build_march(merchant) -> March:
    """The shop above, then every rollup, buyer fact and the repurchase snapshot rebuilt. (Tasks queued after
    commit do not run: a tier run would move the levels this shop sets by hand.)"""
    march = _build(merchant)

    rebuild_merchant(merchant.pk)
    return march


def _build(merchant) -> March:
    drinks = Category.objects.create(merchant=merchant, external_id="drinks", name="Drinks")
    ProductFactory(merchant=merchant, external_id="tea", title="Tea", price=10000, category=drinks)
    ProductFactory(merchant=merchant, external_id="cup", title="Cup", price=5000)
    boss = join(merchant, "boss", display_name="李四")
    seller = join(merchant, "seller", boss, display_name="张三丰")
    recruit = join(merchant, "recruit", seller, display_name="王五")
    times = {boss: utc("2026-02-28T02:00:00"), seller: utc("2026-03-01T16:30:00")}
    for person, at in times.items():
        Distributor.objects.for_merchant(merchant).filter(pk=person.pk).update(activated_at=at)
        Application.objects.for_merchant(merchant).filter(distributor=person).update(created_at=at)

    bronze = levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "bronze", "rank": 1})
    silver = levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "silver", "rank": 2})
    for person in (boss, seller, recruit):
        lifecycle.distributor_set_level(
            merchant=merchant, actor=ACTOR, distributor_id=person.pk, level_id=bronze.pk, lock=True, reason="start"
        )

    for n, at in enumerate(
        ("2026-03-01T02:00:00", "2026-03-01T03:00:00", "2026-03-02T02:00:00", "2026-03-02T03:00:00")
    ):
        bindings.binding_record_visit(
            merchant=merchant,
            customer_external_id=f"v{n + 1}",
            share_code=seller.invite_code,
            visited_at=utc(at),
            visit_id=f"visit-{n + 1}",
        )

    _order(merchant, "G", "c5", utc("2026-02-27T04:00:00"), cup())
    _order(merchant, "E", "c4", utc("2026-02-28T04:00:00"), tea(), share_code=seller.invite_code)
    _order(merchant, "F", "c5", utc("2026-03-01T01:00:00"), cup(), province="广东", city="深圳")
    _order(
        merchant,
        "A",
        "c1",
        utc("2026-03-01T15:59:59"),
        tea(),
        share_code=seller.invite_code,
        province="广东",
        city="深圳",
    )
    _order(
        merchant,
        "B",
        "c2",
        utc("2026-03-01T16:00:00"),
        tea(2),
        share_code=seller.invite_code,
        province="广东",
        city="深圳",
    )
    _order(merchant, "C", "c3", utc("2026-03-02T02:00:00"), cup(10), province="广东", city="广州")
    _order(
        merchant,
        "D",
        "c1",
        utc("2026-03-02T03:00:00"),
        cup(),
        share_code=recruit.invite_code,
        province="广东",
        city="广州",
    )
    today_start = timezone.now().astimezone(merchant.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    _order(merchant, "H", "c6", today_start, tea(), share_code=seller.invite_code)

    _event(merchant, "A", "completed", occurred_at=utc("2026-03-03T02:00:00"))
    _event(merchant, "D", "completed", occurred_at=utc("2026-03-05T02:00:00"))
    _event(merchant, "B", "refunded", refund_id="rb", amount=5000, occurred_at=utc("2026-03-20T02:00:00"))
    settle(merchant, as_of=utc("2026-04-01T00:00:00"))
    _event(merchant, "D", "refunded", refund_id="rd", amount=1000, occurred_at=utc("2026-04-10T02:00:00"))

    lifecycle.distributor_set_level(
        merchant=merchant, actor=ACTOR, distributor_id=seller.pk, level_id=silver.pk, lock=True, reason="promoted"
    )
    fresh = Distributor.objects.for_merchant(merchant)
    return March(
        merchant=merchant,
        boss=fresh.get(pk=boss.pk),
        seller=fresh.get(pk=seller.pk),
        recruit=fresh.get(pk=recruit.pk),
        bronze=bronze,
        silver=silver,
        drinks=drinks,
    )


def pay_days(merchant) -> dict[str, tuple[str, date]]:
    """Each order's customer and pay day in the merchant's time zone (H: today)."""
    today = timezone.now().astimezone(merchant.tz).date()
    days = {"G": date(2026, 2, 27), "E": date(2026, 2, 28), "F": DAY_1, "A": DAY_1, "B": DAY_2, "C": DAY_2, "D": DAY_2}
    customers = {"G": "c5", "E": "c4", "F": "c5", "A": "c1", "B": "c2", "C": "c3", "D": "c1", "H": "c6"}
    return {name: (customers[name], days.get(name, today)) for name in customers}
