"""Applications for the merchant: the list, applying on a person's behalf, approving and rejecting."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from distributors.api.serializers.applications import ApplicationOutput, ServerApplyInput
from distributors.api.serializers.common import OptionalReasonInput, ReasonInput
from distributors.api.views.base import MANAGE
from distributors.models import Application
from distributors.services import applications


@extend_schema(tags=["recruitment"])
class ApplicationListApi(ListMixin, MerchantApi):
    """Applications, newest first. POST applies on a person's behalf (the merchant's server)."""

    model = Application
    serializer_class = ApplicationOutput
    filterset_fields = ["status", "channel", "entry", "inviter"]
    required_permissions = {"POST": MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor", "inviter", "entry", "agreement")

    @extend_schema(request=ServerApplyInput, responses={201: ApplicationOutput})
    def post(self, request):
        data = self.validate_input(ServerApplyInput)
        application = applications.application_submit(
            merchant=self.merchant, actor=self.actor, channel=Application.Channel.SERVER, **data
        )
        return Response(ApplicationOutput(self.get_queryset().get(pk=application.pk)).data, status=201)


class _ApplicationObjectApi(MerchantApi):
    model = Application
    serializer_class = ApplicationOutput

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor", "inviter", "entry", "agreement")


@extend_schema(tags=["recruitment"])
class ApplicationDetailApi(RetrieveMixin, _ApplicationObjectApi):
    pass


@extend_schema(tags=["recruitment"])
class ApplicationApproveApi(_ApplicationObjectApi):
    required_permissions = {"POST": MANAGE}

    @extend_schema(request=OptionalReasonInput, responses={200: ApplicationOutput})
    def post(self, request, pk):
        application = self.get_object()
        data = self.validate_input(OptionalReasonInput)
        applications.application_approve(
            merchant=self.merchant, actor=self.actor, application_id=application.pk, reason=data["reason"]
        )
        return Response(ApplicationOutput(self.get_queryset().get(pk=application.pk)).data)


@extend_schema(tags=["recruitment"])
class ApplicationRejectApi(_ApplicationObjectApi):
    required_permissions = {"POST": MANAGE}

    @extend_schema(request=ReasonInput, responses={200: ApplicationOutput})
    def post(self, request, pk):
        application = self.get_object()
        data = self.validate_input(ReasonInput)
        applications.application_reject(
            merchant=self.merchant, actor=self.actor, application_id=application.pk, reason=data["reason"]
        )
        return Response(ApplicationOutput(self.get_queryset().get(pk=application.pk)).data)
