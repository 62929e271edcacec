"""The distributor list's filters, shared by the list (distributors/api) and its export (exports/)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from distribution.api.filters import DateTimeFilter, FilterSet
from distributors.models import Distributor


class DistributorFilter(FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Name, invite code or app user id contains.")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Distributor
        fields = ["status", "level", "inviter", "depth", "level_locked", "external_user_id"]

    def search(self, queryset: QuerySet[Distributor], name: str, value: str) -> QuerySet[Distributor]:
        return queryset.filter(
            Q(display_name__icontains=value) | Q(invite_code__iexact=value) | Q(external_user_id__icontains=value)
        )
