from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from distribution.api.fields import DateTimeField, IntegerField, MoneyField
from distribution.api.serializers import ModelSerializer
from ledger.models import LedgerTransaction, Posting
from settlements.models import PayoutBatch, SettlementRun, WechatPayAccount, Withdrawal


class SettlementRunOutput(ModelSerializer):
    amount_total = MoneyField()
    amount_done = MoneyField()
    progress = serializers.SerializerMethodField(help_text="lines done / lines due when the run was made, 0-1")

    class Meta:
        model = SettlementRun
        fields = [
            "id",
            "as_of",
            "status",
            "trigger",
            "provider",
            "requested_by",
            "lines_total",
            "lines_done",
            "amount_total",
            "amount_done",
            "distributors_done",
            "chunks_done",
            "progress",
            "attempts",
            "last_error",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_progress(self, run) -> float:
        if run.status == SettlementRun.Status.COMPLETED:
            return 1.0
        return round(run.lines_done / run.lines_total, 4) if run.lines_total else 0.0


class SettlementRequestInput(serializers.Serializer):
    as_of = DateTimeField(required=False, help_text="Lines unlocked by then settle (default now).")


class BalanceOutput(serializers.Serializer):
    currency = serializers.CharField()
    pending = MoneyField(help_text="Earned, waiting for the order to complete and the after-sales window.")
    available = MoneyField(help_text="Can be withdrawn.")
    withdrawing = MoneyField(help_text="Reserved by withdrawals or splits in progress.")
    paid_out = MoneyField(help_text="Paid out so far, in total.")
    receivable = MoneyField(help_text="Owed back after refunds; repaid from future earnings first.")


class WithdrawalOutput(ModelSerializer):
    amount = MoneyField()
    fee = MoneyField()
    tax = MoneyField()
    net_amount = MoneyField()
    distributor = IntegerField(source="distributor_id")

    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "distributor",
            "amount",
            "fee",
            "tax",
            "net_amount",
            "currency",
            "status",
            "provider",
            "out_bill_no",
            "provider_state",
            "needs_attention",
            "failure_reason",
            "decision_reason",
            "decided_by",
            "batch",
            "requested_at",
            "decided_at",
            "finished_at",
        ]
        read_only_fields = fields


class TransferConfirmationOutput(serializers.Serializer):
    """What the mini-program passes to wx.requestMerchantTransfer so the payee confirms the transfer."""

    mch_id = serializers.CharField(help_text="mchId: the merchant's WeChat Pay merchant number.")
    app_id = serializers.CharField(help_text="appId: the app the payee's openid belongs to.")
    package = serializers.CharField(help_text="package: the transfer bill's package_info.")


class MyWithdrawalOutput(WithdrawalOutput):
    """A withdrawal as its distributor sees it; while WeChat waits for them to confirm the transfer,
    `confirmation` holds what the app needs to ask them (null otherwise)."""

    confirmation = serializers.SerializerMethodField()

    class Meta(WithdrawalOutput.Meta):
        fields = [f for f in WithdrawalOutput.Meta.fields if f not in ("needs_attention", "decided_by")]
        fields += ["confirmation"]
        read_only_fields = fields

    @extend_schema_field(TransferConfirmationOutput(allow_null=True))
    def get_confirmation(self, withdrawal) -> dict | None:
        if withdrawal.status != Withdrawal.Status.PROCESSING or not withdrawal.package_info:
            return None
        if withdrawal.provider_state != "WAIT_USER_CONFIRM":
            return None
        accounts = self.context.setdefault("wechat_accounts", {})
        if withdrawal.merchant_id not in accounts:
            accounts[withdrawal.merchant_id] = (
                WechatPayAccount.objects.for_merchant(withdrawal.merchant_id).values("mchid", "appid").first()
            )
        account = accounts[withdrawal.merchant_id]
        if account is None:
            return None
        return {"mch_id": account["mchid"], "app_id": account["appid"], "package": withdrawal.package_info}


class WithdrawalInput(serializers.Serializer):
    amount = MoneyField(min_value=1)


class DecisionInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RequiredReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class StatementOutput(serializers.Serializer):
    month = serializers.CharField()
    currency = serializers.CharField()
    opening_balance = MoneyField()
    earned = MoneyField()
    reversed = MoneyField()
    clawed_back = MoneyField()
    withdrawn = MoneyField()
    fees = MoneyField()
    tax = MoneyField()
    closing_balance = MoneyField()


class PostingOutput(ModelSerializer):
    account = serializers.SerializerMethodField()
    amount = MoneyField(help_text="Signed: debit positive, credit negative.")

    class Meta:
        model = Posting
        fields = ["account", "amount", "currency"]
        read_only_fields = fields

    def get_account(self, posting) -> str:
        a = posting.account
        return f"{a.owner_kind}:{a.owner_id}:{a.kind}"


class LedgerTransactionOutput(ModelSerializer):
    postings = PostingOutput(many=True)

    class Meta:
        model = LedgerTransaction
        fields = ["id", "reference", "kind", "created_at", "postings"]
        read_only_fields = fields


class PayoutAccountInput(serializers.Serializer):
    openid = serializers.CharField(
        max_length=64, allow_blank=True, help_text="The distributor's WeChat openid under the merchant's appid."
    )


class PayoutBatchOutput(ModelSerializer):
    total = MoneyField(help_text="What the bank pays out: the sum of the withdrawals' net amounts.")
    withdrawals = serializers.SerializerMethodField(help_text="The ids of the batch's withdrawals.")

    class Meta:
        model = PayoutBatch
        fields = ["id", "created_at", "created_by", "count", "total", "withdrawals"]
        read_only_fields = fields

    def get_withdrawals(self, batch) -> list[int]:
        return list(batch.withdrawals.order_by("pk").values_list("pk", flat=True))
