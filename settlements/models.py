"""Settlement runs, split payments, payout batches and withdrawals."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from distribution.runs import LeasedRun
from distribution.tenancy import TenantModel
from settlements.providers.wechatpay.scenes import DEFAULT_SCENE_ID, SCENES, scene_problems


class SettlementRun(LeasedRun):
    """Settles every confirmed line whose after-sales window ended by `as_of`.

    Works in chunks of beneficiaries, each committed with its postings and the run's progress, so a
    run that dies resumes where it stopped (a leased run: distribution.runs).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Settling, chunk by chunk"
        COMPLETED = "completed", "Every due line settled"
        FAILED = "failed", "Stopped after repeated crashes"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.MANUAL)
    provider = models.CharField(max_length=32)
    requested_by = models.CharField(max_length=150, blank=True)
    lines_total = models.IntegerField(default=0)
    amount_total = models.BigIntegerField(default=0)
    lines_done = models.IntegerField(default=0)
    amount_done = models.BigIntegerField(default=0)
    distributors_done = models.IntegerField(default=0)
    cursor = models.BigIntegerField(default=0, help_text="Beneficiaries with an id below this are done.")
    chunks_done = models.IntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(status__in=["pending", "running"]), name="settlementrun_one_active"
            ),
        ]
        indexes = [models.Index(fields=["merchant", "-id"], name="settlementrun_recent")]

    def __str__(self) -> str:
        return f"run {self.pk} as of {self.as_of:%Y-%m-%d %H:%M} ({self.status})"


class SplitRequest(TenantModel):
    """One profit-sharing request to the provider: the due commission of one order, per beneficiary.

    `out_order_no` is ours, made from immutable ids and stored before the request is sent; an unknown
    outcome is resolved by querying with the same number.
    """

    class Status(models.TextChoices):
        CREATED = "created", "Created, not sent yet"
        PROCESSING = "processing"
        FINISHED = "finished"
        FAILED = "failed", "Refused by the provider (final)"
        UNKNOWN = "unknown", "Sent; outcome not known yet"
        EXPIRED = "expired", "Not split in time; the money is in the available balance"

    run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="splits")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    transaction_id = models.CharField(max_length=64)
    out_order_no = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CREATED)
    provider_order_id = models.CharField(max_length=64, blank=True)
    attempts = models.IntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    unfreeze_unsplit = models.BooleanField(
        default=True, help_text="Sent with the split: the rest of the payment is released, and no later split of it."
    )
    deadline_at = models.DateTimeField(
        null=True, blank=True, help_text="The end of the payment's freeze period: no split after it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "out_order_no"], name="split_unique_number"),
            models.UniqueConstraint(fields=["merchant", "run", "order"], name="split_one_per_run_order"),
        ]
        indexes = [
            models.Index(fields=["merchant", "status"], name="split_status"),
            models.Index(fields=["merchant", "transaction_id"], name="split_payment"),
        ]


class SplitReceiver(TenantModel):
    class Result(models.TextChoices):
        PENDING = "pending"
        SUCCESS = "success"
        CLOSED = "closed", "Failed (closed by the provider)"

    split = models.ForeignKey(SplitRequest, on_delete=models.CASCADE, related_name="receivers")
    distributor = models.ForeignKey("distributors.Distributor", on_delete=models.PROTECT, related_name="+")
    account = models.CharField(max_length=64, help_text="The distributor's openid.")
    amount = models.BigIntegerField()
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.PENDING)
    fail_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "split", "distributor"], name="splitreceiver_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="splitreceiver_positive"),
        ]


class PayoutAccount(TenantModel):
    """Where a distributor is paid: a bank card, an Alipay account or a WeChat openid (one default each).

    The account number (card number, Alipay login id or user id, openid) and the holder's real name are
    stored encrypted (distribution.crypto, the rotatable PII keys) and shown masked; the keyed hash
    finds a duplicate. An account pays only once its holder's name matches the verified identity
    (`verified`), or the merchant approved a mismatch with a reason (`approved`).
    """

    class Kind(models.TextChoices):
        BANK_CARD = "bank_card", "Bank card (bank batch payouts)"
        ALIPAY = "alipay", "Alipay account"
        WECHAT = "wechat", "WeChat openid (WeChat transfers)"

    class IdentityType(models.TextChoices):
        CARD_NO = "card_no", "Bank card number"
        ALIPAY_LOGON_ID = "ALIPAY_LOGON_ID", "Alipay login id (phone or e-mail)"
        ALIPAY_USER_ID = "ALIPAY_USER_ID", "Alipay user id (2088…)"
        OPENID = "openid", "WeChat openid under the merchant's appid"

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", "No verified identity to compare the holder's name with yet"
        VERIFIED = "verified", "The holder's name matches the verified identity"
        MISMATCH = "mismatch", "The holder's name differs from the identity: the merchant decides"
        APPROVED = "approved", "The merchant approved the mismatch, with a reason"

    distributor = models.ForeignKey(
        "distributors.Distributor", on_delete=models.PROTECT, related_name="payout_accounts", db_index=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    identity_type = models.CharField(max_length=16, choices=IdentityType.choices)
    identity_encrypted = models.TextField(help_text="The card number, Alipay identity or openid, encrypted.")
    identity_hash = models.CharField(max_length=64)
    identity_masked = models.CharField(max_length=64)
    real_name_encrypted = models.TextField(blank=True)
    real_name_masked = models.CharField(max_length=64, blank=True)
    bank_name = models.CharField(max_length=80, blank=True)
    bank_branch = models.CharField(max_length=120, blank=True)
    is_default = models.BooleanField(default=False)
    verification = models.CharField(max_length=12, choices=Verification.choices, default=Verification.UNVERIFIED)
    verified_at = models.DateTimeField(null=True, blank=True)
    mismatch_reason = models.CharField(max_length=500, blank=True, help_text="Why the merchant approved it.")
    decided_by = models.CharField(max_length=150, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    USABLE = (Verification.VERIFIED, Verification.APPROVED)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "distributor"],
                condition=Q(is_default=True, removed_at__isnull=True),
                name="payoutaccount_one_default",
            ),
            models.UniqueConstraint(
                fields=["merchant", "distributor", "kind", "identity_hash"],
                condition=Q(removed_at__isnull=True),
                name="payoutaccount_unique_live",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "distributor", "kind"], name="payoutaccount_distributor")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.identity_masked}"

    @property
    def usable(self) -> bool:
        return self.removed_at is None and self.verification in self.USABLE


class PayoutBatch(TenantModel):
    """Approved manual withdrawals exported together for the bank. Its files (CSV and XLSX, made once at
    export, stored encrypted: they hold card numbers) download again byte for byte. An export sent with an
    Idempotency-Key answers the same batch again."""

    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    count = models.IntegerField()
    total = models.BigIntegerField(help_text="What the bank pays out: the withdrawals' net amounts, minor units.")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - null = none given
    csv_encrypted = models.TextField(blank=True, help_text="The CSV file as exported (base64, encrypted).")
    xlsx_encrypted = models.TextField(blank=True, help_text="The XLSX file as exported (base64, encrypted).")

    class Meta:
        verbose_name_plural = "payout batches"
        indexes = [models.Index(fields=["merchant", "-id"], name="payoutbatch_recent")]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "idempotency_key"], name="payoutbatch_unique_key"),
        ]


class Withdrawal(TenantModel):
    """A distributor takes available balance out (提现). The amount is reserved at once; the payout goes
    through the merchant's payout provider; a failure returns the money. Every step is ledgered."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for approval"
        APPROVED = "approved", "Approved; payout not started"
        PROCESSING = "processing", "Payout in progress"
        PAID = "paid"
        FAILED = "failed", "Payout failed; money returned"
        REJECTED = "rejected", "Rejected; money returned"

    class Provider(models.TextChoices):
        MANUAL = "manual", "Manual (bank transfer by the merchant, CSV export)"
        WECHAT_TRANSFER = "wechat_transfer", "WeChat Pay merchant transfer to the user's balance"
        ALIPAY_TRANSFER = "alipay_transfer", "Alipay transfer to the user's Alipay account"

    distributor = models.ForeignKey("distributors.Distributor", on_delete=models.PROTECT, related_name="withdrawals")
    amount = models.BigIntegerField(help_text="Taken from the available balance.")
    fee = models.BigIntegerField(default=0)
    tax = models.BigIntegerField(default=0)
    net_amount = models.BigIntegerField(help_text="What the distributor receives: amount − fee − tax.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    payout_account = models.CharField(
        max_length=64, blank=True, help_text="openid for WeChat transfers; Alipay login id or user id for Alipay."
    )
    # The payout account it pays to, and what the rail needs of it, as it was at request time.
    destination = models.ForeignKey(
        PayoutAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    payee_kind = models.CharField(max_length=12, blank=True)
    payee_name_encrypted = models.TextField(blank=True)
    payee_identity_encrypted = models.TextField(blank=True)
    payee_identity_masked = models.CharField(max_length=64, blank=True)
    payee_bank_name = models.CharField(max_length=80, blank=True)
    payee_bank_branch = models.CharField(max_length=120, blank=True)
    out_bill_no = models.CharField(max_length=64, blank=True, help_text="Our number at the provider (from our id).")
    provider_state = models.CharField(max_length=24, blank=True)
    provider_bill_no = models.CharField(max_length=64, blank=True)
    package_info = models.TextField(
        blank=True,
        help_text="While WeChat waits for the payee to confirm: what the app passes to wx.requestMerchantTransfer.",
    )
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the bill was first sent to the provider.")
    needs_attention = models.BooleanField(
        default=False, help_text="The provider can no longer tell us the outcome: a person must settle it."
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="withdrawals")
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0, fee__gte=0, tax__gte=0, net_amount__gt=0)
                & Q(net_amount=models.F("amount") - models.F("fee") - models.F("tax")),
                name="withdrawal_amounts_valid",
            ),
            models.UniqueConstraint(
                fields=["merchant", "out_bill_no"], condition=~Q(out_bill_no=""), name="withdrawal_unique_bill_no"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "distributor", "requested_at"], name="withdrawal_distributor"),
            models.Index(fields=["merchant", "status", "id"], name="withdrawal_status"),
        ]

    def __str__(self) -> str:
        return f"withdrawal {self.pk} {self.amount} ({self.status})"


class WechatPayAccount(TenantModel):
    """A merchant's WeChat Pay (API v3) credentials, for profit sharing and transfers. Secrets are
    stored encrypted; platform operators enter them in the admin."""

    mchid = models.CharField(max_length=32)
    appid = models.CharField(max_length=32)
    merchant_serial_no = models.CharField(max_length=64)
    private_key_encrypted = models.TextField()
    platform_serial_no = models.CharField(max_length=64)
    platform_public_key = models.TextField()
    apiv3_key_encrypted = models.TextField()
    base_url = models.CharField(max_length=200, default="https://api.mch.weixin.qq.com")
    profit_sharing_freeze_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text="How long after payment WeChat keeps a payment's funds for splitting: 30 for ordinary "
        "merchants, 180 for the merchant kinds WeChat allows it.",
    )
    other_platform_keys = models.JSONField(
        default=dict,
        blank=True,
        help_text="During a platform key rotation: {serial: public key PEM} also accepted on WeChat's answers "
        "(the Wechatpay-Serial header selects the key). The platform serial and key above are the current ones.",
    )
    # The transfer scene (转账场景), always sent with its report infos and the payee's receipt wording; WeChat
    # refuses a bill without them. Checked per scene (settlements.providers.wechatpay.scenes).
    transfer_scene_id = models.CharField(
        max_length=16,
        default=DEFAULT_SCENE_ID,
        choices=[(rule.scene_id, f"{rule.scene_id} {rule.name}") for rule in SCENES.values()],
        help_text="The scene for commission payouts: 1005 佣金报酬 for promoters' commission.",
    )
    transfer_scene_report_infos = models.JSONField(
        default=list,
        blank=True,
        help_text='The scene\'s report infos, e.g. [{"info_type": "岗位类型", "info_content": "推广员"}, '
        '{"info_type": "报酬说明", "info_content": "分销佣金"}].',
    )
    transfer_user_recv_perception = models.CharField(
        max_length=32, blank=True, help_text="What the payee is shown as the reason (1005: 劳务报酬; 1000: 现金奖励)."
    )
    # Limits WeChat applies to this account, checked before a withdrawal is reserved (fen).
    transfer_min_amount = models.BigIntegerField(default=10, help_text="Smallest transfer (WeChat: 0.10).")
    transfer_max_amount = models.BigIntegerField(
        default=20_000, help_text="Largest single transfer the account allows (default 200.00; raise it to yours)."
    )
    transfer_daily_max_per_user = models.BigIntegerField(
        default=2_000_000, help_text="Most one payee may receive per day, China time (default 20,000.00)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant"], name="wechatpay_one_per_merchant"),
            models.CheckConstraint(
                condition=Q(transfer_min_amount__gte=1, transfer_max_amount__gte=models.F("transfer_min_amount"))
                & Q(transfer_daily_max_per_user__gte=models.F("transfer_max_amount")),
                name="wechatpay_transfer_limits_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"WeChat Pay {self.mchid}"

    def clean(self) -> None:
        """The admin form calls this: a scene WeChat would refuse cannot be saved."""
        super().clean()
        problems = self.transfer_problems()
        if problems:
            raise ValidationError(problems)

    def transfer_problems(self) -> dict[str, list[str]]:
        """Why WeChat would refuse this account's transfer bills (empty when it would not)."""
        infos = self.transfer_scene_report_infos
        if not isinstance(infos, list) or not all(isinstance(info, dict) for info in infos):
            return {"transfer_scene_report_infos": ['A list of {"info_type": …, "info_content": …}.']}
        return scene_problems(self.transfer_scene_id, infos, self.transfer_user_recv_perception)


class AlipayAccount(TenantModel):
    """A merchant's Alipay open-platform app (public-key mode), for transfers to distributors' Alipay
    accounts. The app private key is stored encrypted; platform operators enter it in the admin."""

    app_id = models.CharField(max_length=32)
    app_private_key_encrypted = models.TextField()
    alipay_public_key = models.TextField(help_text="The Alipay public key (支付宝公钥) of the app, PEM or Base64.")
    gateway_url = models.CharField(max_length=200, default="https://openapi.alipay.com/gateway.do")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant"], name="alipay_one_per_merchant")]

    def __str__(self) -> str:
        return f"Alipay app {self.app_id}"
