"""What the topic modules share: the program lookup, the base of every view on one distributor (with the
detail body their answers use), the team depth parameter, and `MyApi`, the base of the distributor API
views about the caller (the other apps' distributor endpoints derive from it too)."""

from __future__ import annotations

from django.db.models import F
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from distribution.api.views import DistributorApi, MerchantApi
from distribution.inputs import parse_int
from distributors import selectors
from distributors.api.serializers.distributors import DistributorDetailOutput
from distributors.errors import NotADistributor
from distributors.models import Distributor
from distributors.services import recruitment
from merchants.models import DistributionProgram
from merchants.roles import Perm

MANAGE = Perm.DISTRIBUTORS_MANAGE


def program_of(merchant) -> DistributionProgram:
    return DistributionProgram.objects.for_merchant(merchant).get()


def distributor_detail(distributor: Distributor, program: DistributionProgram) -> dict:
    distributor.upline = selectors.upline(distributor, program.commission_depth)
    distributor.team = selectors.team_counts(distributor)
    distributor.invite_link = recruitment.invite_link(program, distributor)
    distributor.share_link = recruitment.share_link(program, distributor)
    return DistributorDetailOutput(distributor).data


class _DistributorObjectApi(MerchantApi):
    model = Distributor

    def scope_queryset(self, queryset):
        return queryset.select_related("level", "inviter")

    def detail(self, distributor: Distributor, http_status: int = 200, *, reload: bool = True) -> Response:
        """The detail body; after a change the row is read again (`reload`), a plain GET uses the one loaded."""
        if reload:
            distributor = self.get_queryset().get(pk=distributor.pk)
        return Response(distributor_detail(distributor, program_of(self.merchant)), status=http_status)


def relative_depth(queryset, anchor: Distributor):
    return queryset.annotate(relative_depth=F("depth") - anchor.depth).select_related("level")


DEPTH_PARAM = OpenApiParameter("depth", int, description="Only this relative depth (1 = direct recruits).")


def depth_param(request) -> int | None:
    raw = request.query_params.get("depth")
    if raw is None or raw == "":
        return None
    return parse_int(raw, field="depth", minimum=1, maximum=100)


class MyApi(DistributorApi):
    """A distributor-API view about the caller: `me()` is their distributor (404 `not_a_distributor` if none)."""

    def me(self, *, required: bool = True) -> Distributor | None:
        distributor = selectors.distributor_for_user(self.merchant, self.external_user_id)
        if distributor is None and required:
            raise NotADistributor()
        return distributor
