import django_filters
from django.db.models import Q
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.response import Response

from catalog import services
from catalog.api import serializers as s
from catalog.models import Product
from distribution.api.filters import FilterSet
from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from merchants.roles import Perm


class ProductFilter(FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Title or external id contains.")

    class Meta:
        model = Product
        fields = ["kind", "distribution_enabled", "external_id"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(external_id__icontains=value))


@extend_schema(tags=["products"])
class ProductListApi(ListMixin, MerchantApi):
    """Products synced from the shop. POST upserts by `external_id` (one product, or up to 500 as
    `{"products": [...]}`); sending the same product twice changes nothing."""

    model = Product
    serializer_class = s.ProductOutput
    filterset_class = ProductFilter
    required_permissions = {"POST": Perm.CATALOG_MANAGE}

    @extend_schema(
        summary="Create or update products (one, or up to 500)",
        request=PolymorphicProxySerializer(
            component_name="ProductUpsertInput",
            serializers=[s.ProductInput, s.ProductBatchInput],
            resource_type_field_name=None,
        ),
        responses={200: s.ProductBatchOutput, 201: s.ProductBatchOutput},
        description='The body is one product, or `{"products": [...]}` with up to 500. 201 when any product '
        "was created, 200 when all existed; each result says whether its product was created.",
    )
    def post(self, request):
        if isinstance(request.data, dict) and "products" in request.data:
            items = self.validate_input(s.ProductBatchInput)["products"]
        else:
            items = [self.validate_input(s.ProductInput)]
        results = services.product_upsert_many(merchant=self.merchant, actor=self.actor, items=items)
        body = {"results": [{"created": created, "product": product} for product, created in results]}
        any_created = any(created for _, created in results)
        return Response(
            s.ProductBatchOutput(body, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if any_created else status.HTTP_200_OK,
        )


@extend_schema(tags=["products"])
class ProductDetailApi(RetrieveMixin, MerchantApi):
    model = Product
    serializer_class = s.ProductOutput
    lookup_field = "external_id"
