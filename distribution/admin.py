from django.contrib import admin

from distribution.models import AuditEvent, IdempotencyRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Operators read these rows; nobody edits them by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "action", "object_type", "object_id", "actor_kind", "actor_label"]
    list_filter = ["actor_kind", "action", "object_type"]
    search_fields = ["object_id", "actor_label", "action", "request_id"]
    list_select_related = ["merchant"]
    date_hierarchy = "created_at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "scope", "key", "method", "path", "response_status"]
    list_filter = ["method", "response_status"]
    search_fields = ["key", "scope", "path"]
    list_select_related = ["merchant"]
