from __future__ import annotations

from django.db import models

from distribution.tenancy import TenantModel


class Product(TenantModel):
    """A product as the merchant's shop knows it, synced by external id.

    A commission override, when set, replaces the level and program rates for the depths it names:
    in basis points (`percent`) or in minor units per item (`fixed`).
    """

    class Kind(models.TextChoices):
        PHYSICAL = "physical"
        VIRTUAL = "virtual"
        SERVICE = "service"

    class CommissionMode(models.TextChoices):
        PERCENT = "percent"
        FIXED = "fixed"

    external_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    price = models.BigIntegerField(help_text="Minor units.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PHYSICAL)
    distribution_enabled = models.BooleanField(default=True)
    # null = no override (the API says null too), not an empty string
    commission_mode = models.CharField(max_length=8, choices=CommissionMode.choices, null=True, blank=True)  # noqa: DJ001
    commission_depth1 = models.BigIntegerField(null=True, blank=True)
    commission_depth2 = models.BigIntegerField(null=True, blank=True)
    commission_depth3 = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "external_id"], name="product_unique_external_id"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.external_id})"

    def commission_override(self, depth: int) -> tuple[str, int] | None:
        value = {1: self.commission_depth1, 2: self.commission_depth2, 3: self.commission_depth3}[depth]
        if self.commission_mode is None or value is None:
            return None
        return self.commission_mode, value
