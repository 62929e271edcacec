"""B5, analytics: the rollups' rebuild, the figures' API and the rollup lag, next to hand-written SQL.

    .venv/bin/python bench/analytics.py [--scale small|full]

On the generated merchant (bench/generate.py: full scale is 2,000,000 orders over a year, with
categories, channels and regions):

* rebuild: ours, `analytics.refresh.rebuild_merchant` for the year (every rollup of the merchant:
  daily merchant, distributor, product, category and channel rows, buyer facts); raw, one hand-written
  `INSERT … SELECT` (bench/analytics_rebuild_raw.sql) computing the same DailyMerchant rows from the base
  tables, after deleting the year's rows, in one transaction. The raw statement runs first; ours must
  then leave exactly the rows the raw statement wrote, which the benchmark checks. The raw side writes
  one of the five daily tables, so its ratio is a floor, not a like-for-like figure.
* the API, on the real server (bench/server.py's gunicorn, production settings, a merchant API key), one
  client on a keep-alive connection, every request checked for a 200: the 365-day daily GMV series
  (`GET /api/v1/analytics/timeseries?metric=gmv&interval=day`), the 30-day top 20 distributors by GMV
  (`/leaderboard?dimension=distributors&by=gmv&limit=20`) and the 30-day summary (`/summary`); raw, the
  same figures computed by hand on the base tables (bench/analytics_*_raw.sql: the orders table grouped by
  pay day in the merchant's time zone, by distributor, and the summary's aggregates). Targets: the series
  at least 20× faster than its raw aggregate and p95 ≤ 100 ms; the leaderboard p95 ≤ 100 ms, the
  summary ≤ 150 ms.
* rollup lag, on the ingest benchmark's merchant (bench/fixtures.py) and server: paid orders POSTed at 4
  clients (bench/ingest.py's load) for a while with nothing else running, then for as long again with a
  real Celery worker (`bench.celery_throughput.worker`, production settings) running `analytics.refresh`,
  published every `interval` seconds as beat would. Throughput: ours is the rate with the refresh
  running, "raw" the rate without it (target ≥ 0.9: within 10%). Lag: per order, from its 201 (the
  order committed just before) to the first moment a poller (every POLL seconds, as the tables' owner)
  saw the merchant's DailyMerchant rows count it: orders are ranked by arrival, and the k-th is reflected
  once the day's count grew by k. The same as the oldest unreflected order's age over the run. Target:
  max ≤ 2 minutes. Reading it: the lag is about the refresh interval plus one pass (both reported), so
  the small scale's short interval says nothing about production's; the pass time does.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.test import override_settings
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate, ingest
from bench.celery_throughput import delete_results, worker
from bench.common import (
    RESULTS,
    database_url,
    delete_redis_keys,
    owner_analyze,
    owner_connect,
    rate_row,
    report,
    row,
    setup_django,
    timed,
)
from bench.fixtures import IngestFixture, api_key, ingest_merchant
from bench.server import server
from distribution import money

HERE = Path(__file__).resolve().parent
RAW_TIMESERIES = (HERE / "analytics_timeseries_raw.sql").read_text()
RAW_LEADERBOARD = (HERE / "analytics_leaderboard_raw.sql").read_text()
RAW_SUMMARY = (HERE / "analytics_summary_raw.sql").read_text()
RAW_REBUILD = (HERE / "analytics_rebuild_raw.sql").read_text()
REFRESH_TASK = "analytics.refresh"
POLL = 0.2  # seconds between the lag poller's looks at the rollups
LAG_CLIENTS = 4
TARGETS = {"timeseries": 20.0, "ingest": 0.9}
LIMITS = {
    "timeseries": {"p95_ms": 100},
    "leaderboard": {"p95_ms": 100},
    "summary": {"p95_ms": 150},
    "lag": {"max_ms": 120_000},
}


@dataclass(frozen=True)
class Scale:
    samples: int  # API requests (and raw statements) per endpoint
    lag_seconds: float  # load time of each of the two ingest runs
    interval: float | None  # seconds between refresh tasks while the load runs (None: the schedule's)


SCALES = {
    "tiny": Scale(samples=5, lag_seconds=2, interval=1),
    "small": Scale(samples=20, lag_seconds=8, interval=4),
    "full": Scale(samples=50, lag_seconds=180, interval=None),
}


def merchant_today(merchant) -> date:
    return datetime.now(UTC).astimezone(merchant.tz).date()


def day_bounds(merchant, first: date, last: date) -> dict:
    """The raw statements' parameters for pay days first..last (inclusive) in the merchant's time zone, and
    the start of the equal-length period before them."""
    tz = merchant.tz

    def midnight(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=tz)

    return {
        "m": merchant.pk,
        "tz": merchant.timezone,
        "first": first,
        "last": last,
        "start": midnight(first),
        "end": midnight(last + timedelta(days=1)),
        "prev_start": midnight(first - (last - first) - timedelta(days=1)),
    }


# --- rebuild -------------------------------------------------------------------------------------------------
def daily_rows(merchant_id: int, first: date, last: date) -> list[tuple]:
    """The merchant's DailyMerchant rows for the days, every figure, in day order (as the owner)."""
    from analytics.models import DailyMerchant  # after setup_django(): app modules need Django's apps loaded

    fields = [f.column for f in DailyMerchant._meta.concrete_fields if f.column not in ("id", "merchant_id")]
    with owner_connect() as conn:
        return conn.execute(
            f"SELECT {', '.join(fields)} FROM {DailyMerchant._meta.db_table} "
            "WHERE merchant_id = %s AND day BETWEEN %s AND %s ORDER BY day",
            [merchant_id, first, last],
        ).fetchall()


def measure_rebuild(merchant, *, days: int = 365) -> list[dict]:
    """Raw first (delete the year's DailyMerchant rows, INSERT … SELECT them from the base tables, commit),
    then ours (`rebuild_merchant` for the same days); both must leave the same rows."""
    from analytics import refresh  # after setup_django(): app modules need Django's apps loaded
    from analytics.models import DailyMerchant
    from orders.models import Order

    last = merchant_today(merchant)
    first = last - timedelta(days=days - 1)
    params = day_bounds(merchant, first, last)
    with owner_connect() as conn:  # by hand, as the tables' owner: no policies
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as c:
            c.execute("SET LOCAL statement_timeout = 0")
            c.execute(
                f"DELETE FROM {DailyMerchant._meta.db_table} "
                "WHERE merchant_id = %(m)s AND day BETWEEN %(first)s AND %(last)s",
                params,
            )
            c.execute(RAW_REBUILD, params)
        raw = time.perf_counter() - start
    raw_rows = daily_rows(merchant.pk, first, last)
    start = time.perf_counter()
    refresh.rebuild_merchant(merchant.pk, date_from=first, date_to=last)  # a platform job, as the worker runs it
    ours = time.perf_counter() - start
    ours_rows = daily_rows(merchant.pk, first, last)
    if ours_rows != raw_rows:
        differ = [(o, r) for o, r in zip(ours_rows, raw_rows, strict=False) if o != r][:3]
        raise AssertionError(
            f"rebuild_merchant and the raw statement disagree ({len(ours_rows)} and {len(raw_rows)} rows): {differ}"
        )
    owner_analyze("analytics_dailymerchant", "analytics_dailydistributor", "analytics_dailyproduct")
    orders = Order.objects.for_merchant(merchant).filter(paid_at__gte=params["start"]).count()
    return [row(f"rebuild a year of rollups ({orders:,} orders, {len(ours_rows)} days)", [ours], [raw])]


# --- the API ---------------------------------------------------------------------------------------------------
class Client:
    """GETs on one keep-alive connection to the real server, each checked for a 200."""

    def __init__(self, base_url: str, key: str):
        address = urlsplit(base_url)
        self.host, self.port = address.hostname, address.port
        self.headers = {"X-Api-Key": key, "Accept": "application/json"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def get(self, path: str, query: dict) -> bytes:
        url = f"{path}?{urlencode(query)}"
        try:
            self.conn.request("GET", url, headers=self.headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the server closes a keep-alive connection left idle (while the raw side was timed): reopen
            self.conn.close()
            self.conn.request("GET", url, headers=self.headers)
            response = self.conn.getresponse()
        body = response.read()
        assert response.status == 200, (url, response.status, body[:300])
        return body

    def close(self) -> None:
        self.conn.close()


def measure_api(merchant, *, samples: int) -> list[dict]:
    """The three endpoints through the real server next to their raw statements, `samples` of each."""
    today = merchant_today(merchant)
    year = day_bounds(merchant, today - timedelta(days=364), today)
    month = day_bounds(merchant, today - timedelta(days=29), today)
    calls = [
        (
            "timeseries",
            "API 365-day daily GMV series",
            "/api/v1/analytics/timeseries",
            {"metric": "gmv", "interval": "day", **api_range(year)},
            RAW_TIMESERIES,
            year,
        ),
        (
            "leaderboard",
            "API 30-day top 20 distributors by GMV",
            "/api/v1/analytics/leaderboard",
            {"dimension": "distributors", "by": "gmv", "limit": 20, **api_range(month)},
            RAW_LEADERBOARD,
            month,
        ),
        ("summary", "API 30-day summary", "/api/v1/analytics/summary", api_range(month), RAW_SUMMARY, month),
    ]
    owner = owner_connect()  # by hand, as the tables' owner: no policies
    owner.autocommit = True
    rows = []
    try:
        with server(database_url()) as base, api_key(merchant.pk) as key:
            client = Client(base, key)
            try:
                for name, scenario, path, query, sql, params in calls:
                    ours = timed(lambda path=path, query=query: client.get(path, query), samples)
                    raw = timed(lambda sql=sql, params=params: owner.execute(sql, params).fetchall(), samples)
                    answer = json.loads(client.get(path, query))
                    by_hand = owner.cursor(row_factory=dict_row).execute(sql, params).fetchall()
                    differ = AGREE[name](answer, by_hand)
                    assert not differ, f"the API's {name} and the raw statement disagree: {differ[:5]}"
                    rows.append(row(scenario, ours, raw, target=TARGETS.get(name), limits=LIMITS[name]))
            finally:
                client.close()
    finally:
        owner.close()
    return rows


# The API's answers against the raw statements' rows: each side must give the same figures (money in minor
# units); a list of the differences.
def _minor(value: str | None) -> int | None:
    return None if value is None else money.parse_amount(value, "CNY")


def _timeseries_agree(answer: dict, rows: list[dict]) -> list:
    ours = [(p["start"], _minor(p["value"])) for p in answer["points"]]
    raw = [(r["day"].isoformat(), r["distributed_gmv"]) for r in rows]
    return _pairs(ours, raw)


def _leaderboard_agree(answer: dict, rows: list[dict]) -> list:
    def entry(e: dict) -> tuple:
        return (
            int(e["key"]),
            e["name"],
            *map(_minor, (e["gmv"], e["refunded"], e["commission"])),
            e["orders"],
            e["visits"],
        )

    ours = [entry(e) for e in answer["entries"]]
    columns = ("id", "display_name", "gmv", "refunded", "commission", "orders", "visits")
    raw = [tuple(r[c] for c in columns) for r in rows]
    return _pairs(ours, raw)


def _pairs(ours: list, raw: list) -> list:
    """The pairs that differ, and the lengths when they do."""
    differ = [(o, r) for o, r in zip(ours, raw, strict=False) if o != r]
    return differ if len(ours) == len(raw) else [*differ, ("length", len(ours), len(raw))]


# summary metric -> the raw statement's column (money in minor units on both sides)
SUMMARY_COLUMNS = {
    "gmv": "gmv",
    "orders": "orders",
    "all_gmv": "all_gmv",
    "all_orders": "all_orders",
    "refunded": "refunded",
    "buyers": "buyers",
    "all_buyers": "all_buyers",
    "commission_accrued": "accrued",
    "commission_pending": "pending",
    "commission_confirmed": "confirmed",
    "commission_settled": "settled",
    "commission_reversed": "reversed",
    "commission_clawed_back": "clawed_back",
    "completed_orders": "completed_orders",
    "visits": "visits",
    "new_buyers": "new_buyers",
    "returning_buyers": "returning_buyers",
    "new_distributors": "new_distributors",
    "active_distributors": "active_distributors",
    "applications": "applications",
}


def _summary_agree(answer: dict, rows: list[dict]) -> list:
    by_period = {r["period"]: r for r in rows}
    differ = []
    for metric, column in SUMMARY_COLUMNS.items():
        card = answer["metrics"][metric]
        for side, period in (("value", "current"), ("previous", "previous")):
            ours = _minor(card[side]) if card["unit"] == "money" else card[side]
            raw = by_period[period][column] or 0
            if ours != raw:
                differ.append((metric, side, ours, raw))
    return differ


AGREE = {"timeseries": _timeseries_agree, "leaderboard": _leaderboard_agree, "summary": _summary_agree}


def api_range(bounds: dict) -> dict:
    """The API's query parameters for a range of pay days."""
    return {"date_from": bounds["first"].isoformat(), "date_to": bounds["last"].isoformat()}


# --- rollup lag ------------------------------------------------------------------------------------------------
class Poller(threading.Thread):
    """Every POLL seconds, the merchant's DailyMerchant order count over `days` (as the owner), stamped."""

    def __init__(self, merchant_id: int, days: list[date]):
        super().__init__(daemon=True)
        self.merchant_id, self.days = merchant_id, days
        self.seen: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        from analytics.models import DailyMerchant  # after setup_django(): app modules need Django's apps loaded

        self.sql = (
            f"SELECT coalesce(sum(orders), 0) FROM {DailyMerchant._meta.db_table} "
            "WHERE merchant_id = %s AND day = ANY(%s)"
        )
        self.conn = owner_connect()
        self.conn.autocommit = True

    def count(self) -> int:
        """A look now (only before the thread starts: the connection is the thread's afterwards)."""
        return self.conn.execute(self.sql, [self.merchant_id, self.days]).fetchone()[0]

    def latest(self) -> int:
        return self.seen[-1][1] if self.seen else -1

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                at = time.time()
                self.seen.append((at, self.count()))
                self.stop.wait(POLL)
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def close(self) -> None:
        self.stop.set()
        self.join(10)
        self.conn.close()


class Beat(threading.Thread):
    """`analytics.refresh` published every `interval` seconds, as beat publishes it."""

    def __init__(self, interval: float):
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.sent: list[str] = []  # task ids, for deleting their results afterwards

    def run(self) -> None:
        from config.celery import app  # after setup_django(): config.celery defaults DJANGO_SETTINGS_MODULE

        while not self.stop.wait(self.interval):
            self.sent.append(app.send_task(REFRESH_TASK).id)

    def close(self) -> None:
        self.stop.set()
        self.join(10)


def lags(stamps: list[float], seen: list[tuple[float, int]], baseline: int) -> list[float | None]:
    """Per order (in arrival order), seconds from its arrival to the first look that counted it (the k-th
    order once the count grew by k); None for an order no look counted."""
    ordered = sorted(stamps)
    out: list[float | None] = []
    looks = iter(seen)
    current = next(looks, None)
    for k, stamp in enumerate(ordered, start=1):
        while current is not None and (current[1] - baseline < k or current[0] < stamp):
            current = next(looks, None)
        out.append(None if current is None else current[0] - stamp)
    return out


def refresh_passes(since: datetime) -> list[float]:
    """Seconds taken by the refresh passes that started since `since` and finished."""
    from analytics.models import RefreshPass  # after setup_django(): app modules need Django's apps loaded

    passes = RefreshPass.objects.filter(started_at__gte=since, finished_at__isnull=False)
    return [(p.finished_at - p.started_at).total_seconds() for p in passes]


def wait_until(done, what: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:.0f}s")
        time.sleep(POLL)


def orders_on(merchant, days: list[date]) -> int:
    """The merchant's orders paid on `days` (its time zone), from the orders table."""
    from orders.models import Order  # after setup_django(): app modules need Django's apps loaded

    bounds = day_bounds(merchant, days[0], days[-1])
    return Order.objects.for_merchant(merchant).filter(paid_at__gte=bounds["start"], paid_at__lt=bounds["end"]).count()


def catch_up(merchant, days: list[date]) -> None:
    """The steady state before the measured run, as if the passes had been running all along: the
    merchant's rollups of `days` rebuilt, and a pass recorded LOOKBACK ago that saw every event up to now
    (what `rebuild_rollups` records). The run's passes then rescan from there, as production's would from
    the newest pass at least LOOKBACK old, not from the first event ever (the generated merchants' millions
    of ledger transactions). The other merchants of the bench database are left as they are: nothing
    measures them."""
    from django.utils import timezone  # after setup_django(): app modules need Django's apps loaded

    from analytics import refresh

    started_at, tops = timezone.now(), refresh.current_tops()
    refresh.rebuild_merchant(merchant.pk, date_from=days[0], date_to=days[-1])
    refresh.record_rebuild(tops, started_at - refresh.LOOKBACK)


def measure_lag(fixture: IngestFixture, *, seconds: float, interval: float, log_dir: Path = RESULTS) -> list[dict]:
    """Ingest at LAG_CLIENTS clients without the refresh, then with it running; throughput of both and,
    for the second, every order's lag (see the module docstring)."""
    from config.celery import app  # after setup_django(): config.celery defaults DJANGO_SETTINGS_MODULE
    from merchants.models import Merchant

    merchant = Merchant.objects.get(pk=fixture.merchant_id)
    today = merchant_today(merchant)
    days = [today - timedelta(days=1), today, today + timedelta(days=1)]  # whatever the clock does meanwhile
    prefix = f"bench-analytics-{uuid.uuid4().hex[:10]}-"
    beat = Beat(interval)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # publish as production does
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        with (
            override_settings(TASK_QUEUE_PREFIX=prefix),  # the product's router sends to the prefixed queues
            server(database_url(), log_path=log_dir / "analytics-server.log") as base,
            api_key(fixture.merchant_id) as key,
        ):
            ingest.warm_up(base, key, fixture, 20)
            without = ingest.post_orders(base, key, fixture, LAG_CLIENTS, seconds)
            with worker(database_url=database_url(), prefix=prefix, log=log_dir / "analytics-worker.log") as w:
                poller = Poller(fixture.merchant_id, days)
                try:
                    catch_up(merchant, days)
                    baseline = poller.count()
                    assert baseline == orders_on(merchant, days), (baseline, orders_on(merchant, days))
                    since = datetime.now(UTC)
                    stamps: list[float] = []
                    poller.start()
                    beat.start()
                    try:
                        with_refresh = ingest.post_orders(base, key, fixture, LAG_CLIENTS, seconds, stamps=stamps)
                        wait_until(
                            lambda: poller.latest() >= baseline + len(stamps),
                            f"the rollups did not count the run's {len(stamps)} orders",
                            timeout=4 * interval + 120,
                        )
                    finally:
                        beat.close()
                    assert w.poll() is None, "the worker died"
                finally:
                    poller.close()
            if poller.error is not None:
                raise poller.error
    finally:
        app.conf.task_always_eager = eager
        delete_results(beat.sent)
        delete_redis_keys(prefix)
    per_order = lags(stamps, poller.seen, baseline)
    assert None not in per_order, "some orders were never counted by the rollups"
    passes = refresh_passes(since)
    lag = row(
        f"rollup lag, refresh every {interval:g}s ({len(per_order):,} orders)",
        [x for x in per_order if x is not None],
        None,
        limits=LIMITS["lag"],
    )
    lag["ours"].update(
        interval_s=interval,
        passes=len(passes),
        pass_median_ms=round(statistics.median(passes) * 1000, 1) if passes else None,
        pass_max_ms=round(max(passes) * 1000, 1) if passes else None,
        tasks_sent=len(beat.sent),
    )
    throughput = rate_row(
        f"API order ingest with the rollup refresh running, {LAG_CLIENTS} clients",
        with_refresh,
        without,
        target=TARGETS["ingest"],
    )
    return [throughput, lag]


# --- the benchmark -------------------------------------------------------------------------------------------
def run(scale: str = "small") -> list[dict]:
    size = SCALES[scale]
    merchant = generate.generate(scale)
    started = time.perf_counter()

    def step(name: str) -> None:
        print(f"  {name}: {time.perf_counter() - started:.1f}s", flush=True)

    rows = measure_rebuild(merchant)
    step("rebuild")
    rows += measure_api(merchant, samples=size.samples)
    step("API")
    shape = ingest.SCALES.get(scale, ingest.SCALES["small"])
    fixture = ingest_merchant(shape.distributors, shape.customers, shape.products)
    interval = size.interval or settings.ANALYTICS_REFRESH_SECONDS  # beat's schedule (config/celery.py)
    rows += measure_lag(fixture, seconds=size.lag_seconds, interval=interval)
    step("ingest and rollup lag")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    args = parser.parse_args()
    setup_django()
    rows = run(args.scale)
    report("analytics", rows, {"scale": args.scale})
    for r in rows:
        o = r["ours"]
        if "p99_ms" in o:
            print(f"  {r['scenario']}: ours p50/p95/p99 {o['p50_ms']}/{o['p95_ms']}/{o['p99_ms']} ms", end="")
            if r.get("raw") and "p99_ms" in r["raw"]:
                w = r["raw"]
                print(f"; raw p50/p95/p99 {w['p50_ms']}/{w['p95_ms']}/{w['p99_ms']} ms", end="")
            print()


if __name__ == "__main__":
    main()
