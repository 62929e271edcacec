"""Rollups and snapshots behind the merchant's figures (the read side; nothing below imports it).

Every daily rollup is keyed by the day the order was paid in the merchant's time zone (a cohort view):
a refund, a completion or a settlement months later changes the figures of the day the order was paid,
not the day it happened. The rows are derived data: `analytics.refresh` recomputes the days that events
touched from the base tables, and `manage.py check_rollups` proves they still agree.
"""

from __future__ import annotations

from django.db import models

from distribution.tenancy import TenantModel
from orders.models import Order


class Figures(TenantModel):
    """What every daily rollup counts, all amounts in minor units.

    - orders / gmv: orders paid that day and their goods amount (items after discounts, no shipping);
    - refunded: what has been refunded on those orders so far (whenever it was refunded);
    - commission_accrued: commission those orders earned at payment (before any refund);
    - commission_pending / confirmed / settled: what of it is now in each state, net of refunds;
    - commission_reversed: what refunds took back before settlement;
    - commission_clawed_back: what refunds after settlement took back (positive).
    accrued = pending + confirmed + settled + reversed, always.
    """

    day = models.DateField()
    orders = models.IntegerField(default=0)
    gmv = models.BigIntegerField(default=0)
    refunded = models.BigIntegerField(default=0)
    commission_accrued = models.BigIntegerField(default=0)
    commission_pending = models.BigIntegerField(default=0)
    commission_confirmed = models.BigIntegerField(default=0)
    commission_settled = models.BigIntegerField(default=0)
    commission_reversed = models.BigIntegerField(default=0)
    commission_clawed_back = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DistributedFigures(Figures):
    """Figures of all orders plus the part that came through distribution (attributed to a distributor)."""

    distributed_orders = models.IntegerField(default=0)
    distributed_gmv = models.BigIntegerField(default=0)
    distributed_refunded = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyMerchant(DistributedFigures):
    """One row per merchant and pay day. `buyers` are distinct customers that day (not additive over
    days: ranges count them from the orders); `completed_orders` are that day's orders completed so far;
    `visits` are share visits made that day."""

    buyers = models.IntegerField(default=0)
    distributed_buyers = models.IntegerField(default=0)
    completed_orders = models.IntegerField(default=0)
    distributed_completed_orders = models.IntegerField(default=0)
    visits = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "day"], name="dailymerchant_unique")]


class DailyDistributor(Figures):
    """One row per distributor and pay day on which it sold, earned or was visited. Sales figures
    (orders, gmv, refunded, buyers, completed_orders) are the orders attributed to it; commission figures
    are what it earned as a beneficiary at any depth."""

    distributor = models.ForeignKey(
        "distributors.Distributor", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    buyers = models.IntegerField(default=0)
    completed_orders = models.IntegerField(default=0)
    visits = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "day", "distributor"], name="dailydistributor_unique")
        ]
        indexes = [models.Index(fields=["merchant", "distributor", "day"], name="dailydist_by_distributor")]


class DailyProduct(DistributedFigures):
    """One row per product and pay day: orders containing it, units, and its items' amounts."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+", db_index=False)
    quantity = models.IntegerField(default=0)
    refunded_quantity = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "day", "product"], name="dailyproduct_unique")]


class DailyCategory(DistributedFigures):
    """One row per category (empty: uncategorised) and pay day, by the category an item's product was in
    when it was sold."""

    category = models.ForeignKey(
        "catalog.Category", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    quantity = models.IntegerField(default=0)
    refunded_quantity = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "day", "category"], name="dailycategory_unique", nulls_distinct=False
            )
        ]
        verbose_name_plural = "daily categories"


class DailyChannel(DistributedFigures):
    """One row per channel (how the buyer came) and pay day."""

    channel = models.CharField(max_length=20, choices=Order.Channel.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "day", "channel"], name="dailychannel_unique")]


class Buyer(TenantModel):
    """Buyer facts (用户画像) per customer, recomputed from the orders of customers that events touched.
    `orders` and `paid_amount` count every paid order; the region is the latest one an order carried."""

    customer_external_id = models.CharField(max_length=64)
    first_paid_at = models.DateTimeField()
    last_paid_at = models.DateTimeField()
    orders = models.IntegerField()
    paid_amount = models.BigIntegerField()
    refunded_amount = models.BigIntegerField()
    province = models.CharField(max_length=32, blank=True)
    city = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "customer_external_id"], name="buyer_unique")]
        indexes = [models.Index(fields=["merchant", "first_paid_at"], name="buyer_first_paid")]


class RepurchaseSnapshot(TenantModel):
    """Repurchase (复购) over the standard windows ending on `as_of` (the merchant's today), refreshed every
    few minutes: counting buyers with two or more orders over a year of orders is too slow to do per
    request at scale. `buyers` paid at least once in the window, `repeat_buyers` at least twice."""

    window_days = models.PositiveSmallIntegerField()
    as_of = models.DateField()
    buyers = models.IntegerField()
    repeat_buyers = models.IntegerField()
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "window_days"], name="repurchase_unique_window")]


class RefreshPass(models.Model):
    """One pass of `analytics.refresh` (platform-wide): the highest event, ledger and visit ids it saw.

    A pass scans the ids in (from, to]. The next pass rescans from the `to` of the newest pass that started
    at least LOOKBACK ago, so that a transaction that committed late (with a lower id than one already seen)
    is still picked up; while every pass is younger than that, from the lowest `from` of them all."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    order_event_from = models.BigIntegerField(default=0)
    ledger_transaction_from = models.BigIntegerField(default=0)
    visit_from = models.BigIntegerField(default=0)
    order_event_to = models.BigIntegerField()
    ledger_transaction_to = models.BigIntegerField()
    visit_to = models.BigIntegerField()
    days = models.IntegerField(default=0, help_text="Merchant-days recomputed.")
    buyers = models.IntegerField(default=0, help_text="Buyers recomputed.")

    class Meta:
        indexes = [models.Index(fields=["started_at"], name="refreshpass_started")]

    def __str__(self) -> str:
        return f"refresh pass {self.pk} at {self.started_at:%Y-%m-%d %H:%M:%S}"
