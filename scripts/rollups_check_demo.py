#!/usr/bin/env python
"""CI's figures check on real commands: on a scratch database (<DATABASE_URL db>_rollupcheck), migrate, load
the demo (orders over months, refunds on later days, completions), settle the demo merchant, let the refresh
pass bring the rollups up to date incrementally, and run `check_rollups`. Exits non-zero on any difference."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from bench.common import setup_django

    setup_django("_rollupcheck")
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from analytics.refresh import refresh_pass
    from distribution import rls

    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))
    call_command("settle", merchant="demo")
    with rls.bypass():
        refresh_pass()  # the settlement's ledger transactions touch the demo's pay days
    try:
        call_command("check_rollups")
    except CommandError as exc:
        print(f"check_rollups failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
