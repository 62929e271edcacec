"""The tenancy kernel: every tenant-owned row belongs to one merchant, and every read says which.

`Model.objects.for_merchant(m)` is the normal way in. A deliberate cross-tenant read (a platform job,
the admin) is spelled `Model.objects.unscoped()` so that it can be found with grep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from merchants.models import Merchant


class TenantQuerySet(models.QuerySet):
    def for_merchant(self, merchant: Merchant | int) -> TenantQuerySet:
        merchant_id = merchant if isinstance(merchant, int) else merchant.pk
        if merchant_id is None:
            raise ValueError("for_merchant() needs a saved merchant")
        return self.filter(merchant_id=merchant_id)

    def unscoped(self) -> TenantQuerySet:
        """All merchants' rows, on purpose (platform jobs, operators)."""
        return self.all()


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    pass


class TenantModel(models.Model):
    """Base for every row owned by a merchant.

    The merchant key is not indexed alone: each concrete model declares its own indexes and unique
    constraints, and a system check (distribution.checks) refuses a tenant model whose indexes do not
    lead with `merchant` (so the table could later be distributed or protected by row-level security).
    """

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False, editable=False
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def assert_merchant(self, merchant: Any) -> None:
        if self.merchant_id != getattr(merchant, "pk", merchant):
            raise ValueError(f"{self!r} belongs to another merchant")
