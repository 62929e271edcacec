import django_filters
from django.db.models import Q
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.response import Response

from catalog import services
from catalog.api import serializers as s
from catalog.models import Category, Product
from distribution.api.filters import FilterSet, StrictBooleanFilter
from distribution.api.views import ListMixin, MerchantApi, RetrieveMixin
from merchants.roles import Perm


def sync_post(*, plural: str, singular: str, component_name: str, one, batch, output, service, more: str):
    """A sync's POST: one item, or up to 500 as `{"<plural>": [...]}`, upserted by `service` in one
    transaction; each result, in input order, says whether its object was created."""

    @extend_schema(
        summary=f"Create or update {plural} (one, or up to 500)",
        request=PolymorphicProxySerializer(
            component_name=component_name, serializers=[one, batch], resource_type_field_name=None
        ),
        responses={200: output, 201: output},
        description=f'The body is one of the {plural}, or `{{"{plural}": [...]}}` with up to 500. {more} 201 '
        f"when any was created, 200 when all existed; each result says whether its object was created.",
    )
    def post(view: MerchantApi, request) -> Response:
        if isinstance(request.data, dict) and plural in request.data:
            items = view.validate_input(batch)[plural]
        else:
            items = [view.validate_input(one)]
        results = service(merchant=view.merchant, actor=view.actor, items=items)
        body = {"results": [{"created": created, singular: obj} for obj, created in results]}
        any_created = any(created for _, created in results)
        return Response(
            output(body, context=view.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if any_created else status.HTTP_200_OK,
        )

    return post


class CategoryFilter(FilterSet):
    parent = django_filters.CharFilter(
        field_name="parent__external_id", help_text="The subcategories of the category with this external id."
    )
    archived = StrictBooleanFilter(
        method="by_archived", help_text="true: only deleted (archived) categories; left out or false: live ones."
    )

    class Meta:
        model = Category
        fields = ["external_id"]

    def filter_queryset(self, queryset):
        if self.form.cleaned_data.get("archived") is None:
            queryset = queryset.filter(archived_at__isnull=True)
        return super().filter_queryset(queryset)

    def by_archived(self, queryset, name, value):
        return queryset.filter(archived_at__isnull=not value)


@extend_schema(tags=["products"])
class CategoryListApi(ListMixin, MerchantApi):
    """Product categories (商品分类) synced from the shop: a tree (each may name a parent) or a flat list.
    POST upserts by `external_id` (one category, or up to 500 as `{"categories": [...]}`); sending the same
    category twice changes nothing. Deleted categories are left out unless `archived=true`."""

    model = Category
    serializer_class = s.CategoryOutput
    filterset_class = CategoryFilter
    required_permissions = {"POST": Perm.CATALOG_MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("parent")

    post = sync_post(
        plural="categories",
        singular="category",
        component_name="CategoryUpsertInput",
        one=s.CategoryInput,
        batch=s.CategoryBatchInput,
        output=s.CategoryBatchOutput,
        service=services.category_upsert_many,
        more="A `parent` names a category of the same request or one synced before, so a whole tree can be "
        "sent at once, in any order; moving a category is sending it with another parent. An unknown parent "
        "(422 `unknown_category`) or parents that would make a loop (422 `category_cycle`) refuse the whole "
        "request.",
    )


@extend_schema(tags=["products"])
class CategoryDetailApi(RetrieveMixin, MerchantApi):
    """A category, deleted (archived) ones too. DELETE archives it: it leaves the lists and can no longer be
    given to a product, but the order items sold in it keep it; syncing it again brings it back."""

    model = Category
    serializer_class = s.CategoryOutput
    lookup_field = "external_id"
    required_permissions = {"DELETE": Perm.CATALOG_MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("parent")

    @extend_schema(
        responses={204: None},
        description="Refused (409 `category_in_use`) while products or live subcategories are in it. "
        "Deleting a deleted category changes nothing.",
    )
    def delete(self, request, external_id):
        category = self.get_object()
        services.category_archive(merchant=self.merchant, actor=self.actor, external_id=category.external_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductFilter(FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Title or external id contains.")
    category = django_filters.CharFilter(
        field_name="category__external_id", help_text="Products in the category with this external id."
    )

    class Meta:
        model = Product
        fields = ["kind", "distribution_enabled", "external_id"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(external_id__icontains=value))


@extend_schema(tags=["products"])
class ProductListApi(ListMixin, MerchantApi):
    """Products synced from the shop. POST upserts by `external_id` (one product, or up to 500 as
    `{"products": [...]}`); sending the same product twice changes nothing. `category` names a synced
    category by its external id (an unknown one is a 422 `unknown_category` and nothing is written)."""

    model = Product
    serializer_class = s.ProductOutput
    filterset_class = ProductFilter
    required_permissions = {"POST": Perm.CATALOG_MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("category")

    post = sync_post(
        plural="products",
        singular="product",
        component_name="ProductUpsertInput",
        one=s.ProductInput,
        batch=s.ProductBatchInput,
        output=s.ProductBatchOutput,
        service=services.product_upsert_many,
        more="A `category` names a synced category by its external id (422 `unknown_category` otherwise).",
    )


@extend_schema(tags=["products"])
class ProductDetailApi(RetrieveMixin, MerchantApi):
    model = Product
    serializer_class = s.ProductOutput
    lookup_field = "external_id"

    def scope_queryset(self, queryset):
        return queryset.select_related("category")
