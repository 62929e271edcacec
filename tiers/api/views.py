"""Tier runs (等级升降): the nightly recalculations, and asking for one now."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from merchants.roles import Perm
from tiers import services as tiers
from tiers.api.serializers import TierRunInput, TierRunOutput
from tiers.models import TierRun


@extend_schema(tags=["tiers and risk"])
class TierRunListApi(ListMixin, MerchantApi):
    """Tier recalculations, newest first. They run nightly and after each settlement run; POST asks for
    one now (one runs at a time: while one is pending or running, POST returns it)."""

    model = TierRun
    serializer_class = TierRunOutput
    filterset_fields = ["status", "trigger"]
    required_permissions = {"POST": Perm.PROGRAM_MANAGE}

    def scope_queryset(self, queryset):
        return queryset.order_by("-id")

    @extend_schema(summary="Recalculate levels now", request=TierRunInput, responses={202: TierRunOutput})
    def post(self, request):
        data = self.validate_input(TierRunInput)
        run = tiers.tier_request(merchant=self.merchant, as_of=data.get("as_of"), trigger="manual")
        return Response(
            TierRunOutput(run).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("tier-run-detail", kwargs={"pk": run.pk})},
        )


@extend_schema(tags=["tiers and risk"])
class TierRunDetailApi(RetrieveMixin, MerchantApi):
    model = TierRun
    serializer_class = TierRunOutput
