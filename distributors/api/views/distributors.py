"""Distributors for the merchant: the list, one distributor's detail, team and customers, and the
lifecycle actions on them (freeze, remove, set the level, change the inviter, record the identity)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from distribution.api.views import ListMixin, MerchantApi, ObjectActionApi
from distributors import selectors
from distributors.api.serializers.bindings import BindingOutput
from distributors.api.serializers.common import OptionalReasonInput, ReasonInput
from distributors.api.serializers.distributors import (
    ChangeInviterInput,
    DistributorDetailOutput,
    DistributorOutput,
    MerchantIdentityInput,
    RemoveInput,
    SetLevelInput,
    TeamMemberOutput,
)
from distributors.api.serializers.levels import LevelChangeOutput
from distributors.api.views.base import DEPTH_PARAM, MANAGE, _DistributorObjectApi, depth_param, relative_depth
from distributors.filters import DistributorFilter
from distributors.models import Distributor, LevelChange
from distributors.services import bindings, identity, lifecycle


@extend_schema(tags=["distributors"])
class DistributorListApi(ListMixin, MerchantApi):
    model = Distributor
    serializer_class = DistributorOutput
    filterset_class = DistributorFilter

    def scope_queryset(self, queryset):
        return queryset.select_related("level", "inviter")


@extend_schema(tags=["distributors"])
class DistributorDetailApi(_DistributorObjectApi):
    """A distributor with their upline (up to the program's depth) and team counts."""

    @extend_schema(responses={200: DistributorDetailOutput})
    def get(self, request, pk):
        return self.detail(self.get_object(), reload=False)


class _DistributorActionApi(ObjectActionApi, _DistributorObjectApi):
    """A lifecycle service on one distributor; the answer is the distributor's detail."""

    required_permissions = {"POST": MANAGE}
    object_argument = "distributor_id"

    def answer(self, obj, result):
        return self.detail(obj)


def _action_schema(input_class):
    return extend_schema_view(
        post=extend_schema(request=input_class, responses={200: DistributorDetailOutput}, tags=["distributors"])
    )


@_action_schema(ReasonInput)
class DistributorFreezeApi(_DistributorActionApi):
    """Freeze: the distributor keeps their team and customers but earns nothing new."""

    service = staticmethod(lifecycle.distributor_freeze)
    input_class = ReasonInput


@_action_schema(OptionalReasonInput)
class DistributorUnfreezeApi(_DistributorActionApi):
    """Unfreeze a frozen distributor."""

    service = staticmethod(lifecycle.distributor_unfreeze)
    input_class = OptionalReasonInput


@_action_schema(ReasonInput)
class DistributorReactivateApi(_DistributorActionApi):
    """Bring a blacklisted distributor back by hand (refused while a live blacklist entry matches them)."""

    service = staticmethod(lifecycle.distributor_reactivate)
    input_class = ReasonInput


@_action_schema(RemoveInput)
class DistributorRemoveApi(_DistributorActionApi):
    """清退: remove for good; customers are released or handed to the inviter."""

    service = staticmethod(lifecycle.distributor_remove)
    input_class = RemoveInput

    def arguments(self, data: dict) -> dict:
        return {"customers": data["customers"]}


@extend_schema(tags=["distributors"])
class DistributorSetLevelApi(_DistributorObjectApi):
    """Set the level by hand; `lock` keeps the automatic recalculation from changing it."""

    required_permissions = {"POST": MANAGE}

    @extend_schema(request=SetLevelInput, responses={200: DistributorDetailOutput})
    def post(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(SetLevelInput)
        lifecycle.distributor_set_level(
            merchant=self.merchant,
            actor=self.actor,
            distributor_id=distributor.pk,
            level_id=data["level"].pk,
            lock=data["lock"],
            reason=data["reason"],
        )
        return self.detail(distributor)


@extend_schema(tags=["distributors"])
class DistributorLevelHistoryApi(ListMixin, _DistributorObjectApi):
    """A distributor's level history, newest first: every change, who or which tier run made it, and the
    metrics that decided it."""

    serializer_class = LevelChangeOutput

    def list(self, request, *args, **kwargs):
        distributor = self.get_object()
        history = (
            LevelChange.objects.for_merchant(self.merchant)
            .filter(distributor=distributor)
            .select_related("old_level", "new_level")
            .order_by("-id")
        )
        page = self.paginate_queryset(history)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["distributors"])
class DistributorChangeInviterApi(_DistributorObjectApi):
    """换上级: move the distributor and their whole team under another inviter (or to the top)."""

    required_permissions = {"POST": MANAGE}

    @extend_schema(request=ChangeInviterInput, responses={200: DistributorDetailOutput})
    def post(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(ChangeInviterInput)
        lifecycle.distributor_change_inviter(
            merchant=self.merchant,
            actor=self.actor,
            distributor_id=distributor.pk,
            inviter_id=data["inviter"].pk if data["inviter"] else None,
            reason=data["reason"],
        )
        return self.detail(distributor)


@extend_schema(tags=["distributors"])
class DistributorIdentityApi(_DistributorObjectApi):
    """The merchant's server records a distributor's real-name identity (verified by the merchant)."""

    required_permissions = {"PUT": MANAGE}

    @extend_schema(request=MerchantIdentityInput, responses={200: DistributorDetailOutput})
    def put(self, request, pk):
        distributor = self.get_object()
        data = self.validate_input(MerchantIdentityInput)
        identity.distributor_identity_submit(
            merchant=self.merchant,
            actor=self.actor,
            distributor_id=distributor.pk,
            real_name=data["real_name"],
            id_type=data["id_type"],
            id_number=data["id_number"],
            verified=data["verified"],
        )
        return self.detail(distributor)


@extend_schema(tags=["distributors"])
class DistributorIdentityVerifyApi(_DistributorObjectApi):
    """Mark the identity a distributor submitted as verified."""

    required_permissions = {"POST": MANAGE}

    @extend_schema(request=None, responses={200: DistributorDetailOutput})
    def post(self, request, pk):
        distributor = self.get_object()
        identity.distributor_identity_verify(merchant=self.merchant, actor=self.actor, distributor_id=distributor.pk)
        return self.detail(distributor)


@extend_schema(tags=["distributors"], parameters=[DEPTH_PARAM])
class DistributorTeamApi(ListMixin, _DistributorObjectApi):
    """A distributor's team (direct and indirect recruits), newest first."""

    serializer_class = TeamMemberOutput

    def list(self, request, *args, **kwargs):
        anchor = self.get_object()
        team = relative_depth(selectors.team(anchor, depth=depth_param(request)), anchor)
        page = self.paginate_queryset(team)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["distributors"])
class DistributorCustomersApi(ListMixin, _DistributorObjectApi):
    """The customers bound to a distributor now."""

    serializer_class = BindingOutput

    def list(self, request, *args, **kwargs):
        distributor = self.get_object()
        live = bindings.live_bindings(self.merchant).filter(distributor=distributor).select_related("distributor")
        page = self.paginate_queryset(live)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
