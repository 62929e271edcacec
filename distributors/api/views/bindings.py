"""Customer bindings (客户关系): the list, one customer's bindings, visits that bind, transfers."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from distribution.api.filters import DateTimeFilter, FilterSet
from distribution.api.views import ListMixin, MerchantApi
from distribution.errors import NotFound
from distributors.api.serializers.bindings import (
    BindingOutput,
    CustomerBindingOutput,
    TransferInput,
    TransferOutput,
    VisitInput,
    VisitOutput,
)
from distributors.api.views.base import MANAGE
from distributors.models import CustomerBinding
from distributors.services import bindings
from merchants.roles import Perm


class BindingFilter(FilterSet):
    bound_after = DateTimeFilter(field_name="bound_at", lookup_expr="gte")
    bound_before = DateTimeFilter(field_name="bound_at", lookup_expr="lt")

    class Meta:
        model = CustomerBinding
        fields = ["customer_external_id", "distributor", "status", "source", "end_reason"]


@extend_schema(tags=["customers"])
class BindingListApi(ListMixin, MerchantApi):
    """Customer bindings (客户关系), current and past, newest first."""

    model = CustomerBinding
    serializer_class = BindingOutput
    filterset_class = BindingFilter

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor")


@extend_schema(tags=["customers"])
class CustomerBindingApi(MerchantApi):
    """One customer: who they are bound to now, and every binding before."""

    model = CustomerBinding
    lookup_field = "customer_external_id"

    @extend_schema(responses={200: CustomerBindingOutput})
    def get(self, request, customer_external_id):
        rows = list(
            self.get_queryset()
            .filter(customer_external_id=customer_external_id)
            .select_related("distributor")
            .order_by("-bound_at", "-id")
        )
        if not rows:
            raise NotFound("No bindings for this customer.")
        live = bindings.live_bindings(self.merchant).filter(customer_external_id=customer_external_id).first()
        return Response(
            CustomerBindingOutput(
                {
                    "customer_external_id": customer_external_id,
                    "current": next((r for r in rows if live and r.pk == live.pk), None),
                    "history": rows,
                }
            ).data
        )


@extend_schema(tags=["customers"])
class VisitApi(MerchantApi):
    """A customer opened a distributor's share link: bind them per the program's rules.

    The answer says what happened (`bound`, `already_bound`, `moved`); a refusal is a 4xx with its code
    (`customer_bound_elsewhere`, `binding_protected`, `distributor_not_active`, `self_binding_not_allowed`).
    """

    required_permissions = {"POST": Perm.ORDERS_MANAGE}

    @extend_schema(
        request=VisitInput,
        responses={200: VisitOutput, 201: VisitOutput},
        examples=[
            OpenApiExample(
                "Through a share link",
                request_only=True,
                value={"customer_external_id": "c-1001", "share_code": "K7Q2M9"},
            )
        ],
    )
    def post(self, request):
        data = self.validate_input(VisitInput)
        result = bindings.binding_record_visit(merchant=self.merchant, **data)
        binding = (
            CustomerBinding.objects.for_merchant(self.merchant).select_related("distributor").get(pk=result.binding.pk)
        )
        previous = result.previous.distributor if result.previous else None
        body = {"decision": result.decision, "binding": binding, "previous_distributor": previous}
        created = result.decision in ("bound", "moved") and not result.replayed
        return Response(VisitOutput(body).data, status=201 if created else 200)


@extend_schema(tags=["customers"])
class BindingTransferApi(MerchantApi):
    """Move a distributor's customers to another distributor, or release them."""

    required_permissions = {"POST": MANAGE}

    @extend_schema(request=TransferInput, responses={200: TransferOutput})
    def post(self, request):
        data = self.validate_input(TransferInput)
        moved = bindings.binding_transfer(
            merchant=self.merchant,
            actor=self.actor,
            from_distributor_id=data["from_distributor"].pk,
            to_distributor_id=data["to_distributor"].pk if data["to_distributor"] else None,
            customer_external_ids=data["customer_external_ids"],
            reason=data["reason"],
        )
        return Response({"moved": moved})
