from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from commissions import selectors
from commissions.api import serializers as s
from commissions.models import CommissionLine
from distribution.api.filters import DateTimeFilter, FilterSet
from distribution.api.views import ListMixin, MerchantApi
from distributors.api.views.base import MyApi


class CommissionLineFilter(FilterSet):
    order = django_filters.CharFilter(field_name="order__external_id", help_text="The order's external id.")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    unlock_before = DateTimeFilter(field_name="unlock_at", lookup_expr="lt")

    class Meta:
        model = CommissionLine
        fields = ["beneficiary", "status", "kind", "depth", "rate_source"]


def _lines(queryset):
    return queryset.select_related("order", "order_item", "beneficiary")


def _totals(merchant, queryset) -> dict:
    return {
        "currency": merchant.currency,
        "by_status": selectors.totals_by_status(queryset),
        "net": selectors.net_total(queryset),
    }


@extend_schema(tags=["commissions"])
class CommissionLineListApi(ListMixin, MerchantApi):
    """Commission lines (佣金明细), newest first; filter by distributor (`beneficiary`), status, date."""

    model = CommissionLine
    serializer_class = s.CommissionLineOutput
    filterset_class = CommissionLineFilter

    def scope_queryset(self, queryset):
        return _lines(queryset)


@extend_schema(tags=["commissions"])
class CommissionTotalsApi(MerchantApi):
    """Totals by status over the same filters as the list."""

    model = CommissionLine
    filterset_class = CommissionLineFilter

    @extend_schema(responses={200: s.TotalsOutput})
    def get(self, request):
        lines = self.filter_queryset(self.get_queryset())
        return Response(s.TotalsOutput(_totals(self.merchant, lines), context=self.get_serializer_context()).data)


class _MyLinesApi(MyApi):
    model = CommissionLine
    filterset_class = CommissionLineFilter

    def scope_queryset(self, queryset):
        return _lines(queryset.filter(beneficiary=self.me()))


@extend_schema(tags=["distributor API"])
class MyCommissionLineListApi(ListMixin, _MyLinesApi):
    """My commission lines with their status and expected unlock date."""

    serializer_class = s.MyCommissionLineOutput


@extend_schema(tags=["distributor API"])
class MyCommissionTotalsApi(_MyLinesApi):
    """My totals by status (pending, confirmed = unlocking, settled, reversed, clawback)."""

    @extend_schema(responses={200: s.TotalsOutput})
    def get(self, request):
        lines = self.filter_queryset(self.get_queryset())
        return Response(s.TotalsOutput(_totals(self.merchant, lines), context=self.get_serializer_context()).data)
