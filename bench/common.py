"""Shared plumbing for the benchmarks: Django set-up on a database of their own, timing, reporting."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def setup_django(database_suffix: str = "_bench") -> None:
    """Point Django at `<DATABASE_URL's database><suffix>` (created and migrated if needed)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + database_suffix
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    import psycopg

    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from distribution import rls

    call_command("migrate", verbosity=0)  # as the owner (DATABASE_URL's role)
    rls.create_app_role(connection, settings.DATABASE_APP_USER, settings.DATABASE_APP_PASSWORD)
    # From here on this process, and the servers and workers it starts, connect as the application's role,
    # held to row-level security as in production. The process itself builds and checks data across
    # merchants, as a platform job does (the bypass); what it measures in-process runs in its merchant.
    connection.close()
    connection.settings_dict.update(USER=settings.DATABASE_APP_USER, PASSWORD=settings.DATABASE_APP_PASSWORD)
    rls.process_bypass()


def database_url(*, owner: bool = False) -> str:
    """The URL of the database Django uses now (the bench's, or a test database): as the role Django
    connects as (the application's), or as the owner (DATABASE_URL's role), for raw baselines and clean-ups."""
    from django.db import connection

    parts = urlsplit(os.environ["DATABASE_URL"])
    settings = connection.settings_dict
    path = "/" + settings["NAME"]
    if owner:
        return urlunsplit(parts._replace(path=path))
    userinfo = quote(settings["USER"]) + (":" + quote(settings["PASSWORD"]) if settings["PASSWORD"] else "")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc.rpartition('@')[2]}", path=path))


def owner_connect():
    """A psycopg connection to the current database as the owner (DATABASE_URL's role: no policies apply)."""
    import psycopg

    return psycopg.connect(_libpq(database_url(owner=True)))


def owner_analyze(*tables: str, vacuum: bool = False) -> None:
    """ANALYZE (or VACUUM ANALYZE) committed data as the tables' owner. The application's role, which the
    bench connects as, owns nothing: PostgreSQL would only warn and skip, and the planner would keep the
    statistics of an empty merchant (a nested loop over a million postings). A table that another session
    keeps locked (a benchmark generating its data in one long transaction) is skipped after a few seconds."""
    import psycopg

    with owner_connect() as conn:
        conn.autocommit = True
        conn.execute("SET statement_timeout = 0")
        conn.execute("SET lock_timeout = '5s'")
        for table in tables:
            try:
                conn.execute(f"{'VACUUM (ANALYZE)' if vacuum else 'ANALYZE'} {table}")
            except psycopg.errors.LockNotAvailable as exc:
                print(f"ANALYZE {table} skipped: {exc}".strip())


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds per call, `repeat` calls after one warm-up."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 3),
        "n": len(ordered),
    }


def machine_facts() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
        facts = {}
        for setting in ("shared_buffers", "work_mem", "effective_cache_size", "max_connections"):
            cursor.execute(f"SHOW {setting}")
            facts[setting] = cursor.fetchone()[0]
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": version.split(",")[0],
        "postgres_settings": facts,
    }


def report(name: str, rows: list[dict], extra: dict | None = None) -> dict:
    """Print a table (ours, raw, ratio: 1.0 would be the raw limit, higher is better) and save JSON.

    A row is a time (`row()`: medians in ms, ratio = raw time / our time) or a rate (`rate_row()`: per
    second, ratio = our rate / raw rate)."""
    print(f"\n{name}")
    print_table(rows)
    result = {
        "benchmark": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_facts(),
        "rows": rows,
        **(extra or {}),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    return result


def print_table(rows: list[dict]) -> None:
    width = max([52, *(len(r["scenario"]) + 2 for r in rows)])
    print(f"{'scenario':<{width}} {'ours':>14} {'raw':>14} {'ratio':>7} {'target':>7}")
    for r in rows:
        ok = "" if not r.get("target") else ("  ok" if r["ratio"] >= r["target"] else "  below target")
        print(
            f"{r['scenario']:<{width}} {_shown(r['ours']):>14} {_shown(r['raw']):>14} {r['ratio']:>7.2f} "
            f"{_target(r):>7}{ok}",
            flush=True,
        )


def _shown(figure: dict) -> str:
    if "per_s" in figure:
        return f"{figure['per_s']:,.1f}/s"
    return f"{figure['median_ms']:,.3f}ms"


def _target(r: dict) -> str:
    return f"≥{r['target']:.3g}" if r.get("target") else ""


def row(scenario: str, ours: list[float], raw: list[float], target: float | None = None) -> dict:
    o, r = summary(ours), summary(raw)
    return {
        "scenario": scenario,
        "ours": o,
        "raw": r,
        "ratio": round(r["median_ms"] / o["median_ms"], 3),
        "target": target,
    }


def rate_row(scenario: str, ours: dict, raw: dict, target: float | None = None) -> dict:
    """Throughput: `ours` and `raw` each hold at least `per_s` (and whatever else was measured, such as
    latency percentiles); the ratio is our rate over the raw one."""
    return {
        "scenario": scenario,
        "ours": ours,
        "raw": raw,
        "ratio": round(ours["per_s"] / raw["per_s"], 3),
        "target": target,
    }


def delete_redis_keys(token: str) -> int:
    """Delete every key, on the broker's and the cache's Redis, whose name contains `token` (a run's own
    queue prefix or key prefix: its queues, kombu's bindings, cache entries); how many were deleted."""
    import redis
    from django.conf import settings

    deleted = 0
    for url in {settings.CELERY_BROKER_URL, settings.REDIS_URL}:
        if not url.startswith("redis"):
            continue
        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match=f"*{token}*", count=1000))
            if keys:
                deleted += client.delete(*keys)
        finally:
            client.close()
    return deleted
