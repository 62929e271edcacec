from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from merchants.roles import Perm
from risk import services
from risk.api import serializers as s
from risk.models import RiskFlag


@extend_schema(tags=["tiers and risk"])
class RiskFlagListApi(ListMixin, MerchantApi):
    """Risk flags raised by the checks, newest first, with their evidence."""

    model = RiskFlag
    serializer_class = s.RiskFlagOutput
    filterset_fields = ["rule", "status", "distributor"]


@extend_schema(tags=["tiers and risk"])
class RiskFlagDetailApi(RetrieveMixin, MerchantApi):
    model = RiskFlag
    serializer_class = s.RiskFlagOutput


@extend_schema(tags=["tiers and risk"])
class RiskFlagReviewApi(MerchantApi):
    """Review a flag: accept it, dismiss it, or blacklist the distributor it names."""

    model = RiskFlag
    required_permissions = {"POST": Perm.DISTRIBUTORS_MANAGE}

    @extend_schema(request=s.ReviewInput, responses={200: s.RiskFlagOutput})
    def post(self, request, pk):
        flag = self.get_object()
        data = self.validate_input(s.ReviewInput)
        flag = services.flag_review(merchant=self.merchant, actor=self.actor, flag_id=flag.pk, **data)
        return Response(s.RiskFlagOutput(flag).data)
