"""Reads of commission lines: what is due, lists and totals by status."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, QuerySet, Sum

from commissions.models import LINE_STATES, CommissionLine
from distribution.tenancy import TenantQuerySet
from distributors.models import Distributor

L = CommissionLine
# the one state a line settles from (confirmed); unpacking fails at import if the machine changes
(SETTLES_FROM,) = LINE_STATES.sources(L.Status.SETTLED)


def due_lines(merchant_id: int, as_of: datetime) -> TenantQuerySet[CommissionLine]:
    """Lines a settlement run as of `as_of` settles: commission lines that may settle (confirmed) whose
    after-sales window ended by then, except a blacklisted distributor's (held until the merchant decides).
    The one definition of "due": a run's totals and its chunks start from it."""
    held = Distributor.objects.for_merchant(merchant_id).filter(status=Distributor.Status.BLACKLISTED).values("pk")
    return (
        L.objects.for_merchant(merchant_id)
        .filter(status=SETTLES_FROM, kind=L.Kind.COMMISSION, unlock_at__lte=as_of)
        .exclude(beneficiary__in=held)
    )


def totals_by_status(lines: QuerySet[CommissionLine]) -> dict[str, dict[str, int]]:
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


def net_total(lines: QuerySet[CommissionLine]) -> int:
    return lines.aggregate(net=Sum(F("amount") - F("reversed_amount")))["net"] or 0
