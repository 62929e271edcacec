"""Writes for the catalogue: the shop's sync of its categories and products."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.errors import CategoryCycle, CategoryInUse, TooManyCategories, TooManyProducts, UnknownCategory
from catalog.models import Category, Product
from distribution import rates
from distribution.audit import audit_record, diff, snapshot
from distribution.auth import Actor
from distribution.db import advisory_lock
from distribution.errors import NotFound
from merchants.models import Merchant

PRODUCT_FIELDS = [
    "title",
    "price",
    "kind",
    "distribution_enabled",
    *(f"commission_depth{d}{part}" for d in rates.DEPTHS for part in ("_mode", "")),
]
MAX_PRODUCTS_PER_REQUEST = 500
CATEGORY_FIELDS = ["name", "sort_order"]
MAX_CATEGORIES_PER_REQUEST = 500


def lock_categories(merchant: Merchant, *, shared: bool) -> None:
    """Whoever changes the category tree (a sync, a delete) takes it exclusive; a product sync that puts
    products into categories takes it shared, so no category is deleted under it and no sync can build a
    cycle from a tree another sync is changing."""
    advisory_lock("category-tree", merchant.pk, shared=shared)


def _external_id(category: Category | None) -> str | None:
    return None if category is None else category.external_id


# --- categories ----------------------------------------------------------------------------------------
@transaction.atomic
def category_upsert_many(
    *, merchant: Merchant, actor: Actor, items: list[dict[str, Any]]
) -> list[tuple[Category, bool]]:
    """Create or update categories by external id; returns (category, created) in input order.

    `parent` is the parent's external id (a category of the same request or one synced before; None for a
    top-level category). The whole request is checked before anything is written: a parent that is not
    known is refused (422 `unknown_category`), and so are parents that would make a loop (422
    `category_cycle`). A deleted (archived) category that is sent again is live again; an unchanged one is
    not written.
    """
    if len(items) > MAX_CATEGORIES_PER_REQUEST:
        raise TooManyCategories()
    lock_categories(merchant, shared=False)
    by_id = {item["external_id"]: item for item in items}  # the last one of a duplicated id wins
    # the whole tree: a merchant has tens or hundreds of categories, and a cycle can pass through any of them
    existing = {c.external_id: c for c in Category.objects.for_merchant(merchant)}
    by_pk = {c.pk: c for c in existing.values()}
    for row in existing.values():  # the parents from this read, not one read each
        if row.parent_id is not None:
            row.parent = by_pk[row.parent_id]
    parent_of = {external_id: _external_id(c.parent) for external_id, c in existing.items()}
    live = {external_id for external_id, c in existing.items() if c.archived_at is None}
    missing = sorted(
        {item["parent"] for item in by_id.values() if item.get("parent") and item["parent"] not in by_id} - live
    )
    if missing:
        raise UnknownCategory(
            fields={"parent": [f"Unknown category: {m}" for m in missing]}, extra={"categories": missing}
        )
    parent_of.update({external_id: item.get("parent") or None for external_id, item in by_id.items()})
    depth = _depths(parent_of, sorted(by_id))
    results: dict[str, tuple[Category, bool]] = {}
    for external_id in sorted(by_id, key=lambda e: (depth[e], e)):  # parents before their children
        data = by_id[external_id]
        parent = existing[data["parent"]] if data.get("parent") else None
        category = existing.get(external_id)
        if category is None:
            category = Category.objects.create(
                merchant=merchant,
                external_id=external_id,
                parent=parent,
                **{k: data[k] for k in CATEGORY_FIELDS if k in data},
            )
            existing[external_id] = category
            results[external_id] = (category, True)
            continue
        before = {**snapshot(category, CATEGORY_FIELDS), "parent": _external_id(category.parent)}
        was_archived = category.archived_at is not None
        for field in CATEGORY_FIELDS:
            if field in data:
                setattr(category, field, data[field])
        category.parent = parent
        category.archived_at = None
        changed = diff(before, {**snapshot(category, CATEGORY_FIELDS), "parent": _external_id(parent)})
        if changed or was_archived:
            category.save(update_fields=[*changed, "archived_at", "updated_at"])
        if "parent" in changed:
            audit_record(
                merchant=merchant,
                actor=actor,
                action="category.moved",
                obj=category,
                changes={"parent": changed["parent"]},
            )
        if was_archived:
            audit_record(merchant=merchant, actor=actor, action="category.restored", obj=category)
        results[external_id] = (category, False)
    return [results[item["external_id"]] for item in items]


def _depths(parent_of: dict[str, str | None], starts: list[str]) -> dict[str, int]:
    """How deep each of `starts` is in the tree `parent_of` describes (0 for a top-level category); a loop
    is refused with the categories that make it."""
    depth: dict[str, int] = {}
    for start in starts:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in depth:
            if node in path:
                loop = [*path[path.index(node) :], node]
                raise CategoryCycle(
                    fields={"parent": ["Each category's parent, in a loop: " + " → ".join(loop)]}, extra={"cycle": loop}
                )
            path.append(node)
            node = parent_of.get(node)
        above = -1 if node is None else depth[node]
        for offset, external_id in enumerate(reversed(path), start=1):
            depth[external_id] = above + offset
    return depth


@transaction.atomic
def category_archive(*, merchant: Merchant, actor: Actor, external_id: str) -> Category:
    """Delete a category as the shop sees it: it is archived, not removed, because the order items sold in
    it keep naming it (the analytics count sales by the category they were sold in). Refused (409
    `category_in_use`) while a product or a live subcategory is in it; deleting it again changes nothing."""
    lock_categories(merchant, shared=False)
    category = Category.objects.for_merchant(merchant).filter(external_id=external_id).first()
    if category is None:
        raise NotFound("Category not found.")
    if category.archived_at is not None:
        return category
    products = Product.objects.for_merchant(merchant).filter(category=category).count()
    children = Category.objects.for_merchant(merchant).filter(parent=category, archived_at__isnull=True).count()
    if products or children:
        raise CategoryInUse(
            f"{products} products and {children} subcategories are in this category: move them first.",
            extra={"products": products, "subcategories": children},
        )
    category.archived_at = timezone.now()
    category.save(update_fields=["archived_at", "updated_at"])
    audit_record(merchant=merchant, actor=actor, action="category.archived", obj=category)
    return category


# --- products ------------------------------------------------------------------------------------------
def _categories_named(merchant: Merchant, items: list[dict[str, Any]]) -> dict[str, Category]:
    """The live categories the products name, the tree locked shared; an unknown one is refused."""
    wanted = {item["category"] for item in items if item.get("category")}
    if not wanted:
        return {}
    lock_categories(merchant, shared=True)
    found = {
        c.external_id: c
        for c in Category.objects.for_merchant(merchant).filter(external_id__in=wanted, archived_at__isnull=True)
    }
    missing = sorted(wanted - set(found))
    if missing:
        raise UnknownCategory(
            fields={"category": [f"Unknown category: {m}" for m in missing]}, extra={"categories": missing}
        )
    return found


@transaction.atomic
def product_upsert_many(*, merchant: Merchant, actor: Actor, items: list[dict[str, Any]]) -> list[tuple[Product, bool]]:
    """Create or update products by external id; returns (product, created) in input order.

    `category` is a category's external id (None: no category; left out: the product keeps its category);
    an unknown or deleted category is refused (422 `unknown_category`) before anything is written. Rows
    are locked in external-id order so that two concurrent syncs cannot deadlock; an unchanged product is
    not written at all.
    """
    if len(items) > MAX_PRODUCTS_PER_REQUEST:
        raise TooManyProducts()
    categories = _categories_named(merchant, items)
    # the last one of a duplicated id wins; `commission_rates` (a list by depth) is two columns per depth
    by_id = {item["external_id"]: rates.with_columns(item, **Product.RATE_COLUMNS) for item in items}
    existing = {
        p.external_id: p
        for p in Product.objects.for_merchant(merchant)
        .filter(external_id__in=sorted(by_id))
        .select_related("category")
        .order_by("external_id")
        .select_for_update(of=("self",))
    }
    results: dict[str, tuple[Product, bool]] = {}
    for external_id in sorted(by_id):
        data = by_id[external_id]
        product = existing.get(external_id)
        category = categories[data["category"]] if data.get("category") else None
        if product is None:
            try:
                with transaction.atomic():
                    product = Product.objects.create(
                        merchant=merchant,
                        external_id=external_id,
                        category=category,
                        **{k: data[k] for k in PRODUCT_FIELDS if k in data},
                    )
                results[external_id] = (product, True)
                continue
            except IntegrityError:  # a concurrent sync created it first: update that row instead
                product = Product.objects.for_merchant(merchant).select_for_update().get(external_id=external_id)
        before = {**snapshot(product, PRODUCT_FIELDS), "category": _external_id(product.category)}
        for field in PRODUCT_FIELDS:
            if field in data:
                setattr(product, field, data[field])
        if "category" in data:
            product.category = category
        changed = diff(before, {**snapshot(product, PRODUCT_FIELDS), "category": _external_id(product.category)})
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
            if "category" in changed:  # which category's figures the product's next sales count in
                audit_record(
                    merchant=merchant,
                    actor=actor,
                    action="product.category_changed",
                    obj=product,
                    changes={"category": changed["category"]},
                )
        results[external_id] = (product, False)
    return [results[item["external_id"]] for item in items]
