"""API order ingest: paid orders POSTed to the real server next to the same rows written by pgbench.

    .venv/bin/python bench/ingest.py [--scale small|full]

Data (in <DATABASE_URL db>_bench, generated once per scale and reused, `bench.fixtures.ingest_merchant`):
a merchant whose program pays two depths at its default rates (10% and 5%, no cap) with permanent
bindings; a random recursive tree of distributors (`bench.fixtures.distributor_tree`: 2,000 at `small`,
100,000 at `full`); as many customers, each bound to a distributor who has an inviter (so both depths
earn); products; a pending balance account for every distributor and the merchant's commission expense
account (so neither path creates accounts on the fly: the steady state).

* ours: gunicorn serving `config.wsgi` with the production settings (`bench.server`: `config.settings`,
  DEBUG off, a random secret key, JSON logs, access log) on a free port: 2 gthread workers with 2
  threads each (one process per core; the threads overlap one request's database waits with another's
  Python, and keep-alive works, unlike the sync worker; 2 or 4 sync workers measured the same within
  the noise).
  A small asyncio HTTP/1.1 client (keep-alive, no third-party package; its own CPU use is reported, about
  1% of one core) keeps C connections busy for the load time, each POSTing `/api/v1/orders`
  with the merchant's API key, a unique `Idempotency-Key` and a paid order of 1-2 items for a random
  bound customer without a share code: attribution through the binding, 2 commission lines per item,
  their ledger accruals and pending balances. Only 201s count; orders/s and p50/p95/p99 latency. The
  throttle stays on but its merchant rate is raised (THROTTLE_RATE_MERCHANT), or the default
  6,000/min would be what is measured. Order intake enqueues no task; the server still gets a Celery
  queue prefix and a cache key prefix of its own, and their Redis keys are deleted afterwards.
* raw: `pgbench -n -M simple -c C -j min(C, 2) -T seconds -f bench/ingest_raw.sql` on the same
  merchant: per order the same rows by hand (the idempotency key and its stored response, the binding
  read, the order, its items, the paid event, the commission lines, one ledger transaction and two
  postings per line, the pending balances locked in id order and updated): 11 round trips, BEGIN and
  COMMIT included, where the product makes 29 (and a connection health check). It reads only what it
  must to write them (the binding with the seller's and the inviter's rows, the balance accounts); the
  program's rates and the product ids come in as pgbench variables, and the stored response is built
  in SQL. pgbench's TPS is raw orders/s; its per-transaction log gives the latency percentiles.

Ratio = our orders/s ÷ raw orders/s at the same client count (higher is better; target ≥ 0.35 at 4
clients). Both paths end checked: every order has its lines at both depths and the merchant's ledger
checks clean (`settlements.checks.ledger_problems`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.db import connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import database_url, owner_analyze, rate_row, report, setup_django
from bench.fixtures import IngestFixture, api_key, ingest_merchant
from bench.server import GUNICORN_THREADS, GUNICORN_WORKERS, server

RAW_SCRIPT = Path(__file__).resolve().with_name("ingest_raw.sql")
CLIENTS = (1, 4)
TARGET = 0.35  # on the 4-client row only
MAX_FAILED_FRACTION = 0.001  # more non-201 answers than this and the run is refused
TOUCHED_TABLES = (
    "distribution_idempotencyrecord",
    "orders_order",
    "orders_orderitem",
    "orders_orderevent",
    "commissions_commissionline",
    "settlements_ledgertransaction",
    "settlements_posting",
    "settlements_account",
)


@dataclass(frozen=True)
class Scale:
    distributors: int
    customers: int
    products: int
    seconds: float  # load per client count, for each of ours and raw


SCALES = {
    "small": Scale(distributors=2_000, customers=2_000, products=20, seconds=5),
    "full": Scale(distributors=100_000, customers=100_000, products=200, seconds=20),
}


# --- ours: the load generator --------------------------------------------------------------------------------
class _Connection:
    """One HTTP/1.1 keep-alive connection (reopened when the server closes it)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
            await self.close()
        return int(status), body

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class OrderMaker:
    """Request bytes for unique paid orders of 1-2 items for random bound customers (no share code)."""

    def __init__(self, fixture: IngestFixture, host: str, key: str, seed: int = 5):
        self.fixture, self.host, self.key = fixture, host, key
        self.rng = random.Random(seed)
        self.run = uuid.uuid4().hex[:10]
        self.count = 0

    def next(self) -> bytes:
        self.count += 1
        rng = self.rng
        skus = rng.sample(self.fixture.skus, rng.randint(1, 2))
        body = {
            "external_id": f"o-{self.run}-{self.count}",
            "customer_external_id": f"bc-{rng.randint(1, self.fixture.customers)}",
            "paid_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
            "items": [
                {
                    "line_id": str(n),
                    "product": sku,
                    "quantity": rng.randint(1, 3),
                    "unit_price": f"{rng.randint(1000, 99999) / 100:.2f}",
                }
                for n, sku in enumerate(skus, start=1)
            ],
        }
        payload = json.dumps(body).encode()
        head = (
            f"POST /api/v1/orders HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nX-Api-Key: {self.key}\r\nIdempotency-Key: ingest-{self.run}-{self.count}"
            f"\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        return head.encode() + payload


async def _load(
    base_url: str,
    maker: OrderMaker,
    clients: int,
    *,
    seconds: float | None,
    requests: int | None,
    stamps: list[float] | None = None,
):
    """C connections, each sending one order after another until the time (or request count) is up; the
    wall-clock time each 201 arrived (its order committed just before) goes to `stamps` when given."""
    parts = urlsplit(base_url)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    samples: list[str] = []
    sent = 0
    start = time.perf_counter()
    deadline = start + seconds if seconds is not None else None
    last = start

    def more() -> bool:
        if deadline is not None:
            return time.perf_counter() < deadline
        return sent < requests

    async def client():
        nonlocal sent, last
        conn = _Connection(parts.hostname, parts.port)
        try:
            while more():
                sent += 1
                raw = maker.next()
                began = time.perf_counter()
                try:
                    status, body = await conn.request(raw)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    await conn.close()
                    status, body = 0, repr(exc).encode()
                finished = time.perf_counter()
                last = max(last, finished)
                key = str(status) if status else "connection error"
                statuses[key] = statuses.get(key, 0) + 1
                if status == 201:
                    latencies.append(finished - began)
                    if stamps is not None:
                        stamps.append(time.time())
                elif len(samples) < 5:
                    samples.append(f"{key}: {body[:300].decode(errors='replace')}")
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, statuses, samples, last - start


def post_orders(
    base_url: str,
    key: str,
    fixture: IngestFixture,
    clients: int,
    seconds: float,
    *,
    stamps: list[float] | None = None,
) -> dict:
    """Orders POSTed by `clients` connections for `seconds`: orders/s and latency of the 201s (and their
    arrival times in `stamps`, when given)."""
    host = urlsplit(base_url).netloc
    maker = OrderMaker(fixture, host, key, seed=clients)
    cpu = time.process_time()
    latencies, statuses, samples, elapsed = asyncio.run(
        _load(base_url, maker, clients, seconds=seconds, requests=None, stamps=stamps)
    )
    cpu = time.process_time() - cpu
    ok = statuses.get("201", 0)
    failed = sum(statuses.values()) - ok
    if ok == 0 or failed > MAX_FAILED_FRACTION * (ok + failed):
        raise RuntimeError(f"{failed} of {ok + failed} orders were not created: {statuses}; e.g. {samples}")
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 2)

    return {
        "per_s": round(ok / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "ok": ok,
        "failed": failed,
        "statuses": statuses,
        "seconds": round(elapsed, 2),
        "client_cpu_pct": round(cpu / elapsed * 100, 1),  # of one core: what the load generator itself used
    }


def warm_up(base_url: str, key: str, fixture: IngestFixture, requests: int) -> int:
    """A few orders so that every worker has imported everything and opened its database connection;
    returns how many were created (they are not measured)."""
    maker = OrderMaker(fixture, urlsplit(base_url).netloc, key, seed=0)
    _, statuses, samples, _ = asyncio.run(
        _load(base_url, maker, GUNICORN_WORKERS * GUNICORN_THREADS, seconds=None, requests=requests)
    )
    if statuses.get("201", 0) != requests:
        raise RuntimeError(f"warm-up failed: {statuses}; e.g. {samples}")
    return requests


# --- raw: pgbench ------------------------------------------------------------------------------------------
def pgbench_path() -> str:
    """The machine's pgbench, else the one the embedded PostgreSQL (the `pgserver` package) ships."""
    found = shutil.which("pgbench")
    if found:
        return found
    try:
        import pgserver  # optional, and slow to import: only where the machine has no pgbench
    except ImportError:
        raise RuntimeError("pgbench not found: install the PostgreSQL client (postgresql-client)") from None
    return str(Path(pgserver.__file__).resolve().parent / "pginstall" / "bin" / "pgbench")


def pgbench(db_url: str, fixture: IngestFixture, clients: int, seconds: float) -> dict:
    """The hand-written ingest transaction at `clients` connections for `seconds`."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as logs:
        variables = {
            "m": fixture.merchant_id,
            "run": random.randrange(1, 2**31),
            "customers": fixture.customers,
            "pmin": fixture.product_ids[0],
            "pmax": fixture.product_ids[1],
            "expense": fixture.expense_account_id,
            "r1": fixture.rates[0],
            "r2": fixture.rates[1],
        }
        command = [pgbench_path(), "-n", "-M", "simple", "-c", str(clients), "-j", str(min(clients, 2))]
        command += ["-T", str(max(1, round(seconds))), "-f", str(RAW_SCRIPT), "-l", "--log-prefix", f"{logs}/tx"]
        for name, value in variables.items():
            command += ["-D", f"{name}={value}"]
        command.append(db_url.replace("postgres://", "postgresql://", 1))
        result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
        out = result.stdout + result.stderr
        if result.returncode != 0 or "aborted" in out:
            raise RuntimeError(f"pgbench failed ({result.returncode}):\n{out[-3000:]}")
        latencies = []
        for path in Path(logs).glob("tx*"):
            for line in path.read_text().splitlines():
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000)  # µs -> ms
    processed = int(_match(r"number of transactions actually processed: (\d+)", out))
    failed = int(_match(r"number of failed transactions: (\d+)", out) or 0)
    if failed:
        raise RuntimeError(f"pgbench: {failed} transactions failed:\n{out[-3000:]}")
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 2)

    tps = float(_match(r"tps = ([\d.]+)", out))
    return {
        "per_s": round(tps, 1),
        "tps": round(tps, 1),
        "latency_avg_ms": float(_match(r"latency average = ([\d.]+) ms", out)),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "transactions": processed,
    }


def _match(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text)
    return found.group(1) if found else None


# --- the benchmark -------------------------------------------------------------------------------------------
def measure(
    fixture: IngestFixture,
    *,
    seconds: float,
    clients: tuple[int, ...] = CLIENTS,
    warmup: int = 20,
    log_path: Path | None = None,
) -> list[dict]:
    """Ours then raw at each client count, on the database Django uses; one rate row per client count.
    Each row also says how many orders each side created (`ours["ok"] + ours["warmup"]` on the first)."""
    rows = []
    with api_key(fixture.merchant_id) as key, server(database_url(), log_path=log_path) as base_url:
        warmed = warm_up(base_url, key, fixture, warmup)
        for c in clients:
            ours = post_orders(base_url, key, fixture, c, seconds)
            ours["warmup"], warmed = warmed, 0
            raw = pgbench(database_url(owner=True), fixture, c, seconds)  # the owner: no policies, by hand
            scenario = f"API order ingest, {c} client{'s' if c > 1 else ''} (orders/s)"
            rows.append(rate_row(scenario, ours, raw, target=TARGET if c == 4 else None))
    return rows


def check(fixture: IngestFixture) -> dict:
    """Every order of the merchant has lines at both depths for each item, and the ledger checks clean."""
    from ledger.checks import ledger_problems  # after setup_django(): app modules need Django's apps loaded

    owner_analyze(*TOUCHED_TABLES)  # fresh statistics, as autovacuum would give them soon
    with connection.cursor() as c:
        c.execute(
            """SELECT count(*) FROM (
                   SELECT i.id FROM orders_orderitem i
                     LEFT JOIN commissions_commissionline l ON l.merchant_id = i.merchant_id AND l.order_item_id = i.id
                    WHERE i.merchant_id = %s
                    GROUP BY i.id HAVING count(DISTINCT l.depth) <> 2) x""",
            [fixture.merchant_id],
        )
        incomplete = c.fetchone()[0]
    problems = ledger_problems(fixture.merchant_id)
    assert incomplete == 0, f"{incomplete} order items without lines at both depths"
    assert not problems, problems[:5]
    return {"items_without_two_depths": incomplete, "ledger_problems": len(problems)}


def run(scale: str = "small") -> list[dict]:
    size = SCALES[scale]
    start = time.perf_counter()
    fixture = ingest_merchant(size.distributors, size.customers, size.products)
    elapsed = time.perf_counter() - start
    print(f"merchant {fixture.merchant_id}: {size.distributors:,} distributors ready in {elapsed:.1f}s")
    rows = measure(fixture, seconds=size.seconds)
    check(fixture)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    args = parser.parse_args()

    setup_django()
    rows = run(args.scale)
    size = SCALES[args.scale]
    report(
        "ingest",
        rows,
        {
            "scale": args.scale,
            "distributors": size.distributors,
            "customers": size.customers,
            "seconds_per_client_count": size.seconds,
            "server": f"gunicorn gthread, {GUNICORN_WORKERS} workers x {GUNICORN_THREADS} threads",
        },
    )
    for r in rows:
        o, w = r["ours"], r["raw"]
        print(
            f"  {r['scenario']}: ours p50/p95/p99 {o['p50_ms']}/{o['p95_ms']}/{o['p99_ms']} ms ({o['ok']} ok, "
            f"{o['failed']} failed); raw p50/p95/p99 {w['p50_ms']}/{w['p95_ms']}/{w['p99_ms']} ms "
            f"(avg {w['latency_avg_ms']} ms, {w['transactions']} orders)"
        )


if __name__ == "__main__":
    main()
