from django.contrib import admin

from distribution.admin import ReadOnlyAdmin
from exports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "merchant",
        "kind",
        "file_format",
        "status",
        "rows_done",
        "rows_total",
        "file_size",
        "requested_by_label",
        "attempts",
        "created_at",
        "finished_at",
        "expires_at",
        "deleted_at",
    ]
    list_filter = ["status", "kind", "file_format"]
    search_fields = ["merchant__slug"]
    list_select_related = ["merchant"]
