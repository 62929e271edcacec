#!/usr/bin/env python
"""CI's money check on real commands: on a scratch database (<DATABASE_URL db>_ledgercheck), migrate,
load the demo (orders, refunds, completions), settle the demo merchant, and run `check_ledger`.
Exits non-zero if any ledger invariant is broken."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from bench.common import setup_django

    setup_django("_ledgercheck")
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))
    call_command("settle", merchant="demo")
    try:
        call_command("check_ledger")
    except CommandError as exc:
        print(f"check_ledger failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
