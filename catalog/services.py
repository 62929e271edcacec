"""Writes for products: the shop's catalogue sync."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from catalog.errors import TooManyProducts
from catalog.models import Product
from distribution import rates
from distribution.audit import audit_record, diff, snapshot
from distribution.auth import Actor
from merchants.models import Merchant

PRODUCT_FIELDS = [
    "title",
    "price",
    "kind",
    "distribution_enabled",
    *(f"commission_depth{d}{part}" for d in rates.DEPTHS for part in ("_mode", "")),
]
MAX_PRODUCTS_PER_REQUEST = 500


@transaction.atomic
def product_upsert_many(*, merchant: Merchant, actor: Actor, items: list[dict[str, Any]]) -> list[tuple[Product, bool]]:
    """Create or update products by external id; returns (product, created) in input order.

    Rows are locked in external-id order so that two concurrent syncs cannot deadlock; an unchanged
    product is not written at all.
    """
    if len(items) > MAX_PRODUCTS_PER_REQUEST:
        raise TooManyProducts()
    # the last one of a duplicated id wins; `commission_rates` (a list by depth) is two columns per depth
    by_id = {item["external_id"]: rates.with_columns(item, **Product.RATE_COLUMNS) for item in items}
    existing = {
        p.external_id: p
        for p in Product.objects.for_merchant(merchant)
        .filter(external_id__in=sorted(by_id))
        .order_by("external_id")
        .select_for_update()
    }
    results: dict[str, tuple[Product, bool]] = {}
    for external_id in sorted(by_id):
        data = by_id[external_id]
        product = existing.get(external_id)
        if product is None:
            try:
                with transaction.atomic():
                    product = Product.objects.create(
                        merchant=merchant,
                        external_id=external_id,
                        **{k: data[k] for k in PRODUCT_FIELDS if k in data},
                    )
                results[external_id] = (product, True)
                continue
            except IntegrityError:  # a concurrent sync created it first: update that row instead
                product = Product.objects.for_merchant(merchant).select_for_update().get(external_id=external_id)
        before = snapshot(product, PRODUCT_FIELDS)
        for field in PRODUCT_FIELDS:
            if field in data:
                setattr(product, field, data[field])
        changed = diff(before, snapshot(product, PRODUCT_FIELDS))
        if changed:
            product.save(update_fields=[*changed, "updated_at"])
            if any(k.startswith("commission_depth") for k in changed):
                audit_record(
                    merchant=merchant,
                    actor=actor,
                    action="product.commission_changed",
                    obj=product,
                    changes={k: v for k, v in changed.items() if k.startswith("commission")},
                )
        results[external_id] = (product, False)
    return [results[item["external_id"]] for item in items]
