"""Distributor tokens: the merchant's server issues them for its app users, and revokes them."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from distributors.api.serializers.tokens import (
    DistributorTokenCreatedOutput,
    DistributorTokenIssueInput,
    DistributorTokenOutput,
    RevokeUserInput,
    RevokeUserOutput,
)
from distributors.models import DistributorToken
from distributors.services import tokens as token_services
from merchants.roles import Perm


@extend_schema(tags=["distributors"])
class DistributorTokenListApi(ListMixin, MerchantApi):
    """Tokens for the merchant's app users. The merchant's server authenticates the person itself,
    then asks for a token that the app sends as `Authorization: Bearer <token>`."""

    model = DistributorToken
    serializer_class = DistributorTokenOutput
    required_permissions = {"POST": Perm.TOKENS_ISSUE}
    filterset_fields = ["external_user_id", "revoked"]

    @extend_schema(
        request=DistributorTokenIssueInput,
        responses={201: DistributorTokenCreatedOutput},
        examples=[OpenApiExample("An app user", request_only=True, value={"external_user_id": "wx-alice"})],
    )
    def post(self, request):
        data = self.validate_input(DistributorTokenIssueInput)
        token, key = token_services.distributor_token_issue(
            merchant=self.merchant,
            actor=self.actor,
            external_user_id=data["external_user_id"],
            ttl_seconds=data.get("ttl_seconds"),
        )
        token.token = key
        return Response(DistributorTokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class _DistributorTokenObjectApi(MerchantApi):
    model = DistributorToken
    serializer_class = DistributorTokenOutput
    lookup_field = "prefix"


@extend_schema(tags=["distributors"])
class DistributorTokenDetailApi(RetrieveMixin, _DistributorTokenObjectApi):
    pass


@extend_schema(tags=["distributors"])
class DistributorTokenRevokeApi(_DistributorTokenObjectApi):
    required_permissions = {"POST": Perm.TOKENS_ISSUE}

    @extend_schema(request=None, responses={200: DistributorTokenOutput})
    def post(self, request, prefix):
        token = token_services.distributor_token_revoke(
            merchant=self.merchant, actor=self.actor, token_id=self.get_object().pk
        )
        return Response(DistributorTokenOutput(token).data)


@extend_schema(tags=["distributors"])
class DistributorTokenRevokeUserApi(MerchantApi):
    """Sign one app user out everywhere."""

    required_permissions = {"POST": Perm.TOKENS_ISSUE}

    @extend_schema(request=RevokeUserInput, responses={200: RevokeUserOutput})
    def post(self, request):
        data = self.validate_input(RevokeUserInput)
        count = token_services.distributor_tokens_revoke_user(
            merchant=self.merchant, actor=self.actor, external_user_id=data["external_user_id"]
        )
        return Response({"revoked": count})
