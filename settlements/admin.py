from django import forms
from django.contrib import admin, messages

from distribution import crypto
from distribution.admin import ReadOnlyAdmin
from merchants.admin import operator
from merchants.models import DistributionProgram, Merchant
from settlements.models import (
    AlipayAccount,
    PayoutAccount,
    PayoutBatch,
    SettlementRun,
    SplitReceiver,
    SplitRequest,
    WechatPayAccount,
    Withdrawal,
)
from settlements.services import split_window, transfers, withdrawals


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):
    money_fields = ("amount_done", "amount_total")
    list_display = [
        "id",
        "merchant",
        "as_of",
        "status",
        "provider",
        "progress",
        "amount_done",
        "amount_total",
        "attempts",
        "heartbeat_at",
        "finished_at",
    ]
    list_filter = ["status", "trigger", "provider"]
    search_fields = ["merchant__slug"]
    list_select_related = ["merchant"]

    @admin.display(description="progress")
    def progress(self, run):
        return f"{run.lines_done}/{run.lines_total} lines, {run.chunks_done} chunks"


class SplitReceiverInline(admin.TabularInline):
    model = SplitReceiver
    extra = 0
    can_delete = False
    readonly_fields = ["distributor", "account", "amount", "result", "fail_reason"]
    exclude = ["merchant"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SplitRequest)
class SplitRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "out_order_no",
        "merchant",
        "run",
        "order",
        "status",
        "deadline_at",
        "attempts",
        "last_error",
        "updated_at",
    ]
    list_filter = ["status", "unfreeze_unsplit"]
    date_hierarchy = "deadline_at"
    search_fields = ["out_order_no", "transaction_id", "merchant__slug"]
    list_select_related = ["merchant", "run", "order"]
    inlines = [SplitReceiverInline]


@admin.register(SplitReceiver)
class SplitReceiverAdmin(ReadOnlyAdmin):
    money_fields = ("amount",)
    list_display = ["split", "distributor", "amount", "result", "fail_reason"]
    list_filter = ["result"]
    search_fields = ["split__out_order_no"]
    list_select_related = ["split", "distributor"]


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    money_fields = ("amount", "fee", "tax", "net_amount")
    list_display = [
        "id",
        "merchant",
        "distributor",
        "amount",
        "net_amount",
        "status",
        "provider",
        "provider_state",
        "needs_attention",
        "requested_at",
        "finished_at",
    ]
    list_filter = ["needs_attention", "status", "provider"]
    search_fields = ["out_bill_no", "distributor__invite_code", "merchant__slug"]
    list_select_related = ["merchant", "distributor"]
    actions = ["reject", "settle_flagged_paid", "settle_flagged_failed"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    @admin.action(description="Reject (the money returns to the available balance)")
    def reject(self, request, queryset):
        for w in queryset:
            withdrawals.withdrawal_reject(
                merchant=w.merchant,
                actor=operator(request),
                withdrawal_id=w.pk,
                reason="rejected by a platform operator",
            )
        messages.success(request, "Rejected.")

    @admin.action(description="Flagged transfer: WeChat's records show it paid")
    def settle_flagged_paid(self, request, queryset):
        self._settle_flagged(request, queryset, paid=True)

    @admin.action(description="Flagged transfer: WeChat's records show no payment (the money returns)")
    def settle_flagged_failed(self, request, queryset):
        self._settle_flagged(request, queryset, paid=False)

    def _settle_flagged(self, request, queryset, *, paid: bool) -> None:
        for w in queryset.filter(needs_attention=True):
            transfers.withdrawal_settle_flagged(
                merchant=w.merchant,
                actor=operator(request),
                withdrawal_id=w.pk,
                paid=paid,
                reason="settled by a platform operator from WeChat Pay's records",
            )
        messages.success(request, "Settled.")


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ReadOnlyAdmin):
    """Distributors' payout accounts, masked: the numbers and names stay encrypted (finance reads them in
    clear through the audited `GET /api/v1/payout-accounts/{id}/unmasked`)."""

    list_display = [
        "id",
        "merchant",
        "distributor",
        "kind",
        "identity_masked",
        "verification",
        "is_default",
        "removed_at",
    ]
    list_filter = ["kind", "verification", "is_default"]
    list_select_related = ["merchant", "distributor"]
    search_fields = ["merchant__slug", "identity_masked"]
    exclude = ["identity_encrypted", "identity_hash", "real_name_encrypted"]


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    money_fields = ("total",)
    list_display = ["id", "merchant", "count", "total", "created_by", "created_at"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__slug"]


class ProviderAccountForm(forms.ModelForm):
    """A merchant's provider credentials: the merchant is chosen once; each secret field (`secrets`: form
    field -> encrypted model field) is stored encrypted, never shown again, and left as is when empty."""

    for_merchant = forms.ModelChoiceField(queryset=Merchant.objects.all(), label="Merchant")
    secrets: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["for_merchant"].initial = self.instance.merchant_id
            self.fields["for_merchant"].disabled = True
        else:
            for name in self.secrets:
                self.fields[name].required = True

    def save(self, commit=True):
        account = super().save(commit=False)
        if not account.pk:
            account.merchant = self.cleaned_data["for_merchant"]
        for name, stored in self.secrets.items():
            if self.cleaned_data.get(name):
                setattr(account, stored, crypto.encrypt(self.cleaned_data[name]))
        if commit:
            account.save()
        return account


class WechatPayAccountForm(ProviderAccountForm):
    private_key = forms.CharField(
        widget=forms.Textarea,
        required=False,
        help_text="The merchant API private key (PEM). Stored encrypted; leave empty to keep.",
    )
    apiv3_key = forms.CharField(required=False, help_text="The APIv3 key. Stored encrypted; leave empty to keep.")
    secrets = {"private_key": "private_key_encrypted", "apiv3_key": "apiv3_key_encrypted"}

    class Meta:
        model = WechatPayAccount
        fields = [
            "mchid",
            "appid",
            "merchant_serial_no",
            "platform_serial_no",
            "platform_public_key",
            "base_url",
            "transfer_scene_id",
            "profit_sharing_freeze_days",
            "other_platform_keys",
            "transfer_scene_report_infos",
            "transfer_user_recv_perception",
            "transfer_min_amount",
            "transfer_max_amount",
            "transfer_daily_max_per_user",
        ]

    def clean_other_platform_keys(self):
        keys = self.cleaned_data.get("other_platform_keys") or {}
        if not isinstance(keys, dict) or not all(
            isinstance(serial, str) and serial and isinstance(pem, str) and "-----BEGIN " in pem
            for serial, pem in keys.items()
        ):
            raise forms.ValidationError('A JSON object {"serial": "-----BEGIN PUBLIC KEY-----…"}.')
        return keys

    def clean(self):
        cleaned = super().clean()
        merchant = self.instance.merchant if self.instance.pk else cleaned.get("for_merchant")
        days = cleaned.get("profit_sharing_freeze_days")
        program = DistributionProgram.objects.unscoped().filter(merchant=merchant).first() if merchant else None
        if days and program and program.settlement_provider == split_window.PROFIT_SHARING:
            needed = split_window.days_needed(program)
            if needed > days:
                self.add_error(
                    "profit_sharing_freeze_days",
                    f"The merchant's program needs {needed} days to split (after-sales days, settlement "
                    "schedule and a day to split): change the program first.",
                )
        return cleaned


@admin.register(WechatPayAccount)
class WechatPayAccountAdmin(admin.ModelAdmin):
    """Platform operators enter a merchant's WeChat Pay credentials; secrets are never shown again."""

    form = WechatPayAccountForm
    list_display = ["merchant", "mchid", "appid", "merchant_serial_no", "base_url", "updated_at"]
    search_fields = ["mchid", "merchant__slug"]
    list_select_related = ["merchant"]


class AlipayAccountForm(ProviderAccountForm):
    app_private_key = forms.CharField(
        widget=forms.Textarea,
        required=False,
        help_text="The app private key (PKCS#8 PEM or Base64). Stored encrypted; leave empty to keep.",
    )
    secrets = {"app_private_key": "app_private_key_encrypted"}

    class Meta:
        model = AlipayAccount
        fields = ["app_id", "alipay_public_key", "gateway_url"]


@admin.register(AlipayAccount)
class AlipayAccountAdmin(admin.ModelAdmin):
    """Platform operators enter a merchant's Alipay app; the private key is never shown again."""

    form = AlipayAccountForm
    list_display = ["merchant", "app_id", "gateway_url", "updated_at"]
    search_fields = ["app_id", "merchant__slug"]
    list_select_related = ["merchant"]
