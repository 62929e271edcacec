"""The small merchants that scenarios build for themselves, in set-based SQL, reused when present: a random
recursive tree of distributors (which bench/generate.py's merchant, and the network, settlement, ingest
and Celery scenarios, start from), the ingest scenario's merchant around such a tree, and a server API
key for a run. Everything here needs Django set up on the bench database (`bench.common.setup_django`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from django.db import connection, transaction

from bench.common import owner_analyze

BENCH_SLUG_PREFIX = "bench-network-"
# the distributor columns distributor_tree writes; every other one gets its model default
TREE_COLUMNS = (
    "merchant_id, external_user_id, invite_code, display_name, status, depth, ancestor_ids, level_locked, "
    "created_at, updated_at, activated_at, phone_encrypted, phone_hash, phone_masked, status_reason, "
    "level_lock_reason, real_name_encrypted, real_name_masked, id_type, id_number_encrypted, id_number_hash, "
    "id_number_masked, payout_openid"
)


def other_defaults(model, columns: str) -> tuple[str, str, list]:
    """For a hand-written INSERT of `columns`: the model's other non-null columns that have a default (a
    field added later without a database default), as a column list, placeholders and their values."""
    written = {c.strip() for c in columns.split(",")}
    extra = [
        f
        for f in model._meta.concrete_fields
        if f.column not in written and not f.primary_key and not f.null and f.has_default()
    ]
    return (
        "".join(f", {f.column}" for f in extra),
        "".join(", %s" for _ in extra),
        [f.get_db_prep_save(f.get_default(), connection) for f in extra],
    )


def distributor_tree(n: int, *, slug: str | None = None, seed: int = 7):
    """A merchant with `n` active distributors in a random recursive tree (set-based SQL, seconds): each
    one's inviter drawn uniformly among the earlier ones, so a few early nodes have huge teams and depth
    grows like log(n)."""
    # after setup_django(): app modules need Django's apps loaded
    from distribution.auth import Actor
    from distributors.models import Distributor
    from merchants.models import Merchant
    from merchants.services.lifecycle import merchant_create
    from tests.builders.factories import UserFactory

    slug = slug or f"{BENCH_SLUG_PREFIX}{n}"
    merchant = Merchant.objects.filter(slug=slug).first()
    if merchant is not None and Distributor.objects.for_merchant(merchant).count() == n:
        return merchant
    with transaction.atomic():
        if merchant is None:
            merchant = merchant_create(
                name=slug, slug=slug, owner=UserFactory(username=f"{slug}-owner"), actor=Actor.system("bench")
            )
        Distributor.objects.for_merchant(merchant).delete()
        table = Distributor._meta.db_table
        more_columns, more_values, defaults = other_defaults(Distributor, TREE_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [seed / 1000])
            # parent of node g (1-based) is uniform among 1..g-1; paths by a recursive walk from the roots
            cursor.execute(
                f"""
                CREATE TEMP TABLE bench_tree ON COMMIT DROP AS
                SELECT g AS node, CASE WHEN g = 1 THEN NULL
                                       ELSE 1 + floor(random() * (g - 1))::int END AS parent
                  FROM generate_series(1, %s) g;
                CREATE INDEX ON bench_tree (parent);
                CREATE TEMP TABLE bench_paths ON COMMIT DROP AS
                WITH RECURSIVE p AS (
                    SELECT node, ARRAY[]::int[] AS ancestors FROM bench_tree WHERE parent IS NULL
                    UNION ALL
                    SELECT t.node, p.ancestors || t.parent FROM bench_tree t JOIN p ON t.parent = p.node)
                SELECT node, ancestors FROM p;
                INSERT INTO {table} ({TREE_COLUMNS}{more_columns})
                SELECT %s, 'bench-' || node, upper(substr(md5(%s || node::text), 1, 12)), 'D' || node, 'active',
                       cardinality(ancestors), '{{}}', false, now(), now(), now(),
                       '', '', '', '', '', '', '', '', '', '', '', ''{more_values}
                  FROM bench_paths ORDER BY node;
                """,
                [n, merchant.pk, slug, *defaults],
            )
            # node numbers -> real ids: ids were assigned in node order
            cursor.execute(f"SELECT min(id) FROM {table} WHERE merchant_id = %s", [merchant.pk])
            offset = cursor.fetchone()[0] - 1
            cursor.execute(
                f"""
                UPDATE {table} d
                   SET ancestor_ids = (SELECT coalesce(array_agg(a + %s ORDER BY o), '{{}}')
                                         FROM unnest(p.ancestors) WITH ORDINALITY AS u(a, o)),
                       inviter_id = CASE WHEN cardinality(p.ancestors) = 0 THEN NULL
                                         ELSE p.ancestors[cardinality(p.ancestors)] + %s END
                  FROM bench_paths p
                 WHERE d.merchant_id = %s AND d.id = p.node + %s
                """,
                [offset, offset, merchant.pk, offset],
            )
    owner_analyze(table)
    return merchant


@dataclass(frozen=True)
class IngestFixture:
    """What the ingest load needs to know about its generated merchant."""

    merchant_id: int
    customers: int  # bc-1 .. bc-N are bound
    product_ids: tuple[int, int]  # min, max: contiguous
    skus: tuple[str, ...]  # external ids, in id order
    expense_account_id: int
    rates: tuple[int, int]  # depth 1, depth 2 (basis points)


def ingest_merchant(distributors: int, customers: int, products: int, *, slug: str | None = None) -> IngestFixture:
    """The ingest merchant: a program paying two depths at its default rates (10% and 5%, no cap) with
    permanent bindings, a `distributor_tree`, bound customers, products and balance accounts (reused
    when present)."""
    # after setup_django(): app modules need Django's apps loaded
    from distribution.auth import Actor
    from merchants.models import DistributionProgram
    from merchants.services.programs import program_update

    assert products >= 2, "orders of two items need two products"
    slug = slug or f"bench-ingest-{distributors}"
    merchant = distributor_tree(distributors, slug=slug)
    m = merchant.pk
    program_update(
        merchant=merchant,
        actor=Actor.system("bench"),
        changes={
            "commission_depth": 2,
            "depth1_rate_bps": 1000,
            "depth2_rate_bps": 500,
            "commission_cap_bps": None,
            "binding_validity_days": None,  # permanent: a reused data set does not expire
            "self_purchase_commission": False,
        },
    )
    program = DistributionProgram.objects.for_merchant(merchant).get()
    with transaction.atomic(), connection.cursor() as c:
        c.execute(
            """INSERT INTO orders_product (merchant_id, external_id, title, price, kind, distribution_enabled,
                                           created_at, updated_at)
               SELECT %s, 'sku-' || g, 'Bench product ' || g, 1000 + g * 100, 'physical', true, now(), now()
                 FROM generate_series(1, %s) g
               ON CONFLICT DO NOTHING""",
            [m, products],
        )
        # customer g is bound to a distributor with an inviter, spread by a multiplicative hash
        c.execute(
            """WITH d AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM distributors_distributor
                           WHERE merchant_id = %(m)s AND inviter_id IS NOT NULL),
                    n AS (SELECT count(*) AS total FROM d)
               INSERT INTO distributors_customerbinding (merchant_id, customer_external_id, distributor_id, status,
                                                         source, bound_at, end_reason, created_at)
               SELECT %(m)s, 'bc-' || g, d.id, 'active', 'share_link', now() - interval '1 day', '', now()
                 FROM generate_series(1::bigint, %(customers)s) g CROSS JOIN n
                 JOIN d ON d.k = (g * 2654435761) %% n.total
               ON CONFLICT (merchant_id, customer_external_id) WHERE status = 'active' DO NOTHING""",
            {"m": m, "customers": customers},
        )
        c.execute(
            """INSERT INTO settlements_account (merchant_id, owner_kind, owner_id, kind, currency, balance, updated_at)
               SELECT %(m)s, 'distributor', id, 'pending', %(cur)s, 0, now()
                 FROM distributors_distributor WHERE merchant_id = %(m)s
               UNION ALL SELECT %(m)s, 'merchant', %(m)s, 'commission_expense', %(cur)s, 0, now()
               ON CONFLICT DO NOTHING""",
            {"m": m, "cur": merchant.currency},
        )
        c.execute(
            """SELECT min(id), max(id), count(*), array_agg(external_id ORDER BY id) FROM orders_product
                WHERE merchant_id = %s AND external_id LIKE 'sku-%%'""",
            [m],
        )
        low, high, count, skus = c.fetchone()
        assert high - low + 1 == count == products, "bench products must have contiguous ids"
        c.execute(
            """SELECT id FROM settlements_account
                WHERE merchant_id = %s AND owner_kind = 'merchant' AND kind = 'commission_expense' AND currency = %s""",
            [m, merchant.currency],
        )
        expense = c.fetchone()[0]
    owner_analyze("distributors_customerbinding", "settlements_account", "orders_product")
    return IngestFixture(
        merchant_id=m,
        customers=customers,
        product_ids=(low, high),
        skus=tuple(skus),
        expense_account_id=expense,
        rates=(program.depth1_rate_bps, program.depth2_rate_bps),
    )


@contextlib.contextmanager
def api_key(merchant_id: int):
    """A fresh server API key (role admin) for the run, revoked afterwards; yields the key."""
    # after setup_django(): app modules need Django's apps loaded
    from distribution.auth import Actor
    from merchants.models import Merchant
    from merchants.roles import Role
    from merchants.services.credentials import api_key_create, api_key_revoke

    merchant = Merchant.objects.get(pk=merchant_id)
    actor = Actor.system("bench")
    record, key = api_key_create(
        merchant=merchant, actor=actor, actor_role=Role.OWNER, name="bench ingest", role=Role.ADMIN
    )
    try:
        yield key
    finally:
        api_key_revoke(merchant=merchant, actor=actor, actor_role=Role.OWNER, api_key_id=record.pk)
