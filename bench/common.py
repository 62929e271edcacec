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
    """Median and percentiles in ms of samples in seconds (nearest rank: the sample at or below which
    that share of the samples falls, so p99 of fewer than 100 samples is the largest)."""
    ordered = sorted(samples)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 3)

    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1] * 1000, 3),
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
        verdict = meets_target(r)
        ok = "" if verdict is None else ("  ok" if verdict else "  below target")
        raw = _shown(r["raw"]) if r.get("raw") else "-"
        ratio = f"{r['ratio']:>7.2f}" if r.get("ratio") is not None else f"{'-':>7}"
        print(f"{r['scenario']:<{width}} {_shown(r['ours']):>14} {raw:>14} {ratio} {_target(r):>7}{ok}", flush=True)


def meets_target(r: dict) -> bool | None:
    """Whether a row meets its target (the ratio's minimum and every absolute limit); None without one."""
    checks = [r["ratio"] >= r["target"]] if r.get("target") else []
    checks += [r["ours"][key] <= bound for key, bound in (r.get("limits") or {}).items()]
    return all(checks) if checks else None


def _shown(figure: dict) -> str:
    if "per_s" in figure:
        return f"{figure['per_s']:,.1f}/s"
    return f"{figure['median_ms']:,.3f}ms"


def _target(r: dict) -> str:
    parts = [f"≥{r['target']:.3g}"] if r.get("target") else []
    parts += [f"{key.removesuffix('_ms')}≤{bound:,.0f}ms" for key, bound in (r.get("limits") or {}).items()]
    return " ".join(parts)


def row(
    scenario: str,
    ours: list[float],
    raw: list[float] | None,
    target: float | None = None,
    limits: dict[str, float] | None = None,
) -> dict:
    """Timings in seconds: ratio = raw median ÷ our median. `limits` are absolute bounds on our figures
    (`{"p95_ms": 100}`: our p95 at most 100 ms); a row without a raw side (`raw=None`) has no ratio and
    is judged by its limits alone."""
    o = summary(ours)
    r = summary(raw) if raw is not None else None
    out = {
        "scenario": scenario,
        "ours": o,
        "raw": r,
        "ratio": round(r["median_ms"] / o["median_ms"], 3) if r is not None else None,
        "target": target,
    }
    if limits:
        out["limits"] = limits
    return out


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
