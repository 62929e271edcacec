"""The commission line list's filters, shared by the lists (commissions/api) and their export (exports/)."""

from __future__ import annotations

import django_filters

from commissions.models import CommissionLine
from distribution.api.filters import DateTimeFilter, FilterSet


class CommissionLineFilter(FilterSet):
    order = django_filters.CharFilter(field_name="order__external_id", help_text="The order's external id.")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    unlock_before = DateTimeFilter(field_name="unlock_at", lookup_expr="lt")

    class Meta:
        model = CommissionLine
        fields = ["beneficiary", "status", "kind", "depth", "rate_source"]
