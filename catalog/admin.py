from django.contrib import admin

from catalog.models import Category, Product
from distribution.admin import describe_rates, money


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "merchant", "parent", "sort_order", "archived_at", "updated_at"]
    search_fields = ["external_id", "name", "merchant__slug"]
    list_select_related = ["merchant", "parent"]
    readonly_fields = ["merchant", "external_id", "parent", "archived_at", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # categories come from the shop's sync (POST /api/v1/categories)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "title",
        "merchant",
        "price_shown",
        "kind",
        "distribution_enabled",
        "category",
        "commission",
        "updated_at",
    ]
    list_filter = ["kind", "distribution_enabled"]
    search_fields = ["external_id", "title", "merchant__slug"]
    list_select_related = ["merchant", "category"]
    readonly_fields = ["merchant", "external_id", "category", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # products come from the shop's sync (POST /api/v1/products)

    @admin.display(description="price", ordering="price")
    def price_shown(self, obj: Product) -> str:
        return money(obj.price, obj.merchant.currency)

    @admin.display(description="commission override")
    def commission(self, obj: Product) -> str:
        return describe_rates(obj.commission_rates, obj.merchant.currency)
