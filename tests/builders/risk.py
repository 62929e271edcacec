"""Builders shared by the risk tests."""

from risk.models import RiskFlag


def flags(merchant, rule=None):
    qs = RiskFlag.objects.for_merchant(merchant).order_by("id")
    if rule:
        qs = qs.filter(rule=rule)
    return list(qs.values_list("rule", "distributor_id", "evidence", "status"))
