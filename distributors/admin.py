from django.contrib import admin

from distribution.admin import ReadOnlyAdmin, describe_rates
from distributors.models import (
    Agreement,
    AgreementAcceptance,
    Application,
    BlacklistEntry,
    CustomerBinding,
    Distributor,
    DistributorToken,
    Level,
    LevelChange,
    RecruitmentEntry,
    ShareVisit,
)
from distributors.services import blacklist, lifecycle
from distributors.services import tokens as token_services
from merchants.admin import CredentialAdmin, operator


@admin.register(DistributorToken)
class DistributorTokenAdmin(CredentialAdmin):
    list_display = ["prefix", "merchant", "external_user_id", "created", "expiry_date", "revoked", "last_used_at"]
    search_fields = ["prefix", "external_user_id", "merchant__slug"]

    def revoke_one(self, request, obj) -> None:
        token_services.distributor_token_revoke(merchant=obj.merchant, actor=operator(request), token_id=obj.pk)


@admin.register(Distributor)
class DistributorAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "merchant",
        "display_name",
        "invite_code",
        "phone_masked",
        "status",
        "level",
        "depth",
        "inviter_id",
        "identity_verified_at",
        "created_at",
    ]
    list_filter = ["status", "level_locked"]
    search_fields = ["display_name", "invite_code", "external_user_id", "merchant__slug"]
    list_select_related = ["merchant", "level"]
    exclude = ["phone_encrypted", "real_name_encrypted", "id_number_encrypted", "phone_hash", "id_number_hash"]
    actions = ["freeze", "unfreeze"]

    def has_change_permission(self, request, obj=None):
        return obj is None  # the list (and its actions) is available; the form is read-only

    @admin.action(description="Freeze (reason: operator action)")
    def freeze(self, request, queryset):
        for d in queryset:
            lifecycle.distributor_freeze(
                merchant=d.merchant, actor=operator(request), distributor_id=d.pk, reason="operator action"
            )

    @admin.action(description="Unfreeze")
    def unfreeze(self, request, queryset):
        for d in queryset:
            lifecycle.distributor_unfreeze(merchant=d.merchant, actor=operator(request), distributor_id=d.pk)


@admin.register(Level)
class LevelAdmin(ReadOnlyAdmin):
    money_fields = ("min_sales_amount",)
    list_display = [
        "name",
        "merchant",
        "rank",
        "is_default",
        "condition_mode",
        "window_days",
        "rates",
    ]
    list_filter = ["is_default"]
    search_fields = ["name", "merchant__slug"]
    list_select_related = ["merchant"]

    @admin.display(description="commission rates")
    def rates(self, obj: Level) -> str:
        return describe_rates(obj.commission_rates, obj.merchant.currency)


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "merchant",
        "distributor",
        "status",
        "channel",
        "invite_code",
        "auto_approved",
        "decided_by",
        "created_at",
    ]
    list_filter = ["status", "channel", "auto_approved"]
    search_fields = ["invite_code", "distributor__external_user_id", "merchant__slug"]
    list_select_related = ["merchant", "distributor"]


@admin.register(CustomerBinding)
class CustomerBindingAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "merchant",
        "customer_external_id",
        "distributor",
        "status",
        "source",
        "bound_at",
        "expires_at",
        "end_reason",
    ]
    list_filter = ["status", "source", "end_reason"]
    search_fields = ["customer_external_id", "distributor__invite_code", "merchant__slug"]
    list_select_related = ["merchant", "distributor"]


@admin.register(ShareVisit)
class ShareVisitAdmin(ReadOnlyAdmin):
    list_display = ["visit_id", "merchant", "customer_external_id", "distributor", "decision", "visited_at"]
    list_filter = ["decision"]
    search_fields = ["visit_id", "customer_external_id"]
    list_select_related = ["merchant", "distributor"]


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "kind", "value_display", "reason", "added_by", "expires_at", "removed_at"]
    list_filter = ["kind"]
    search_fields = ["value_display", "reason", "merchant__slug"]
    list_select_related = ["merchant"]
    actions = ["take_off"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    @admin.action(description="Take off the list (reactivates no one)")
    def take_off(self, request, queryset):
        for entry in queryset:
            blacklist.blacklist_remove(merchant=entry.merchant, actor=operator(request), entry_id=entry.pk)


@admin.register(RecruitmentEntry)
class RecruitmentEntryAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "merchant", "kind", "product", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "merchant__slug"]
    list_select_related = ["merchant", "product"]


@admin.register(Agreement)
class AgreementAdmin(ReadOnlyAdmin):
    list_display = ["version", "title", "merchant", "published_at"]
    search_fields = ["version", "title", "merchant__slug"]
    list_select_related = ["merchant"]


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["distributor", "agreement", "merchant", "accepted_at"]
    search_fields = ["distributor__external_user_id", "merchant__slug"]
    list_select_related = ["merchant", "distributor", "agreement"]


@admin.register(LevelChange)
class LevelChangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "distributor", "old_level", "new_level", "direction", "run", "created_at"]
    list_filter = ["direction"]
    search_fields = ["merchant__slug", "distributor__invite_code"]
    list_select_related = ["merchant", "distributor", "old_level", "new_level"]
