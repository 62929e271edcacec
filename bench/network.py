"""Invite-tree queries on a generated network: the product's selectors next to hand-written SQL.

    .venv/bin/python bench/network.py [--distributors 100000] [--samples 300]

Network: a random recursive tree (each distributor's inviter drawn uniformly among the earlier ones),
so a few early nodes have huge teams and depth grows like log(n) (`bench.fixtures.distributor_tree`).
Generated once per size in its own database (<DATABASE_URL db>_bench) and reused.

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
import http.client
import itertools
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate
from bench.common import database_url, owner_connect, report, row, setup_django, timed
from bench.fixtures import api_key, distributor_tree
from bench.server import server


def measure(merchant, *, samples: int, seed: int = 11) -> list[dict]:
    # after setup_django(): app modules need Django's apps loaded
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
    the real server (bench/server.py's gunicorn, production settings), one client on a keep-alive
    connection, next to the same two statements by hand (the row with its upline, the team aggregate)."""
    from distributors.models import Distributor  # after setup_django(): app modules need Django's apps loaded

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

    with server(database_url()) as base, api_key(merchant.pk) as key:
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
    merchant = generate.generate(scale)
    samples = 500 if scale in ("full", "huge") else 200
    return measure(merchant, samples=samples) + measure_api(merchant, samples=samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distributors", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()

    setup_django()
    start = time.perf_counter()
    merchant = distributor_tree(args.distributors)
    print(f"network of {args.distributors} distributors ready in {time.perf_counter() - start:.1f}s")
    report("network", measure(merchant, samples=args.samples), {"distributors": args.distributors})


if __name__ == "__main__":
    main()
