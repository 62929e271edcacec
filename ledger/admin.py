from django.contrib import admin

from distribution.admin import ReadOnlyAdmin
from ledger.models import Account, LedgerTransaction, Posting


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    money_fields = ("balance",)
    list_display = ["id", "merchant", "owner_kind", "owner_id", "kind", "currency", "balance", "updated_at"]
    list_filter = ["owner_kind", "kind", "currency"]
    search_fields = ["owner_id", "merchant__slug"]
    list_select_related = ["merchant"]


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    readonly_fields = ["account", "amount", "currency", "created_at"]
    exclude = ["merchant"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "reference", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["reference", "merchant__slug"]
    list_select_related = ["merchant"]
    inlines = [PostingInline]
    date_hierarchy = "created_at"


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    money_fields = ("amount",)
    list_display = ["id", "merchant", "transaction", "account", "amount", "currency", "created_at"]
    search_fields = ["transaction__reference"]
    list_select_related = ["merchant", "transaction", "account"]
