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
from urllib.parse import urlsplit, urlunsplit

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
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


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
    """Print a table (ours, raw, ratio = raw time / our time; 1.0 would be the raw limit) and save JSON."""
    print(f"\n{name}")
    print(f"{'scenario':<44} {'ours (ms)':>11} {'raw (ms)':>10} {'ratio':>7} {'target':>7}")
    for row in rows:
        print(
            f"{row['scenario']:<44} {row['ours']['median_ms']:>11.3f} {row['raw']['median_ms']:>10.3f} "
            f"{row['ratio']:>7.2f} {row.get('target') or '':>7}"
        )
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


def row(scenario: str, ours: list[float], raw: list[float], target: float | None = None) -> dict:
    o, r = summary(ours), summary(raw)
    return {
        "scenario": scenario,
        "ours": o,
        "raw": r,
        "ratio": round(r["median_ms"] / o["median_ms"], 3),
        "target": target,
    }
