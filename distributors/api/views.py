from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from distribution.api.views import DistributorApi, ListMixin, MerchantApi, RetrieveMixin
from distributors import services
from distributors.api import serializers as s
from distributors.models import DistributorToken
from merchants.roles import Perm


@extend_schema(tags=["distributor tokens"])
class DistributorTokenListApi(ListMixin, MerchantApi):
    """Tokens for the merchant's app users. The merchant's server authenticates the person itself,
    then asks for a token that the app sends as `Authorization: Bearer <token>`."""

    model = DistributorToken
    serializer_class = s.DistributorTokenOutput
    required_permissions = {"POST": Perm.TOKENS_ISSUE}
    filterset_fields = ["external_user_id", "revoked"]

    @extend_schema(
        request=s.DistributorTokenIssueInput,
        responses={201: s.DistributorTokenCreatedOutput},
    )
    def post(self, request):
        data = self.validate_input(s.DistributorTokenIssueInput)
        token, key = services.distributor_token_issue(
            merchant=self.merchant,
            actor=self.actor,
            external_user_id=data["external_user_id"],
            ttl_seconds=data.get("ttl_seconds"),
        )
        token.token = key
        return Response(s.DistributorTokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class _DistributorTokenObjectApi(MerchantApi):
    model = DistributorToken
    serializer_class = s.DistributorTokenOutput
    lookup_field = "prefix"


@extend_schema(tags=["distributor tokens"])
class DistributorTokenDetailApi(RetrieveMixin, _DistributorTokenObjectApi):
    pass


class DistributorTokenRevokeApi(_DistributorTokenObjectApi):
    required_permissions = {"POST": Perm.TOKENS_ISSUE}

    @extend_schema(request=None, responses={200: s.DistributorTokenOutput}, tags=["distributor tokens"])
    def post(self, request, prefix):
        token = services.distributor_token_revoke(
            merchant=self.merchant, actor=self.actor, token_id=self.get_object().pk
        )
        return Response(s.DistributorTokenOutput(token).data)


class DistributorTokenRevokeUserApi(MerchantApi):
    """Sign one app user out everywhere."""

    required_permissions = {"POST": Perm.TOKENS_ISSUE}

    @extend_schema(request=s.RevokeUserInput, responses={200: s.RevokeUserOutput}, tags=["distributor tokens"])
    def post(self, request):
        data = self.validate_input(s.RevokeUserInput)
        count = services.distributor_tokens_revoke_user(
            merchant=self.merchant, actor=self.actor, external_user_id=data["external_user_id"]
        )
        return Response({"revoked": count})


# --- the distributor's own API ---------------------------------------------------------------------
class DistributorMeApi(DistributorApi):
    """The calling app user, as this merchant's distribution program sees them."""

    @extend_schema(responses={200: s.DistributorMeOutput}, tags=["distributor"])
    def get(self, request):
        return Response(
            s.DistributorMeOutput({"external_user_id": self.external_user_id, "merchant": self.merchant}).data
        )
