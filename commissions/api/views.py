from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from commissions import selectors
from commissions.api import serializers as s
from commissions.errors import NotBlacklisted
from commissions.filters import CommissionLineFilter
from commissions.models import CommissionLine
from commissions.services import commission_forfeit
from distribution.api.views import ListMixin, MerchantApi
from distributors.api.serializers.common import ReasonInput
from distributors.api.views.base import MyApi, _DistributorObjectApi
from distributors.models import Distributor
from merchants.roles import Perm


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


@extend_schema(tags=["distributors"])
class DistributorForfeitCommissionApi(_DistributorObjectApi):
    """Forfeit a blacklisted distributor's commission (the merchant's decision on frozen commission):
    every unsettled line is reversed and the available balance goes back to the merchant, ledgered.
    Money already withdrawing or paid out is not touched. Repeating it forfeits nothing more."""

    required_permissions = {"POST": Perm.MONEY_APPROVE}

    @extend_schema(request=ReasonInput, responses={200: s.ForfeitOutput})
    def post(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(ReasonInput)
        if distributor.status != Distributor.Status.BLACKLISTED:
            raise NotBlacklisted()
        result = commission_forfeit(
            merchant=self.merchant, actor=self.actor, distributor_id=distributor.pk, reason=data["reason"]
        )
        return Response(s.ForfeitOutput(result).data)


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
