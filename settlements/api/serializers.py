from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from distribution.api.fields import DateTimeField, IntegerField, MoneyField
from distribution.api.serializers import ModelSerializer
from ledger.models import LedgerTransaction, Posting
from settlements.models import (
    PayoutAccount,
    PayoutBatch,
    SettlementRun,
    SplitReceiver,
    SplitRequest,
    WechatPayAccount,
    Withdrawal,
)


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
    payout_account = IntegerField(source="destination_id", allow_null=True, help_text="The account it pays to.")
    payee_identity_masked = serializers.CharField(help_text="The account's number, masked, as requested.")

    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "distributor",
            "payout_account",
            "payee_kind",
            "payee_identity_masked",
            "payee_bank_name",
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
    payout_account = IntegerField(
        required=False, min_value=1, help_text="One of my payout accounts (default: my default of the program's rail)."
    )


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
    tax = MoneyField(help_text="Withheld from the month's paid withdrawals.")
    closing_balance = MoneyField()
    withdrawals_gross = MoneyField(help_text="The month's paid withdrawals before fees and tax.")
    withdrawals_net = MoneyField(help_text="What they paid out: gross − fees − tax.")


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


class SplitReceiverOutput(ModelSerializer):
    distributor = IntegerField(source="distributor_id")
    amount = MoneyField()

    class Meta:
        model = SplitReceiver
        fields = ["distributor", "amount", "result", "fail_reason"]


class SplitRequestOutput(ModelSerializer):
    """One profit-sharing request: an order's due commission split to its distributors through WeChat."""

    run = IntegerField(source="run_id")
    order = serializers.CharField(source="order.external_id", help_text="The order's external id.")
    amount = MoneyField(source="amount_total", help_text="What the split sends to its receivers.")
    deadline_at = DateTimeField(
        allow_null=True, help_text="The end of the payment's WeChat freeze period: no split after it."
    )
    receivers = SplitReceiverOutput(many=True)

    class Meta:
        model = SplitRequest
        fields = [
            "id",
            "run",
            "order",
            "transaction_id",
            "out_order_no",
            "status",
            "amount",
            "deadline_at",
            "unfreeze_unsplit",
            "attempts",
            "last_error",
            "next_attempt_at",
            "receivers",
            "created_at",
            "updated_at",
        ]


class PayoutAccountOutput(ModelSerializer):
    """A payout account, masked."""

    distributor = IntegerField(source="distributor_id")

    class Meta:
        model = PayoutAccount
        fields = [
            "id",
            "distributor",
            "kind",
            "identity_type",
            "identity_masked",
            "real_name_masked",
            "bank_name",
            "bank_branch",
            "is_default",
            "verification",
            "verified_at",
            "mismatch_reason",
            "created_at",
        ]
        read_only_fields = fields


class PayoutAccountUnmaskedOutput(serializers.Serializer):
    """A payout account with its number and holder's name in clear (finance; every view is audited)."""

    account = PayoutAccountOutput()
    identity = serializers.CharField(help_text="The card number, Alipay login id or user id, or openid.")
    real_name = serializers.CharField(help_text="The account holder's real name.")


class PayoutAccountAddInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[PayoutAccount.Kind.BANK_CARD, PayoutAccount.Kind.ALIPAY],
        help_text="bank_card or alipay (a WeChat openid is set by the merchant's server).",
    )
    identity = serializers.CharField(max_length=64, help_text="The card number, or the Alipay login id or user id.")
    identity_type = serializers.ChoiceField(
        choices=[c for c, _ in PayoutAccount.IdentityType.choices if c != "openid"],
        required=False,
        help_text="For alipay: ALIPAY_LOGON_ID (default) or ALIPAY_USER_ID; for a card: card_no.",
    )
    real_name = serializers.CharField(max_length=64, help_text="The account holder's real name.")
    bank_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    bank_branch = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    make_default = serializers.BooleanField(required=False, default=False)


class BankResultInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "xlsx"], help_text="The file's format.")
    content = serializers.CharField(max_length=4_000_000, help_text="The bank's result file, base64-encoded.")
    dry_run = serializers.BooleanField(help_text="true: report every row's problems and change nothing.")


class BankResultRowOutput(serializers.Serializer):
    row = IntegerField(help_text="The row's number in the file (the header is row 1).")
    reference = serializers.CharField()
    status = serializers.CharField()
    action = serializers.CharField(help_text="paid, failed or unchanged; empty when the row has a problem.")
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="missing_reference, duplicate_reference, unknown_reference, bad_status, bad_amount, "
        "amount_mismatch, already_final.",
    )


class BankResultReportOutput(serializers.Serializer):
    batch = IntegerField()
    dry_run = serializers.BooleanField()
    rows = BankResultRowOutput(many=True)
    paid_lines = IntegerField(help_text="Lines the file marks paid (now, or by the import).")
    failed_lines = IntegerField(help_text="Lines the file marks failed: their money returns.")
    unchanged_lines = IntegerField(help_text="Rows repeating an outcome already recorded.")
    problem_rows = IntegerField(help_text="The import applies nothing while any.")
    not_in_file = serializers.ListField(child=serializers.CharField(), help_text="The batch's lines still open.")
