"""Reads of commission lines: lists and totals by status."""

from __future__ import annotations

from django.db.models import Count, F, Sum

from commissions.models import CommissionLine

L = CommissionLine


def totals_by_status(lines) -> dict[str, dict[str, int]]:
    """For a (filtered) queryset of lines: per status, how many, earned, reversed and net (minor units).

    Clawback lines count in their own bucket; `net` over everything is what the beneficiaries keep."""
    rows = lines.values("kind", "status").annotate(
        count=Count("id"),
        amount=Sum("amount"),
        reversed=Sum("reversed_amount"),
    )
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        key = "clawback" if row["kind"] == L.Kind.CLAWBACK else row["status"]
        bucket = out.setdefault(key, {"count": 0, "amount": 0, "reversed": 0, "net": 0})
        bucket["count"] += row["count"]
        bucket["amount"] += row["amount"] or 0
        bucket["reversed"] += row["reversed"] or 0
        bucket["net"] = bucket["amount"] - bucket["reversed"]
    return out


def net_total(lines) -> int:
    return lines.aggregate(net=Sum(F("amount") - F("reversed_amount")))["net"] or 0
