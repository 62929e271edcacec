"""The merchant's catalogue: products and their categories as the shop knows them."""

from __future__ import annotations

from django.db import models

from distribution import rates
from distribution.tenancy import TenantModel


class Category(TenantModel):
    """A product category (商品分类) as the shop knows it, synced by external id: a tree (a category may
    have a parent) or a flat list (none has). Best-selling categories (畅销品类) are counted by the
    category an order item's product was in when it was sold."""

    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", db_index=False
    )
    sort_order = models.IntegerField(default=0)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when the shop deleted the category: kept, because sold items name it; a sync revives it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "external_id"], name="category_unique_external_id"),
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="category_not_own_parent"),
        ]
        indexes = [models.Index(fields=["merchant", "parent"], name="category_parent")]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class Product(TenantModel):
    """A product as the merchant's shop knows it, synced by external id.

    A commission override, when set for a depth, replaces the level and program rates at that depth, each
    depth with its own mode: basis points of the paid amount (`percent`) or minor units per unit bought
    (`fixed`); see distribution.rates.
    """

    class Kind(models.TextChoices):
        PHYSICAL = "physical"
        VIRTUAL = "virtual"
        SERVICE = "service"

    external_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    price = models.BigIntegerField(help_text="Minor units.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PHYSICAL)
    distribution_enabled = models.BooleanField(default=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="products", db_index=False
    )
    # per depth: null = no override, not an empty string
    commission_depth1_mode = models.CharField(max_length=8, choices=rates.MODE_CHOICES, null=True, blank=True)  # noqa: DJ001
    commission_depth1 = models.BigIntegerField(null=True, blank=True)
    commission_depth2_mode = models.CharField(max_length=8, choices=rates.MODE_CHOICES, null=True, blank=True)  # noqa: DJ001
    commission_depth2 = models.BigIntegerField(null=True, blank=True)
    commission_depth3_mode = models.CharField(max_length=8, choices=rates.MODE_CHOICES, null=True, blank=True)  # noqa: DJ001
    commission_depth3 = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # moved from `orders` without touching the database: the table keeps its name
        db_table = "orders_product"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "external_id"], name="product_unique_external_id"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_non_negative"),
        ]
        indexes = [models.Index(fields=["merchant", "category"], name="product_category")]

    def __str__(self) -> str:
        return f"{self.title} ({self.external_id})"

    RATE_COLUMNS = {"mode": "commission_depth{}_mode", "value": "commission_depth{}"}

    @property
    def commission_rates(self) -> list[dict]:
        return rates.from_columns(self, **self.RATE_COLUMNS)

    def commission_override(self, depth: int) -> tuple[str, int] | None:
        return rates.by_depth(self.commission_rates).get(depth)
