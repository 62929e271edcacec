from __future__ import annotations

import re
import zoneinfo
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from distribution import rls
from distribution.money import CURRENCY_CHOICES
from distribution.tenancy import TenantModel, TenantQuerySet
from merchants.roles import API_KEY_ROLES, Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.")


class Merchant(models.Model):
    """The tenant. Owns everything else."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="CNY")
    timezone = models.CharField(max_length=64, default="Asia/Shanghai", validators=[validate_timezone])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(TenantModel):
    """A staff user's role inside one merchant."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="membership_unique_user")]
        indexes = [models.Index(fields=["user"], name="membership_user")]

    def __str__(self) -> str:
        return f"{self.user} as {self.role}"


_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]{1,180}")


class CredentialManager(BaseAPIKeyManager.from_queryset(TenantQuerySet)):
    """Hashed credentials (API keys and tokens): shown once, stored as prefix + SHA-512 hash."""

    #: The rows that can still be presented.
    usable: ClassVar[dict[str, Any]] = {"revoked": False}

    def find_usable(self, key: str, *, select_related: tuple[str, ...] = ()):
        """The credential for a presented key, or None (revoked, expired, unknown and wrong all look alike)."""
        if not _KEY_SHAPE.fullmatch(key):  # what assign_key makes: ASCII letters, digits, '.', '-', '_'
            return None
        prefix, _, _ = key.partition(".")
        with rls.bypass():  # the merchant is what the credential will tell
            credential = self.unscoped().select_related(*select_related).filter(prefix=prefix, **self.usable).first()
        if credential is None or credential.has_expired or not credential.is_valid(key):
            return None
        return credential


class StaffToken(TenantModel, AbstractAPIKey):
    """A staff member's API token for one merchant (login with username and password)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialManager()

    class Meta(AbstractAPIKey.Meta):
        indexes = [models.Index(fields=["merchant", "membership"], name="stafftoken_membership")]
        verbose_name = "staff token"
        verbose_name_plural = "staff tokens"


class MerchantAPIKey(TenantModel, AbstractAPIKey):
    """A key for the merchant's own servers (order events, product sync, distributor tokens)."""

    role = models.CharField(max_length=16, choices=[(r.value, r.label) for r in API_KEY_ROLES])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialManager()

    class Meta(AbstractAPIKey.Meta):
        indexes = [models.Index(fields=["merchant", "created"], name="apikey_merchant")]
        verbose_name = "merchant API key"
        verbose_name_plural = "merchant API keys"


class PlatformAPIKey(AbstractAPIKey):
    """A platform operator's key for the platform API (`/api/platform/v1/`): it manages merchants and belongs to
    none of them. Made with `manage.py create_platform_key`; shown once, kept as a hash."""

    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "platform API key"
        verbose_name_plural = "platform API keys"


class InvitationManager(CredentialManager):
    """Invitation tokens are credentials too (prefix + hash, shown once), on a row with its own id."""

    usable: ClassVar[dict[str, Any]] = {"status": "pending"}

    def assign_key(self, obj: Invitation) -> str:
        key, obj.prefix, obj.hashed_key = self.key_generator.generate()
        return key


class Invitation(TenantModel):
    """An invitation to join the merchant's staff with a role: a single-use token that expires.

    The invitee accepts it (`POST /api/v1/auth/invitations/accept`) with an account they prove, or with a
    new account made for this merchant. `expired` is not stored: a pending invitation past `expires_at`.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REVOKED = "revoked"
        EXPIRED = "expired"

    prefix = models.CharField(max_length=8, unique=True, editable=False)
    hashed_key = models.CharField(max_length=150, editable=False)
    email = models.EmailField(blank=True, help_text="Whom it is for (a note for the merchant; optional).")
    role = models.CharField(max_length=16, choices=Role.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    expires_at = models.DateTimeField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvitationManager()

    class Meta:
        indexes = [models.Index(fields=["merchant", "status", "expires_at"], name="invitation_status")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(status="expired"), name="invitation_expired_is_not_stored"),
            models.CheckConstraint(
                condition=models.Q(status="accepted", accepted_at__isnull=False)
                | (~models.Q(status="accepted") & models.Q(accepted_at__isnull=True)),
                name="invitation_accepted_has_a_time",
            ),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} as {self.role} ({self.current_status})"

    @property
    def has_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def current_status(self) -> str:
        if self.status == self.Status.PENDING and self.has_expired:
            return self.Status.EXPIRED
        return self.status

    def is_valid(self, key: str) -> bool:
        return type(self).objects.key_generator.verify(key, self.hashed_key)


class DistributionProgram(TenantModel):
    """One per merchant: how its distribution program works. Changed only through program_update."""

    class BindingMode(models.TextChoices):
        FIRST_TOUCH = "first_touch", "First touch keeps the customer"
        LAST_TOUCH = "last_touch", "Last touch moves the customer (outside protection)"

    class SettlementProvider(models.TextChoices):
        WALLET = "wallet", "Wallet: settle into the available balance"
        WECHAT_PROFITSHARING = "wechat_profitsharing", "WeChat Pay profit sharing (分账) per order"

    class PayoutProvider(models.TextChoices):
        MANUAL = "manual", "Manual bank transfer (CSV export)"
        WECHAT_TRANSFER = "wechat_transfer", "WeChat Pay merchant transfer"
        ALIPAY_TRANSFER = "alipay_transfer", "Alipay transfer to the distributor's Alipay account"

    class RiskCheck(models.TextChoices):
        OFF = "off", "No risk check"
        FLAG = "flag", "Check after approval; flag hits for review"
        HOLD = "hold", "Hold applications until the check; hits wait for review"

    class BlacklistCommissionPolicy(models.TextChoices):
        FREEZE = "freeze", "Hold a blacklisted distributor's commission until the merchant decides"
        FORFEIT = "forfeit", "Reverse it back to the merchant at once"

    class TaxMode(models.TextChoices):
        NONE = "none", "No tax withheld"
        FLAT_RATE = "flat_rate", "A flat rate of each payout (tax_withholding_bps)"
        LABOUR_REMUNERATION = "labour_remuneration", "Individual income tax on labour remuneration (劳务报酬, 预扣预缴)"

    class SettlementSchedule(models.TextChoices):
        MANUAL = "manual"
        DAILY = "daily"
        WEEKLY = "weekly"
        MONTHLY = "monthly"

    merchant = models.OneToOneField(Merchant, on_delete=models.PROTECT, related_name="program", editable=False)
    # Commission. Depth is at most 3: deeper multi-level pay is treated as pyramid selling.
    commission_depth = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    depth1_rate_bps = models.PositiveIntegerField(default=1000, validators=[MaxValueValidator(10_000)])
    depth2_rate_bps = models.PositiveIntegerField(default=500, validators=[MaxValueValidator(10_000)])
    depth3_rate_bps = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(10_000)])
    commission_cap_bps = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(10_000)],
        help_text="Cap on an item's total commission, as a share of its paid amount; empty = no cap.",
    )
    self_purchase_commission = models.BooleanField(
        default=False, help_text="A distributor's own purchases earn depth-1 commission."
    )
    create_unknown_products = models.BooleanField(
        default=False, help_text="An order naming an unknown product creates it instead of being refused."
    )
    # Customer binding.
    binding_mode = models.CharField(max_length=16, choices=BindingMode.choices, default=BindingMode.FIRST_TOUCH)
    binding_validity_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=15,
        validators=[MaxValueValidator(3650)],
        help_text="How long a binding lasts; empty = permanent.",
    )
    binding_protection_days = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(3650)],
        help_text="In last-touch mode, no other distributor can take the customer during these days.",
    )
    # Holding and settlement.
    after_sales_days = models.PositiveIntegerField(default=7, validators=[MaxValueValidator(365)])
    settlement_schedule = models.CharField(
        max_length=16, choices=SettlementSchedule.choices, default=SettlementSchedule.DAILY
    )
    settlement_hour = models.PositiveSmallIntegerField(default=2, validators=[MaxValueValidator(23)])
    settlement_weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(6)], help_text="0 = Monday (weekly schedule)."
    )
    settlement_monthday = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(28)], help_text="Monthly schedule."
    )
    # Withdrawals (amounts in minor units).
    withdrawal_min_amount = models.PositiveBigIntegerField(default=100)
    withdrawal_daily_max_amount = models.PositiveBigIntegerField(default=2_000_000)
    withdrawal_fee_bps = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(10_000)])
    withdrawal_fee_fixed = models.PositiveBigIntegerField(default=0)
    withdrawal_requires_real_name = models.BooleanField(default=True)
    withdrawal_auto_approve = models.BooleanField(default=False)
    tax_mode = models.CharField(
        max_length=24,
        choices=TaxMode.choices,
        default=TaxMode.FLAT_RATE,
        help_text="How tax is withheld from payouts (settlements.services.tax).",
    )
    tax_withholding_bps = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(5000)],
        help_text="With tax_mode flat_rate: withheld from each payout (basis points).",
    )
    # Providers: how settled commission is split out, and how withdrawals are paid.
    settlement_provider = models.CharField(
        max_length=32, choices=SettlementProvider.choices, default=SettlementProvider.WALLET
    )
    payout_provider = models.CharField(max_length=20, choices=PayoutProvider.choices, default=PayoutProvider.MANUAL)
    # Levels: upgrades happen at once; downgrades only when enabled, at the end of an evaluation period,
    # one level at a time, and not within the grace days after the last change.
    level_downgrade_enabled = models.BooleanField(default=False)
    level_evaluation_months = models.PositiveSmallIntegerField(
        default=1, choices=[(1, "monthly"), (3, "quarterly"), (6, "half-yearly"), (12, "yearly")]
    )
    level_downgrade_grace_days = models.PositiveIntegerField(default=30, validators=[MaxValueValidator(3650)])
    # Risk.
    application_risk_check = models.CharField(max_length=8, choices=RiskCheck.choices, default=RiskCheck.FLAG)
    blacklist_commission_policy = models.CharField(
        max_length=8, choices=BlacklistCommissionPolicy.choices, default=BlacklistCommissionPolicy.FREEZE
    )
    # Recruitment.
    auto_approve_applications = models.BooleanField(default=True)
    application_requires_real_name = models.BooleanField(
        default=False, help_text="Applicants must give their real name and ID number."
    )
    app_base_url = models.CharField(
        max_length=200,
        blank=True,
        validators=[URLValidator(schemes=["https", "http"])],
        help_text="The merchant's app or H5 address; invite and recruitment links start with it.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(commission_depth__gte=1, commission_depth__lte=3),
                name="program_depth_at_most_3",
            ),
            models.CheckConstraint(
                condition=models.Q(withdrawal_min_amount__lte=models.F("withdrawal_daily_max_amount")),
                name="program_withdrawal_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        return f"program of merchant {self.merchant_id}"

    def rate_bps_for_depth(self, depth: int) -> int:
        return {1: self.depth1_rate_bps, 2: self.depth2_rate_bps, 3: self.depth3_rate_bps}[depth]
