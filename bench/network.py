"""Invite-tree queries on a generated network: the product's selectors next to hand-written SQL.

    .venv/bin/python bench/network.py [--distributors 100000] [--samples 300]

Network: a random recursive tree (each distributor's inviter drawn uniformly among the earlier ones),
so a few early nodes have huge teams and depth grows
like log(n). Generated once per size in its own database (<DATABASE_URL db>_bench) and reused.

Scenarios (median of `samples` random distributors):
* upline 3: the inviter, theirs and theirs (what commission attribution needs). Ours: load the row and
  `selectors.upline()`; raw: one statement that reads the same rows by hand; also the recursive-CTE
  form (walking inviter_id) on the same table, for reference.
* team counts: team size by relative depth of a distributor among the first 1,000 (bigger teams).
  Ours: `selectors.team_counts()`; raw: the same aggregate in one statement; the recursive CTE of
  pb_net_downline3.sql for reference.
* whole team of the largest node: the root's count by depth.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_SLUG_PREFIX = "bench-network-"


def generate(n: int, *, slug: str | None = None, seed: int = 7):
    """A merchant with `n` active distributors in a random recursive tree (set-based SQL, seconds)."""
    from django.db import connection, transaction

    from distribution.auth import Actor
    from distributors.models import Distributor
    from merchants.models import Merchant
    from merchants.services.lifecycle import merchant_create
    from tests.factories import UserFactory

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
                INSERT INTO {table} (merchant_id, external_user_id, invite_code, display_name, status, depth,
                                     ancestor_ids, level_locked, created_at, updated_at, activated_at,
                                     phone_encrypted, phone_hash, phone_masked, status_reason, level_lock_reason,
                                     real_name_encrypted, real_name_masked, id_type, id_number_encrypted,
                                     id_number_hash, id_number_masked, payout_openid)
                SELECT %s, 'bench-' || node, upper(substr(md5(%s || node::text), 1, 12)), 'D' || node, 'active',
                       cardinality(ancestors), '{{}}', false, now(), now(), now(),
                       '', '', '', '', '', '', '', '', '', '', '', ''
                  FROM bench_paths ORDER BY node;
                """,
                [n, merchant.pk, slug],
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
    from bench.common import owner_analyze

    owner_analyze(table)
    return merchant


def measure(merchant, *, samples: int, seed: int = 11) -> list[dict]:
    from bench.common import owner_connect, row, timed
    from distribution import rls
    from distributors import selectors
    from distributors.models import Distributor

    table = Distributor._meta.db_table
    ids = list(Distributor.objects.for_merchant(merchant).order_by("id").values_list("id", flat=True))
    rng = random.Random(seed)
    anywhere = [rng.choice(ids) for _ in range(samples)]
    early = [rng.choice(ids[:1000]) for _ in range(samples)]
    root = ids[0]

    pickers: dict[str, object] = {}

    def pick(name: str, values: list[int]) -> int:
        """The next sample for one timed function (each walks its own copy of the sample)."""
        if name not in pickers:
            pickers[name] = itertools.cycle(values)
        return next(pickers[name])

    # ours as the API runs it (the application's role in the merchant's row-level-security context); raw by
    # hand as the tables' owner, whom no policy restricts
    owner = owner_connect()
    owner.autocommit = True

    def ours_upline():
        with rls.merchant(merchant.pk):
            return selectors.upline_by_id(merchant, pick("ours_upline", anywhere), 3)

    def raw_upline():
        with owner.cursor() as cursor:
            cursor.execute(
                f"""SELECT u.* FROM {table} d
                      JOIN {table} u ON u.id = ANY(d.ancestor_ids[greatest(cardinality(d.ancestor_ids) - 2, 1):])
                     WHERE d.merchant_id = %s AND d.id = %s""",
                [merchant.pk, pick("raw_upline", anywhere)],
            )
            return cursor.fetchall()

    def raw_upline_cte():
        with owner.cursor() as cursor:
            cursor.execute(
                f"""WITH RECURSIVE up AS (
                        SELECT id, inviter_id, 0 AS depth FROM {table} WHERE id = %s
                        UNION ALL
                        SELECT d.id, d.inviter_id, up.depth + 1 FROM {table} d JOIN up ON d.id = up.inviter_id
                         WHERE up.depth < 3)
                    SELECT count(*) FROM up""",
                [pick("raw_upline_cte", anywhere)],
            )
            return cursor.fetchone()

    def ours_team():
        with rls.merchant(merchant.pk):
            d = Distributor.objects.for_merchant(merchant).get(pk=pick("ours_team", early))
            return selectors.team_counts(d)

    def raw_team():
        with owner.cursor() as cursor:
            cursor.execute(
                f"""SELECT t.depth - d.depth, count(*) FROM {table} d
                      JOIN {table} t ON t.merchant_id = d.merchant_id AND t.ancestor_ids @> ARRAY[d.id]
                                    AND t.status IN ('active', 'frozen')
                     WHERE d.merchant_id = %s AND d.id = %s GROUP BY 1""",
                [merchant.pk, pick("raw_team", early)],
            )
            return cursor.fetchall()

    def raw_team_cte():
        with owner.cursor() as cursor:
            cursor.execute(
                f"""WITH RECURSIVE down AS (
                        SELECT id, 0 AS depth FROM {table} WHERE id = %s
                        UNION ALL
                        SELECT d.id, down.depth + 1 FROM {table} d JOIN down ON d.inviter_id = down.id
                         WHERE down.depth < 3)
                    SELECT depth, count(*) FROM down GROUP BY 1""",
                [pick("raw_team_cte", early)],
            )
            return cursor.fetchall()

    def ours_root():
        with rls.merchant(merchant.pk):
            return selectors.team_counts(Distributor.objects.for_merchant(merchant).get(pk=root))

    def raw_root():
        with owner.cursor() as cursor:
            cursor.execute(
                f"""SELECT depth, count(*) FROM {table} WHERE merchant_id = %s AND ancestor_ids @> ARRAY[%s]::bigint[]
                       AND status IN ('active', 'frozen') GROUP BY 1""",
                [merchant.pk, root],
            )
            return cursor.fetchall()

    root_repeat = max(5, samples // 20)
    return [
        row("upline, 3 levels (selectors.upline_by_id)", timed(ours_upline, samples), timed(raw_upline, samples)),
        row("  reference: recursive CTE upline", timed(ours_upline, samples), timed(raw_upline_cte, samples)),
        row("team counts by depth, first 1000 nodes", timed(ours_team, samples), timed(raw_team, samples)),
        row("  reference: recursive CTE, 3 levels", timed(ours_team, samples), timed(raw_team_cte, samples)),
        row(
            f"whole team of the root ({len(ids) - 1} members)",
            timed(ours_root, root_repeat),
            timed(raw_root, root_repeat),
        ),
    ]


def measure_api(merchant, *, samples: int, seed: int = 13) -> list[dict]:
    """`GET /api/v1/distributors/{id}` (the distributor, their 3-level upline and team counts by depth) on
    the real server (bench/ingest.py's gunicorn, production settings), one client on a keep-alive
    connection, next to the same two statements by hand (the row with its upline, the team aggregate)."""
    import http.client
    from urllib.parse import urlsplit

    from bench import ingest
    from bench.common import database_url, owner_connect, row, timed
    from distributors.models import Distributor

    table = Distributor._meta.db_table
    ids = list(Distributor.objects.for_merchant(merchant).order_by("id").values_list("id", flat=True))
    rng = random.Random(seed)
    sample = itertools.cycle([rng.choice(ids) for _ in range(samples)])
    root = ids[0]

    owner = owner_connect()  # by hand, as the tables' owner: no policies
    owner.autocommit = True

    def raw_detail(distributor_id: int):
        with owner.cursor() as cursor:
            cursor.execute(
                f"""SELECT d.depth, d.*, u.* FROM {table} d
                      LEFT JOIN {table} u
                        ON u.merchant_id = d.merchant_id
                       AND u.id = ANY(d.ancestor_ids[greatest(cardinality(d.ancestor_ids) - 3, 0) + 1:])
                     WHERE d.merchant_id = %s AND d.id = %s""",
                [merchant.pk, distributor_id],
            )
            depth = cursor.fetchall()[0][0]
            cursor.execute(
                f"""SELECT depth - %s, count(*) FROM {table}
                     WHERE merchant_id = %s AND ancestor_ids @> ARRAY[%s]::bigint[] AND status IN ('active', 'frozen')
                     GROUP BY 1""",
                [depth, merchant.pk, distributor_id],
            )
            return cursor.fetchall()

    with ingest.server(database_url()) as base, ingest.api_key(merchant.pk) as key:
        address = urlsplit(base)
        client = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        headers = {"X-Api-Key": key, "Accept": "application/json"}

        def api_detail(distributor_id: int):
            try:
                client.request("GET", f"/api/v1/distributors/{distributor_id}", headers=headers)
                response = client.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closes a keep-alive connection left idle (while the raw side was timed): reopen
                client.close()
                client.request("GET", f"/api/v1/distributors/{distributor_id}", headers=headers)
                response = client.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body[:200])
            return body

        raw_sample = itertools.cycle(list(itertools.islice(sample, samples)))
        rows = [
            row(
                "API distributor detail (upline + team), 1 client",
                timed(lambda: api_detail(next(sample)), samples),
                timed(lambda: raw_detail(next(raw_sample)), samples),
                target=0.10,
            ),
            row(
                f"API distributor detail of the root ({len(ids) - 1:,} in team)",
                timed(lambda: api_detail(root), max(5, samples // 20)),
                timed(lambda: raw_detail(root), max(5, samples // 20)),
            ),
        ]
        client.close()
    return rows


def run(scale: str = "small") -> list[dict]:
    """On the generated merchant's tree (bench/generate.py)."""
    from bench import generate

    merchant = generate.generate(scale)
    samples = 500 if scale in ("full", "huge") else 200
    return measure(merchant, samples=samples) + measure_api(merchant, samples=samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distributors", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()

    from bench.common import report, setup_django

    setup_django()
    import time

    start = time.perf_counter()
    merchant = generate(args.distributors)
    print(f"network of {args.distributors} distributors ready in {time.perf_counter() - start:.1f}s")
    report("network", measure(merchant, samples=args.samples), {"distributors": args.distributors})


if __name__ == "__main__":
    main()
