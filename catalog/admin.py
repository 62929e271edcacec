from django.contrib import admin

from catalog.models import Product
from distribution.admin import describe_rates, money


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "title",
        "merchant",
        "price_shown",
        "kind",
        "distribution_enabled",
        "commission",
        "updated_at",
    ]
    list_filter = ["kind", "distribution_enabled"]
    search_fields = ["external_id", "title", "merchant__slug"]
    list_select_related = ["merchant"]
    readonly_fields = ["merchant", "external_id", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # products come from the shop's sync (POST /api/v1/products)

    @admin.display(description="price", ordering="price")
    def price_shown(self, obj: Product) -> str:
        return money(obj.price, obj.merchant.currency)

    @admin.display(description="commission override")
    def commission(self, obj: Product) -> str:
        return describe_rates(obj.commission_rates, obj.merchant.currency)
