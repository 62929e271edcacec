"""Reads of the distributor network. Every function takes the merchant (or a row of it)."""

from __future__ import annotations

from django.db import connection
from django.db.models.expressions import RawSQL

from distribution.tenancy import TenantQuerySet
from distributors.models import Distributor
from merchants.models import Merchant

TEAM_STATUSES = (Distributor.Status.ACTIVE, Distributor.Status.FROZEN)
# The ids below a distributor, through the view distributor_tree (migration distributors 0005): the same rows
# row-level security shows, found with the GIN index on ancestor_ids, which the policy would rule out.
SUBTREE_IDS = "SELECT id FROM distributor_tree WHERE merchant_id = %s AND ancestor_ids @> ARRAY[%s]::bigint[]"


def distributor_for_user(merchant: Merchant, external_user_id: str) -> Distributor | None:
    return (
        Distributor.objects.for_merchant(merchant)
        .select_related("level", "inviter")
        .filter(external_user_id=external_user_id)
        .first()
    )


def upline(distributor: Distributor, depth: int) -> list[Distributor]:
    """The distributor's inviter, the inviter's inviter, … (nearest first), up to `depth`: one query,
    because the ancestors are on the row."""
    ids = distributor.upline_ids(depth)
    if not ids:
        return []
    rows = Distributor.objects.for_merchant(distributor.merchant_id).in_bulk(ids)
    return [rows[i] for i in ids if i in rows]


def upline_by_id(merchant: Merchant | int, distributor_id: int, depth: int) -> list[Distributor]:
    """The same upline without loading the distributor first: one query (nearest first)."""
    table = Distributor._meta.db_table
    ancestors = RawSQL(  # noqa: S611 - the table name is ours; values are bound
        f"SELECT unnest(ancestor_ids[greatest(cardinality(ancestor_ids) - %s, 0) + 1:]) FROM {table} "  # noqa: S608
        "WHERE merchant_id = %s AND id = %s",
        [depth, getattr(merchant, "pk", merchant), distributor_id],
    )
    return list(Distributor.objects.for_merchant(merchant).filter(pk__in=ancestors).order_by("-depth"))


def team(
    distributor: Distributor, *, depth: int | None = None, max_depth: int | None = None
) -> TenantQuerySet[Distributor]:
    """Members of the distributor's team (active or frozen): all of it, one relative depth (1 = direct
    recruits), or everything down to `max_depth`."""
    members = RawSQL(SUBTREE_IDS, [distributor.merchant_id, distributor.pk])  # noqa: S611 (constant SQL, bound values)
    qs = Distributor.objects.for_merchant(distributor.merchant_id).filter(pk__in=members, status__in=TEAM_STATUSES)
    if depth is not None:
        qs = qs.filter(depth=distributor.depth + depth)
    if max_depth is not None:
        qs = qs.filter(depth__lte=distributor.depth + max_depth)
    return qs


def team_counts(distributor: Distributor) -> dict[str, int]:
    """Team size by relative depth, in one GIN-indexed aggregate: {"1": direct, "2": …, "total": all}.

    (Through the view distributor_tree, as SUBTREE_IDS.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT depth - %s, count(*) FROM distributor_tree
             WHERE merchant_id = %s AND ancestor_ids @> ARRAY[%s]::bigint[] AND status = ANY(%s)
             GROUP BY 1
            """,
            [distributor.depth, distributor.merchant_id, distributor.pk, list(TEAM_STATUSES)],
        )
        by_depth = dict(cursor.fetchall())
    counts = {str(d): by_depth.get(d, 0) for d in (1, 2, 3)}
    counts["total"] = sum(by_depth.values())
    return counts
