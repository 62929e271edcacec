"""The distributor's own API (`/api/v1/distributor/`): the caller's status, application, invite links,
team, customers, identity, agreement and level history."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from distribution.api.views import ListMixin
from distribution.errors import NotFound
from distributors import selectors
from distributors.api.serializers.applications import ApplicationOutput, ApplyInput
from distributors.api.serializers.distributors import DistributorOutput, IdentityInput, TeamMemberOutput
from distributors.api.serializers.levels import LevelChangeOutput
from distributors.api.serializers.me import DistributorMeOutput, InviteOutput, MyCustomerOutput
from distributors.api.serializers.recruitment import AcceptAgreementInput, AgreementSerializer
from distributors.api.views.base import DEPTH_PARAM, MyApi, depth_param, program_of, relative_depth
from distributors.errors import AgreementNotCurrent
from distributors.models import Application, CustomerBinding, Distributor, LevelChange
from distributors.services import applications, bindings, identity, recruitment
from tiers.progress import level_progress


@extend_schema(tags=["distributor API"])
class DistributorMeApi(MyApi):
    """The calling app user as the program sees them: status, level, team and progress to the next level."""

    @extend_schema(responses={200: DistributorMeOutput})
    def get(self, request):
        distributor = self.me(required=False)
        body = {
            "external_user_id": self.external_user_id,
            "merchant": self.merchant,
            "status": distributor.status if distributor else "none",
            "distributor": distributor,
            "team": selectors.team_counts(distributor) if distributor else None,
            "progress": level_progress(distributor) if distributor else None,
        }
        return Response(DistributorMeOutput(body, context=self.get_serializer_context()).data)


@extend_schema(tags=["distributor API"])
class DistributorApplyApi(MyApi):
    """Apply to become a distributor (under the inviter whose code you were given)."""

    @extend_schema(
        request=ApplyInput,
        responses={201: ApplicationOutput},
        examples=[
            OpenApiExample(
                "Invited by another distributor",
                request_only=True,
                value={"display_name": "Bob", "invite_code": "K7Q2M9", "agreement_version": "2026-01"},
            )
        ],
    )
    def post(self, request):
        data = self.validate_input(ApplyInput)
        application = applications.application_submit(
            merchant=self.merchant,
            actor=self.actor,
            external_user_id=self.external_user_id,
            channel=Application.Channel.APP,
            **data,
        )
        application = (
            Application.objects.for_merchant(self.merchant)
            .select_related("distributor", "inviter", "entry", "agreement")
            .get(pk=application.pk)
        )
        return Response(ApplicationOutput(application).data, status=201)


@extend_schema(tags=["distributor API"])
class DistributorInviteApi(MyApi):
    """My invite code and links (for posters and sharing)."""

    @extend_schema(responses={200: InviteOutput})
    def get(self, request):
        distributor = self.me()
        program = program_of(self.merchant)
        return Response(
            {
                "invite_code": distributor.invite_code,
                "invite_link": recruitment.invite_link(program, distributor),
                "share_link": recruitment.share_link(program, distributor),
            }
        )


@extend_schema(tags=["distributor API"], parameters=[DEPTH_PARAM])
class DistributorMyTeamApi(ListMixin, MyApi):
    """My team: direct recruits (depth=1) and theirs, newest first."""

    serializer_class = TeamMemberOutput
    model = Distributor

    def list(self, request, *args, **kwargs):
        me = self.me()
        team = relative_depth(selectors.team(me, depth=depth_param(request)), me)
        page = self.paginate_queryset(team)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["distributor API"])
class DistributorMyCustomersApi(ListMixin, MyApi):
    """Customers bound to me now (their ids masked)."""

    serializer_class = MyCustomerOutput
    model = CustomerBinding

    def list(self, request, *args, **kwargs):
        me = self.me()
        page = self.paginate_queryset(bindings.live_bindings(self.merchant).filter(distributor=me))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["distributor API"])
class DistributorMyIdentityApi(MyApi):
    """Submit my real name and ID number (stored encrypted; the merchant verifies them)."""

    @extend_schema(request=IdentityInput, responses={200: DistributorOutput})
    def post(self, request):
        me = self.me()
        data = self.validate_input(IdentityInput)
        distributor = identity.distributor_identity_submit(
            merchant=self.merchant, actor=self.actor, distributor_id=me.pk, verified=False, **data
        )
        return Response(DistributorOutput(distributor).data)


@extend_schema(tags=["distributor API"])
class DistributorAgreementApi(MyApi):
    """The current agreement; POST accepts a version of it."""

    @extend_schema(responses={200: AgreementSerializer})
    def get(self, request):
        agreement = recruitment.current_agreement(self.merchant)
        if agreement is None:
            raise NotFound("This merchant has no distributor agreement.")
        return Response(AgreementSerializer(agreement).data)

    @extend_schema(request=AcceptAgreementInput, responses={200: AgreementSerializer})
    def post(self, request):
        me = self.me()
        data = self.validate_input(AcceptAgreementInput)
        agreement = recruitment.current_agreement(self.merchant)
        if agreement is None or agreement.version != data["version"]:
            raise AgreementNotCurrent(fields={"version": ["Not the current version."]})
        recruitment.agreement_accept(merchant=self.merchant, distributor=me, agreement=agreement)
        return Response(AgreementSerializer(agreement).data)


@extend_schema(tags=["distributor API"])
class DistributorMyLevelHistoryApi(ListMixin, MyApi):
    """My level history, newest first (upgrades, downgrades and the merchant's changes)."""

    model = LevelChange
    serializer_class = LevelChangeOutput

    def list(self, request, *args, **kwargs):
        distributor = self.me()
        history = self.get_queryset().filter(distributor=distributor).select_related("old_level", "new_level")
        page = self.paginate_queryset(history.order_by("-id"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
