"""The platform API (`/api/platform/v1/`), for platform operators with a platform key: merchants, created
with their first owner's invitation, listed, suspended and reactivated. No merchant credential works here,
and a platform key works nowhere else."""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from distribution import rls
from distribution.api.fields import DateTimeField, IntegerField, SecretField
from distribution.api.pagination import CursorPagination
from distribution.api.validation import validate
from distribution.auth import Actor
from distribution.errors import ValidationFailed
from merchants.api.serializers import MerchantOutput, validate_timezone
from merchants.authentication import PlatformKeyAuthentication
from merchants.models import Merchant
from merchants.services import lifecycle


class IsPlatformOperator(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Actor) and request.auth.kind == "operator"


class MerchantCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=50, help_text="Unique; part of staff logins and invitation names.")
    currency = serializers.ChoiceField(choices=["CNY"], default="CNY")
    timezone = serializers.CharField(max_length=64, default="Asia/Shanghai", validators=[validate_timezone])
    owner_email = serializers.EmailField(help_text="Where to send the first owner's invitation.")


class OwnerInvitationOutput(serializers.Serializer):
    id = IntegerField()
    email = serializers.CharField()
    expires_at = DateTimeField()
    token = SecretField(
        help_text="Send it to the owner: shown once. They accept at POST /api/v1/auth/invitations/accept."
    )


class MerchantCreatedOutput(serializers.Serializer):
    merchant = MerchantOutput()
    owner_invitation = OwnerInvitationOutput()


class MerchantStatusInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PlatformApi(generics.GenericAPIView):
    authentication_classes = [PlatformKeyAuthentication]
    permission_classes = [IsPlatformOperator]
    serializer_class = MerchantOutput
    queryset = Merchant.objects.none()  # for the schema's introspection only; views read what they need

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        rls.process_bypass()  # a platform operation spans merchants (the request's scope ends with it)

    @property
    def actor(self) -> Actor:
        return self.request.auth

    def merchant_or_404(self, pk: int) -> Merchant:
        return generics.get_object_or_404(Merchant.objects.all(), pk=pk)


@extend_schema(tags=["platform"])
class PlatformMerchantListApi(PlatformApi):
    """Every merchant, newest first (`?status=active|suspended`). POST creates one with its program settings
    and invites its first owner: the invitation's token is in the answer, once."""

    pagination_class = CursorPagination

    @extend_schema(
        summary="List merchants", operation_id="platform_merchants_list", responses={200: MerchantOutput(many=True)}
    )
    def get(self, request):
        merchants = Merchant.objects.all()
        status = request.query_params.get("status")
        if status is not None:
            if status not in Merchant.Status.values:
                raise ValidationFailed(fields={"status": [f"One of {', '.join(Merchant.Status.values)}."]})
            merchants = merchants.filter(status=status)
        page = self.paginate_queryset(merchants)
        return self.get_paginated_response(MerchantOutput(page, many=True).data)

    @extend_schema(summary="Create a merchant", request=MerchantCreateInput, responses={201: MerchantCreatedOutput})
    def post(self, request):
        data = validate(MerchantCreateInput, request.data, context={})
        merchant, invitation, token = lifecycle.merchant_create_inviting_owner(
            name=data["name"],
            slug=data["slug"],
            owner_email=data["owner_email"],
            currency=data["currency"],
            timezone_name=data["timezone"],
            actor=self.actor,
        )
        body = {
            "merchant": merchant,
            "owner_invitation": {
                "id": invitation.pk,
                "email": invitation.email,
                "expires_at": invitation.expires_at,
                "token": token,
            },
        }
        return Response(MerchantCreatedOutput(body).data, status=201)


@extend_schema(tags=["platform"])
class PlatformMerchantDetailApi(PlatformApi):
    @extend_schema(summary="A merchant")
    def get(self, request, pk):
        return Response(MerchantOutput(self.merchant_or_404(pk)).data)


class _PlatformMerchantStatusApi(PlatformApi):
    target_status: ClassVar[str]

    @extend_schema(request=MerchantStatusInput, responses={200: MerchantOutput})
    def post(self, request, pk):
        validate(MerchantStatusInput, request.data or {}, context={})
        merchant = self.merchant_or_404(pk)
        merchant = lifecycle.merchant_set_status(merchant=merchant, actor=self.actor, status=self.target_status)
        return Response(MerchantOutput(merchant).data)


@extend_schema(tags=["platform"])
class PlatformMerchantSuspendApi(_PlatformMerchantStatusApi):
    """Every credential of the merchant stops working (403 `merchant_suspended`) until it is reactivated;
    nothing is deleted, and scheduled settlement pauses."""

    target_status = Merchant.Status.SUSPENDED


@extend_schema(tags=["platform"])
class PlatformMerchantReactivateApi(_PlatformMerchantStatusApi):
    """The merchant's credentials work again."""

    target_status = Merchant.Status.ACTIVE
