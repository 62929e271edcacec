"""The tenancy kernel: every tenant-owned row belongs to one merchant, and every read says which.

`Model.objects.for_merchant(m)` is the normal way in. A deliberate cross-tenant read (a platform job,
the admin) is spelled `Model.objects.unscoped()` so that it can be found with grep.
"""

from __future__ import annotations

from typing import Any, Protocol, Self, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class Tenant(Protocol):
    """What the kernel reads of a merchant: an instance of settings.TENANT_MODEL, a model of an app above the
    kernel (so the kernel names no class of it)."""

    @property
    def pk(self) -> Any: ...

    @property
    def currency(self) -> str: ...


class TenantQuerySet(models.QuerySet[_M]):
    def for_merchant(self, merchant: Tenant | int) -> Self:
        merchant_id = merchant if isinstance(merchant, int) else merchant.pk
        if merchant_id is None:
            raise ValueError("for_merchant() needs a saved merchant")
        return self.filter(merchant_id=merchant_id)

    def unscoped(self) -> Self:
        """All merchants' rows, on purpose (platform jobs, operators)."""
        return self.all()


_TenantManagerBase = models.Manager.from_queryset(TenantQuerySet)  # named, so that mypy's django plugin reads it


class TenantManager(_TenantManagerBase[_M]):
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
