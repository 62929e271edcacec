from django.contrib import admin

from orders.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "title",
        "merchant",
        "price",
        "kind",
        "distribution_enabled",
        "commission_mode",
        "updated_at",
    ]
    list_filter = ["kind", "distribution_enabled", "commission_mode"]
    search_fields = ["external_id", "title", "merchant__slug"]
    list_select_related = ["merchant"]
    readonly_fields = ["merchant", "external_id", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # products come from the shop's sync (POST /api/v1/products)
