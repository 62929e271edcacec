from django.contrib import admin

from commissions.models import CommissionLine
from distribution.admin import ReadOnlyAdmin


@admin.register(CommissionLine)
class CommissionLineAdmin(ReadOnlyAdmin):
    """Lines move only through the engine and settlement (ledgered)."""

    money_fields = ("base_amount", "uncapped_amount", "amount", "reversed_amount")
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
