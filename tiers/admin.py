from django.contrib import admin

from distribution.admin import ReadOnlyAdmin
from tiers.models import TierRun


@admin.register(TierRun)
class TierRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "merchant",
        "as_of",
        "trigger",
        "status",
        "downgrades",
        "period",
        "evaluated",
        "upgraded",
        "downgraded",
        "attempts",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "trigger", "downgrades"]
    search_fields = ["merchant__slug"]
    list_select_related = ["merchant"]
