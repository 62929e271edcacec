from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from rest_framework_api_key.admin import APIKeyModelAdmin

from distribution.admin import ReadOnlyAdmin
from distribution.auth import Actor
from distribution.pii import mask_email
from merchants.models import (
    DistributionProgram,
    Invitation,
    Membership,
    Merchant,
    MerchantAPIKey,
    PlatformAPIKey,
    StaffToken,
)
from merchants.roles import Role
from merchants.services import credentials, lifecycle, staff

try:  # the library's own concrete model is not used: our keys belong to a merchant
    from rest_framework_api_key.models import APIKey

    admin.site.unregister(APIKey)
except admin.sites.NotRegistered:  # pragma: no cover
    pass


def operator(request) -> Actor:
    return Actor(kind="operator", id=str(request.user.pk), label=request.user.get_username())


class MerchantCreateForm(forms.ModelForm):
    """A new merchant and its first owner in one step: an existing user, or an invitation by e-mail (its
    token is shown once, after saving, to send to the owner)."""

    owner_username = forms.CharField(required=False, help_text="An existing user who becomes the first owner…")
    owner_email = forms.EmailField(required=False, help_text="…or invite the first owner at this address.")

    class Meta:
        model = Merchant
        fields = ["name", "slug", "currency", "timezone"]

    def clean_owner_username(self):
        username = self.cleaned_data["owner_username"]
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("No such user.")
        return user

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("owner_username")) == bool(cleaned.get("owner_email")):
            raise forms.ValidationError("Name an existing user or an e-mail to invite: one of the two.")
        return cleaned


class ProgramInline(admin.StackedInline):
    model = DistributionProgram
    can_delete = False
    readonly_fields = [f.name for f in DistributionProgram._meta.concrete_fields if f.name not in {"id", "merchant"}]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "slug", "currency", "timezone", "status", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["suspend", "activate"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = MerchantCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "slug", "currency", "timezone", "owner_username", "owner_email"]
        return ["name", "slug", "currency", "timezone", "status", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # currency is fixed once money exists in it; status moves through the actions
        return [*self.readonly_fields, "currency", "slug", "status"] if obj else self.readonly_fields

    def get_inlines(self, request, obj):
        return [ProgramInline] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            changes = {k: form.cleaned_data[k] for k in form.changed_data if k in lifecycle.MERCHANT_PROFILE_FIELDS}
            lifecycle.merchant_update(merchant=obj, actor=operator(request), changes=changes)
            return
        if form.cleaned_data.get("owner_email"):
            created, invitation, token = lifecycle.merchant_create_inviting_owner(
                name=obj.name,
                slug=obj.slug,
                currency=obj.currency,
                timezone_name=obj.timezone,
                owner_email=form.cleaned_data["owner_email"],
                actor=operator(request),
            )
            messages.warning(
                request,
                f"Send this invitation token to {invitation.email}; it is shown only now and is valid until "
                f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC: {token} (accepted at POST "
                "/api/v1/auth/invitations/accept with the owner's own username and password).",
            )
        else:
            created = lifecycle.merchant_create(
                name=obj.name,
                slug=obj.slug,
                currency=obj.currency,
                timezone_name=obj.timezone,
                owner=form.cleaned_data["owner_username"],
                actor=operator(request),
            )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db

    @admin.action(description="Suspend (credentials stop working)")
    def suspend(self, request, queryset):
        for merchant in queryset:
            lifecycle.merchant_set_status(merchant=merchant, actor=operator(request), status=Merchant.Status.SUSPENDED)
        messages.success(request, f"{queryset.count()} merchant(s) suspended.")

    @admin.action(description="Activate")
    def activate(self, request, queryset):
        for merchant in queryset:
            lifecycle.merchant_set_status(merchant=merchant, actor=operator(request), status=Merchant.Status.ACTIVE)
        messages.success(request, f"{queryset.count()} merchant(s) activated.")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "merchant", "username", "masked_email", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "merchant__slug"]
    list_select_related = ["merchant", "user"]
    raw_id_fields = ["user"]
    readonly_fields = ["merchant", "user", "role", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # staff join by accepting an invitation (invitation_accept), which audits it

    @admin.display(description="user")
    def username(self, obj):
        return obj.user.get_username()

    @admin.display(description="e-mail")
    def masked_email(self, obj):
        return mask_email(obj.user.email)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Made by the merchant through the API (the token is shown once, there); operators look and revoke."""

    list_display = ["id", "merchant", "role", "masked_email", "current_status", "expires_at", "created_at"]
    list_filter = ["status", "role"]
    search_fields = ["merchant__slug"]
    list_select_related = ["merchant"]
    exclude = ["prefix", "hashed_key"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return obj is None  # the list's action only

    @admin.display(description="e-mail")
    def masked_email(self, obj):
        return mask_email(obj.email)

    @admin.action(description="Revoke (pending ones)")
    def revoke(self, request, queryset):
        pending = list(queryset.filter(status=Invitation.Status.PENDING).select_related("merchant"))
        for obj in pending:  # platform operators act with an owner's rights
            staff.invitation_revoke(
                merchant=obj.merchant, actor=operator(request), actor_role=Role.OWNER, invitation_id=obj.pk
            )
        messages.success(request, f"{len(pending)} invitation(s) revoked.")


class CredentialAdmin(admin.ModelAdmin):
    """Credentials are created through the API (the plain key is shown once, there); operators can
    only look and revoke."""

    list_filter = ["revoked"]
    list_select_related = ["merchant"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke")
    def revoke(self, request, queryset):
        objs = list(queryset.select_related("merchant"))
        for obj in objs:
            self.revoke_one(request, obj)
        messages.success(request, f"{len(objs)} credential(s) revoked.")

    def revoke_one(self, request, obj) -> None:
        raise NotImplementedError


@admin.register(MerchantAPIKey)
class MerchantAPIKeyAdmin(CredentialAdmin):
    list_display = ["prefix", "name", "merchant", "role", "created", "expiry_date", "revoked", "last_used_at"]
    list_filter = ["revoked", "role"]
    search_fields = ["prefix", "name", "merchant__slug"]

    def revoke_one(self, request, obj) -> None:
        # platform operators act with an owner's rights
        credentials.api_key_revoke(
            merchant=obj.merchant, actor=operator(request), actor_role=Role.OWNER, api_key_id=obj.pk
        )


@admin.register(PlatformAPIKey)
class PlatformAPIKeyAdmin(APIKeyModelAdmin):
    """Platform operators' keys for /api/platform/v1/ (the key is shown once, after adding)."""

    list_display = ["prefix", "name", "created", "expiry_date", "revoked", "last_used_at"]


@admin.register(StaffToken)
class StaffTokenAdmin(CredentialAdmin):
    list_display = ["prefix", "merchant", "membership", "created", "expiry_date", "revoked", "last_used_at"]
    search_fields = ["prefix", "membership__user__username", "merchant__slug"]
    list_select_related = ["merchant", "membership__user"]

    def revoke_one(self, request, obj) -> None:
        credentials.staff_token_revoke(token=obj)


@admin.register(DistributionProgram)
class DistributionProgramAdmin(admin.ModelAdmin):
    list_display = [
        "merchant",
        "commission_depth",
        "depth1_rate_bps",
        "depth2_rate_bps",
        "binding_mode",
        "after_sales_days",
        "settlement_schedule",
        "updated_at",
    ]
    list_filter = ["commission_depth", "binding_mode", "settlement_schedule"]
    search_fields = ["merchant__slug", "merchant__name"]
    list_select_related = ["merchant"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # changed through program_update (validated and audited), via the merchant's API
