"""The rollups and snapshots, read-only for operators: derived data, rebuilt by `manage.py rebuild_rollups`."""

from django.contrib import admin

from analytics.models import (
    Buyer,
    DailyCategory,
    DailyChannel,
    DailyDistributor,
    DailyMerchant,
    DailyProduct,
    RefreshPass,
    RepurchaseSnapshot,
)
from distribution.admin import ReadOnlyAdmin

FIGURES = ("orders", "gmv", "refunded", "commission_accrued", "commission_settled")


class DailyAdmin(ReadOnlyAdmin):
    money_fields = ("gmv", "refunded", "commission_accrued", "commission_settled")
    list_filter = ["day"]
    search_fields = ["merchant__slug"]
    list_select_related = ["merchant"]
    ordering = ["-day"]


@admin.register(DailyMerchant)
class DailyMerchantAdmin(DailyAdmin):
    list_display = ["day", "merchant", *FIGURES, "buyers", "visits"]


@admin.register(DailyDistributor)
class DailyDistributorAdmin(DailyAdmin):
    list_display = ["day", "merchant", "distributor", *FIGURES, "visits"]
    list_select_related = ["merchant", "distributor"]


@admin.register(DailyProduct)
class DailyProductAdmin(DailyAdmin):
    list_display = ["day", "merchant", "product", *FIGURES, "quantity"]
    list_select_related = ["merchant", "product"]


@admin.register(DailyCategory)
class DailyCategoryAdmin(DailyAdmin):
    list_display = ["day", "merchant", "category", *FIGURES, "quantity"]
    list_select_related = ["merchant", "category"]


@admin.register(DailyChannel)
class DailyChannelAdmin(DailyAdmin):
    list_display = ["day", "merchant", "channel", *FIGURES]
    list_filter = ["day", "channel"]


@admin.register(Buyer)
class BuyerAdmin(ReadOnlyAdmin):
    list_display = ["customer_external_id", "merchant", "first_paid_at", "orders", "paid_amount", "province", "city"]
    money_fields = ("paid_amount",)
    search_fields = ["customer_external_id", "merchant__slug"]
    list_select_related = ["merchant"]


@admin.register(RepurchaseSnapshot)
class RepurchaseSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "window_days", "as_of", "buyers", "repeat_buyers", "refreshed_at"]
    search_fields = ["merchant__slug"]
    list_select_related = ["merchant"]


@admin.register(RefreshPass)
class RefreshPassAdmin(ReadOnlyAdmin):
    list_display = ["id", "started_at", "finished_at", "order_event_to", "ledger_transaction_to", "visit_to", "days"]
    search_fields = ["id"]
    ordering = ["-started_at"]
