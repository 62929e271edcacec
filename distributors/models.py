from __future__ import annotations

import secrets

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from rest_framework_api_key.models import AbstractAPIKey

from distribution import rates
from distribution.tenancy import TenantModel
from merchants.models import CredentialManager

# Invite (share) codes: no 0/O, 1/I/L, so that they survive being read aloud or retyped from a poster.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_CODE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


class DistributorToken(TenantModel, AbstractAPIKey):
    """A credential for one of the merchant's app users, issued by the merchant's server.

    The merchant authenticates the person in its own app, then asks for a token for that
    `external_user_id`; distributor endpoints accept only these tokens.
    """

    external_user_id = models.CharField(max_length=64)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialManager()

    class Meta(AbstractAPIKey.Meta):
        indexes = [models.Index(fields=["merchant", "external_user_id"], name="disttoken_user")]
        verbose_name = "distributor token"
        verbose_name_plural = "distributor tokens"


class Level(TenantModel):
    """A tier (分销等级): ordered by rank, with upgrade conditions and commission rates per depth.

    Conditions left empty are not conditions. `condition_mode` says whether any or all of the set
    conditions must hold; `window_days` measures sales and orders over the last N days (empty =
    cumulative). Rates left empty fall back to the program's default for that depth; each depth has its
    own mode (distribution.rates).
    """

    class ConditionMode(models.TextChoices):
        ANY = "any"
        ALL = "all"

    name = models.CharField(max_length=60)
    rank = models.PositiveSmallIntegerField(help_text="Higher is better; unique within the merchant.")
    is_default = models.BooleanField(default=False, help_text="The level of new distributors.")
    condition_mode = models.CharField(max_length=3, choices=ConditionMode.choices, default=ConditionMode.ANY)
    window_days = models.PositiveIntegerField(null=True, blank=True)
    min_sales_amount = models.BigIntegerField(null=True, blank=True, help_text="Minor units.")
    min_order_count = models.PositiveIntegerField(null=True, blank=True)
    min_direct_recruits = models.PositiveIntegerField(null=True, blank=True)
    min_bound_customers = models.PositiveIntegerField(null=True, blank=True)
    depth1_rate_mode = models.CharField(max_length=8, choices=rates.MODE_CHOICES, null=True, blank=True)  # noqa: DJ001
    depth1_rate = models.BigIntegerField(null=True, blank=True, help_text="bps (percent) or minor units (fixed)")
    depth2_rate_mode = models.CharField(max_length=8, choices=rates.MODE_CHOICES, null=True, blank=True)  # noqa: DJ001
    depth2_rate = models.BigIntegerField(null=True, blank=True)
    depth3_rate_mode = models.CharField(max_length=8, choices=rates.MODE_CHOICES, null=True, blank=True)  # noqa: DJ001
    depth3_rate = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    CONDITION_FIELDS = ("min_sales_amount", "min_order_count", "min_direct_recruits", "min_bound_customers")

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "rank"], name="level_unique_rank"),
            models.UniqueConstraint(fields=["merchant"], condition=Q(is_default=True), name="level_one_default"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (rank {self.rank})"

    RATE_COLUMNS = {"mode": "depth{}_rate_mode", "value": "depth{}_rate"}

    @property
    def commission_rates(self) -> list[dict]:
        return rates.from_columns(self, **self.RATE_COLUMNS)

    def rate(self, depth: int) -> tuple[str, int] | None:
        return rates.by_depth(self.commission_rates).get(depth)

    @property
    def conditions(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.CONDITION_FIELDS if getattr(self, name) is not None}


class Distributor(TenantModel):
    """A promoter (分销员) inside one merchant, tied to the merchant's own user id.

    The invite tree is a materialized path: `ancestor_ids` lists every ancestor, root first, so the
    upline is read from the row itself and a whole team is one GIN-indexed containment query.
    """

    class Status(models.TextChoices):
        APPLIED = "applied"
        ACTIVE = "active"
        FROZEN = "frozen"
        REJECTED = "rejected"
        BLACKLISTED = "blacklisted"
        REMOVED = "removed"

    external_user_id = models.CharField(max_length=64)
    invite_code = models.CharField(max_length=16)
    display_name = models.CharField(max_length=80, blank=True)
    phone_encrypted = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=64, blank=True)
    phone_masked = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPLIED)
    status_reason = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    inviter = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="invitees", db_index=False
    )
    ancestor_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    depth = models.PositiveSmallIntegerField(default=0, help_text="Number of ancestors (0 = top of a tree).")
    level = models.ForeignKey(Level, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    level_locked = models.BooleanField(default=False)
    level_lock_reason = models.CharField(max_length=500, blank=True)
    level_changed_at = models.DateTimeField(null=True, blank=True)
    # Identity (实名): encrypted for display to no one but the owner's masked view, hashed for matching.
    real_name_encrypted = models.TextField(blank=True)
    real_name_masked = models.CharField(max_length=64, blank=True)
    id_type = models.CharField(max_length=24, blank=True)
    id_number_encrypted = models.TextField(blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True)
    id_number_masked = models.CharField(max_length=32, blank=True)
    payout_openid = models.CharField(
        max_length=64, blank=True, help_text="The distributor's WeChat openid for splits and transfers."
    )
    identity_submitted_at = models.DateTimeField(null=True, blank=True)
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    leaderboard_opt_in = models.BooleanField(
        default=False, help_text="Shown (name masked) on the distributors' leaderboard: the distributor's choice."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "external_user_id"], name="distributor_unique_user"),
            models.UniqueConstraint(fields=["merchant", "invite_code"], name="distributor_unique_invite_code"),
            models.CheckConstraint(condition=~Q(inviter=models.F("id")), name="distributor_not_own_inviter"),
        ]
        indexes = [
            models.Index(fields=["merchant", "inviter"], name="distributor_inviter"),
            models.Index(fields=["merchant", "status"], name="distributor_status"),
            models.Index(fields=["merchant", "phone_hash"], name="distributor_phone_hash"),
            models.Index(fields=["merchant", "id_number_hash"], name="distributor_id_hash"),
            GinIndex(fields=["ancestor_ids"], name="distributor_ancestors"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name or self.external_user_id} ({self.invite_code})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def identity_verified(self) -> bool:
        return self.identity_verified_at is not None

    def upline_ids(self, depth: int) -> list[int]:
        """Nearest first: [inviter, inviter's inviter, ...], at most `depth` of them."""
        return list(reversed(self.ancestor_ids[-depth:])) if depth > 0 else []


class Agreement(TenantModel):
    """A version of the distributor agreement (分销员协议). The latest published one is current."""

    version = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    body = models.TextField()
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "version"], name="agreement_unique_version")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class AgreementAcceptance(TenantModel):
    """That a distributor accepted a version of the agreement, and when."""

    distributor = models.ForeignKey(Distributor, on_delete=models.CASCADE, related_name="acceptances")
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "distributor", "agreement"], name="acceptance_unique"),
        ]


class RecruitmentEntry(TenantModel):
    """A recruitment entry (招募入口): a link on the shop home page or on a product that records where a
    recruit came from."""

    class Kind(models.TextChoices):
        SHOP_HOME = "shop_home"
        PRODUCT = "product"

    code = models.CharField(max_length=16)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "recruitment entries"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="entry_unique_code"),
            models.CheckConstraint(
                condition=Q(kind="product", product__isnull=False) | Q(kind="shop_home", product__isnull=True),
                name="entry_product_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Application(TenantModel):
    """One application to become a distributor, with what the person accepted and where they came from."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    class Channel(models.TextChoices):
        APP = "app", "The person, in the merchant's app"
        SERVER = "server", "The merchant's server, on the person's behalf"

    distributor = models.ForeignKey(Distributor, on_delete=models.CASCADE, related_name="applications")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    invite_code = models.CharField(max_length=16, blank=True)
    inviter = models.ForeignKey(Distributor, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    entry = models.ForeignKey(RecruitmentEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    auto_approved = models.BooleanField(default=False)
    decision_reason = models.CharField(max_length=500, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "distributor"], condition=Q(status="pending"), name="application_one_pending"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "id"], name="application_status"),
            models.Index(fields=["merchant", "entry"], name="application_entry"),
        ]


class CustomerBinding(TenantModel):
    """A customer of the merchant bound to a distributor (客户关系), for one period.

    Rows are history: at most one is `active` per customer; when a binding ends (replaced by another
    distributor, expired, released, transferred) it keeps its row with the end time and reason.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        ENDED = "ended"

    class Source(models.TextChoices):
        SHARE_LINK = "share_link"
        ORDER = "order"
        TRANSFER = "transfer"

    class EndReason(models.TextChoices):
        REPLACED = "replaced", "Another distributor's link (last touch)"
        EXPIRED = "expired"
        RELEASED = "released", "Released by the merchant"
        TRANSFERRED = "transferred", "Moved to another distributor by the merchant"

    customer_external_id = models.CharField(max_length=64)
    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT, related_name="bindings")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=16, choices=Source.choices)
    bound_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty = permanent.")
    protected_until = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "customer_external_id"],
                condition=Q(status="active"),
                name="binding_one_active_per_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "customer_external_id", "-bound_at"], name="binding_customer"),
            models.Index(fields=["merchant", "distributor", "status"], name="binding_distributor"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_external_id} → {self.distributor_id} ({self.status})"


class ShareVisit(TenantModel):
    """A visit through a share link that was reported with an id: the same visit twice changes nothing."""

    visit_id = models.CharField(max_length=64)
    customer_external_id = models.CharField(max_length=64)
    distributor = models.ForeignKey(Distributor, on_delete=models.CASCADE, related_name="+")
    visited_at = models.DateTimeField()
    decision = models.CharField(max_length=16)
    binding = models.ForeignKey(CustomerBinding, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "visit_id"], name="visit_unique_id")]


class BlacklistEntry(TenantModel):
    """A blocked identity (黑名单): a distributor, a phone, an ID number or an app user id.

    Phones and ID numbers are kept only as keyed hashes (and a masked form for display).
    """

    class Kind(models.TextChoices):
        DISTRIBUTOR = "distributor"
        PHONE = "phone"
        ID_NUMBER = "id_number"
        EXTERNAL_USER_ID = "external_user_id"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    value_hash = models.CharField(max_length=64)
    value_display = models.CharField(max_length=80, help_text="Masked for phones and ID numbers.")
    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=500)
    added_by = models.CharField(max_length=150)
    expires_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "kind", "value_hash"],
                condition=Q(removed_at__isnull=True),
                name="blacklist_one_live_entry",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "value_hash"], name="blacklist_hash")]
        verbose_name_plural = "blacklist entries"

    def __str__(self) -> str:
        return f"{self.kind}: {self.value_display}"


class LevelChange(TenantModel):
    """A distributor's level history: old, new, why (the metrics that decided it), which run or who."""

    class Direction(models.TextChoices):
        UP = "up"
        DOWN = "down"
        MANUAL = "manual"

    distributor = models.ForeignKey(Distributor, on_delete=models.CASCADE, related_name="level_changes")
    old_level = models.ForeignKey(Level, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    new_level = models.ForeignKey(Level, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    metrics = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey("tiers.TierRun", on_delete=models.CASCADE, null=True, blank=True, related_name="changes")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "run", "distributor"],
                condition=Q(run__isnull=False),
                name="levelchange_once_per_run",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "distributor", "-id"], name="levelchange_distributor")]
