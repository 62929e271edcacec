from django.contrib import admin

from merchants.admin import operator
from risk.models import RiskFlag
from risk.services import flag_review


@admin.register(RiskFlag)
class RiskFlagAdmin(admin.ModelAdmin):
    list_display = ["id", "merchant", "rule", "subject", "distributor", "status", "reviewed_by", "created_at"]
    list_filter = ["rule", "status"]
    search_fields = ["subject", "merchant__slug"]
    list_select_related = ["merchant", "distributor"]
    readonly_fields = [
        "merchant",
        "rule",
        "subject",
        "distributor",
        "evidence",
        "status",
        "review_note",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    ]
    actions = ["dismiss"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Dismiss (false alarm)")
    def dismiss(self, request, queryset):
        for flag in queryset.filter(status=RiskFlag.Status.OPEN):
            flag_review(
                merchant=flag.merchant,
                actor=operator(request),
                flag_id=flag.pk,
                action="dismiss",
                note="dismissed by a platform operator",
            )
