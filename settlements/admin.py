from django import forms
from django.contrib import admin, messages

from distribution import crypto
from distribution.admin import ReadOnlyAdmin
from merchants.admin import operator
from merchants.models import Merchant
from settlements.models import PayoutBatch, SettlementRun, SplitReceiver, SplitRequest, WechatPayAccount, Withdrawal
from settlements.services import transfers, withdrawals


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
    list_display = ["out_order_no", "merchant", "run", "order", "status", "attempts", "last_error", "updated_at"]
    list_filter = ["status"]
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


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    money_fields = ("total",)
    list_display = ["id", "merchant", "count", "total", "created_by", "created_at"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__slug"]


class WechatPayAccountForm(forms.ModelForm):
    for_merchant = forms.ModelChoiceField(queryset=Merchant.objects.all(), label="Merchant")
    private_key = forms.CharField(
        widget=forms.Textarea,
        required=False,
        help_text="The merchant API private key (PEM). Stored encrypted; leave empty to keep.",
    )
    apiv3_key = forms.CharField(required=False, help_text="The APIv3 key. Stored encrypted; leave empty to keep.")

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
            "transfer_scene_report_infos",
            "transfer_user_recv_perception",
            "transfer_min_amount",
            "transfer_max_amount",
            "transfer_daily_max_per_user",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["for_merchant"].initial = self.instance.merchant_id
            self.fields["for_merchant"].disabled = True

    def save(self, commit=True):
        account = super().save(commit=False)
        if not account.pk:
            account.merchant = self.cleaned_data["for_merchant"]
        if self.cleaned_data.get("private_key"):
            account.private_key_encrypted = crypto.encrypt(self.cleaned_data["private_key"])
        if self.cleaned_data.get("apiv3_key"):
            account.apiv3_key_encrypted = crypto.encrypt(self.cleaned_data["apiv3_key"])
        if commit:
            account.save()
        return account


@admin.register(WechatPayAccount)
class WechatPayAccountAdmin(admin.ModelAdmin):
    """Platform operators enter a merchant's WeChat Pay credentials; secrets are never shown again."""

    form = WechatPayAccountForm
    list_display = ["merchant", "mchid", "appid", "merchant_serial_no", "base_url", "updated_at"]
    search_fields = ["mchid", "merchant__slug"]
    list_select_related = ["merchant"]
