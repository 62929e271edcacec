"""Every benchmark at one scale, one table: `make bench` (small, a few minutes) and `make bench-full`.

    .venv/bin/python bench/run.py --scale small|full [--only tiers,network]

Prints the machine's facts first, then each scenario as it finishes, then one table of all of them
(ours, raw, ratio = how close the product comes to hand-written SQL or the broker's raw rate, target),
and writes everything to bench/results/summary-<scale>.json. Each scenario is described in its own
module and in bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate
from bench.common import RESULTS, machine_facts, print_table, setup_django

SCENARIOS = ["ingest", "settlement", "tiers", "network", "celery_throughput", "analytics"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["tiny", "small", "full"], default="small")
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else SCENARIOS
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    setup_django()
    facts = machine_facts()
    print(f"machine: {json.dumps(facts)}", flush=True)
    started = time.perf_counter()
    merchant = generate.generate(args.scale, verbose=True)
    print(f"data ({args.scale}): merchant {merchant.slug} ready in {time.perf_counter() - started:.1f}s", flush=True)

    rows, failed = [], []
    for name in chosen:
        print(f"\n== {name} ({args.scale})", flush=True)
        started = time.perf_counter()
        try:
            scenario_rows = importlib.import_module(f"bench.{name}").run(args.scale)
        except Exception:  # a scenario that breaks is reported; the others still run
            traceback.print_exc()
            failed.append(name)
            continue
        for row in scenario_rows:
            row["benchmark"] = name
        rows.extend(scenario_rows)
        print_table(scenario_rows)
        print(f"({name} took {time.perf_counter() - started:.0f}s)", flush=True)

    print(f"\nAll benchmarks, scale {args.scale}:")
    print_table(rows)
    result = {"scale": args.scale, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": facts, "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"summary-{args.scale}.json").write_text(json.dumps(result, indent=2))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
