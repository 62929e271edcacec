from django.contrib import admin

from commissions.models import CommissionLine


@admin.register(CommissionLine)
class CommissionLineAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "merchant",
        "order",
        "depth",
        "kind",
        "beneficiary",
        "status",
        "amount",
        "reversed_amount",
        "rate_source",
        "unlock_at",
    ]
    list_filter = ["status", "kind", "depth", "rate_source"]
    search_fields = ["order__external_id", "beneficiary__invite_code", "merchant__slug"]
    list_select_related = ["merchant", "order", "beneficiary"]
    raw_id_fields = ["order", "order_item", "beneficiary"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # lines move only through the engine and settlement (ledgered)

    def has_delete_permission(self, request, obj=None):
        return False
