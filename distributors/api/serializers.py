from datetime import timedelta

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from distribution.api.fields import (
    DateTimeField,
    IntegerField,
    MoneyField,
    PhoneField,
    SecretField,
    SecretWithheldField,
    TenantRelatedField,
    merchant_from_context,
)
from distribution.api.rates import CommissionRatesField
from distribution.api.serializers import ModelSerializer
from distribution.money import format_amount
from distributors.models import (
    Agreement,
    Application,
    BlacklistEntry,
    CustomerBinding,
    Distributor,
    DistributorToken,
    Level,
    LevelChange,
    RecruitmentEntry,
)
from distributors.services.identity import ID_TYPES
from merchants.api.serializers import MerchantOutput
from tiers.models import TierRun

# --- tokens ----------------------------------------------------------------------------------------


class DistributorTokenOutput(ModelSerializer):
    class Meta:
        model = DistributorToken
        fields = ["prefix", "external_user_id", "created", "expiry_date", "revoked", "last_used_at"]
        read_only_fields = fields


class DistributorTokenCreatedOutput(DistributorTokenOutput):
    token = SecretField(help_text="Give this to the app; shown once.")
    secret_withheld = SecretWithheldField()

    class Meta(DistributorTokenOutput.Meta):
        fields = [*DistributorTokenOutput.Meta.fields, "token", "secret_withheld"]
        read_only_fields = fields


class DistributorTokenIssueInput(serializers.Serializer):
    external_user_id = serializers.CharField(max_length=64, help_text="The person's id in the merchant's app.")
    ttl_seconds = IntegerField(required=False, min_value=60, max_value=10**9)


class RevokeUserInput(serializers.Serializer):
    external_user_id = serializers.CharField(max_length=64)


class RevokeUserOutput(serializers.Serializer):
    revoked = IntegerField()


# --- levels ----------------------------------------------------------------------------------------


class LevelSerializer(ModelSerializer):
    """Conditions left null are not conditions. `commission_rates` gives the level's rate per depth, each
    depth with its own mode; a depth left out uses the program's default."""

    min_sales_amount = MoneyField(min_value=0, required=False, allow_null=True)
    commission_rates = CommissionRatesField(required=False)
    window_days = IntegerField(min_value=1, max_value=3650, required=False, allow_null=True)
    rank = IntegerField(min_value=0, max_value=1000)
    min_order_count = IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    min_direct_recruits = IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    min_bound_customers = IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)

    class Meta:
        model = Level
        fields = [
            "id",
            "name",
            "rank",
            "is_default",
            "condition_mode",
            "window_days",
            "min_sales_amount",
            "min_order_count",
            "min_direct_recruits",
            "min_bound_customers",
            "commission_rates",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list = []  # uniqueness is the service's (and the database's) job


class LevelBrief(ModelSerializer):
    class Meta:
        model = Level
        fields = ["id", "name", "rank"]
        read_only_fields = fields


# --- distributors ----------------------------------------------------------------------------------


class DistributorBrief(ModelSerializer):
    class Meta:
        model = Distributor
        fields = ["id", "display_name", "invite_code", "status", "depth"]
        read_only_fields = fields


class IdentityOutput(serializers.Serializer):
    real_name = serializers.CharField(source="real_name_masked")
    id_type = serializers.CharField()
    id_number = serializers.CharField(source="id_number_masked")
    submitted_at = DateTimeField(source="identity_submitted_at", allow_null=True)
    verified = serializers.BooleanField(source="identity_verified")
    verified_at = DateTimeField(source="identity_verified_at", allow_null=True)


class DistributorOutput(ModelSerializer):
    """Personal data is masked: the phone, the real name and the ID number are never shown in full."""

    phone = serializers.CharField(source="phone_masked")
    inviter = DistributorBrief(allow_null=True)
    level = LevelBrief(allow_null=True)
    identity = IdentityOutput(source="*")

    class Meta:
        model = Distributor
        fields = [
            "id",
            "external_user_id",
            "invite_code",
            "display_name",
            "phone",
            "status",
            "status_reason",
            "status_changed_at",
            "inviter",
            "depth",
            "level",
            "level_locked",
            "level_lock_reason",
            "identity",
            "applied_at",
            "activated_at",
            "created_at",
        ]
        read_only_fields = fields


class TeamCounts(serializers.Serializer):
    direct = IntegerField(source="1")
    depth_2 = IntegerField(source="2")
    depth_3 = IntegerField(source="3")
    members = IntegerField(source="total", help_text="Everyone in the team, at any depth (beyond 3 too).")


class DistributorDetailOutput(DistributorOutput):
    upline = DistributorBrief(many=True)
    team = TeamCounts()
    invite_link = serializers.CharField(allow_null=True)
    share_link = serializers.CharField(allow_null=True)

    class Meta(DistributorOutput.Meta):
        fields = [*DistributorOutput.Meta.fields, "upline", "team", "invite_link", "share_link"]
        read_only_fields = fields


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class OptionalReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RemoveInput(ReasonInput):
    customers = serializers.ChoiceField(
        choices=["release", "to_inviter"],
        default="release",
        help_text="What happens to the distributor's customers: released, or handed to their inviter.",
    )


class SetLevelInput(serializers.Serializer):
    level = TenantRelatedField(model=Level)
    lock = serializers.BooleanField(default=False, help_text="Keep the automatic recalculation away.")
    reason = serializers.CharField(max_length=500)


class ChangeInviterInput(serializers.Serializer):
    inviter = TenantRelatedField(
        model=Distributor,
        allow_null=True,
        help_text="The new inviter's id; null moves the distributor to the top.",
    )
    reason = serializers.CharField(max_length=500)


class IdentityInput(serializers.Serializer):
    real_name = serializers.CharField(max_length=64)
    id_type = serializers.ChoiceField(choices=ID_TYPES, default="cn_resident")
    id_number = serializers.CharField(max_length=32)


class MerchantIdentityInput(IdentityInput):
    verified = serializers.BooleanField(default=True, help_text="The merchant checked it (e.g. with WeChat).")


# --- applications ----------------------------------------------------------------------------------


class ApplyInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    phone = PhoneField(required=False, allow_blank=True, default="")
    invite_code = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    entry_code = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    agreement_version = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)
    real_name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    id_type = serializers.ChoiceField(choices=ID_TYPES, default="cn_resident")
    id_number = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class ServerApplyInput(ApplyInput):
    external_user_id = serializers.CharField(max_length=64)
    identity_verified = serializers.BooleanField(default=False)


class ApplicationOutput(ModelSerializer):
    distributor = DistributorBrief()
    inviter = DistributorBrief(allow_null=True)
    entry = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    agreement_version = serializers.CharField(source="agreement.version", allow_null=True, default=None)
    external_user_id = serializers.CharField(source="distributor.external_user_id")

    class Meta:
        model = Application
        fields = [
            "id",
            "external_user_id",
            "distributor",
            "status",
            "channel",
            "invite_code",
            "inviter",
            "entry",
            "agreement_version",
            "auto_approved",
            "decision_reason",
            "decided_by",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields


# --- recruitment -----------------------------------------------------------------------------------


class RecruitmentEntryOutput(ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="external_id", read_only=True, allow_null=True)
    link = serializers.CharField(allow_null=True)
    applications = IntegerField(help_text="Applications made through this entry.")
    approved = IntegerField(help_text="Of those, approved.")

    class Meta:
        model = RecruitmentEntry
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "product",
            "is_active",
            "link",
            "applications",
            "approved",
            "created_at",
        ]
        read_only_fields = fields


class RecruitmentEntryInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    kind = serializers.ChoiceField(choices=RecruitmentEntry.Kind.choices)
    product = TenantRelatedField(model=Product, slug_field="external_id", required=False, allow_null=True, default=None)


class RecruitmentEntryUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False)
    is_active = serializers.BooleanField(required=False)


class AgreementSerializer(ModelSerializer):
    class Meta:
        model = Agreement
        fields = ["id", "version", "title", "body", "published_at"]
        read_only_fields = ["id", "published_at"]
        validators: list = []


class AcceptAgreementInput(serializers.Serializer):
    version = serializers.CharField(max_length=32)


# --- bindings --------------------------------------------------------------------------------------


class BindingOutput(ModelSerializer):
    distributor = DistributorBrief()
    end_reason = serializers.ChoiceField(
        choices=CustomerBinding.EndReason.choices, allow_blank=True, help_text="Empty while the binding is active."
    )

    class Meta:
        model = CustomerBinding
        fields = [
            "id",
            "customer_external_id",
            "distributor",
            "status",
            "source",
            "bound_at",
            "expires_at",
            "protected_until",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields


class VisitInput(serializers.Serializer):
    customer_external_id = serializers.CharField(max_length=64)
    share_code = serializers.CharField(max_length=16)
    visited_at = DateTimeField(required=False, allow_null=True, default=None)
    visit_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Your id for this visit: the same id sent again changes nothing.",
    )


class VisitOutput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["bound", "already_bound", "moved"])
    binding = BindingOutput()
    previous_distributor = DistributorBrief(allow_null=True)


class CustomerBindingOutput(serializers.Serializer):
    customer_external_id = serializers.CharField()
    current = BindingOutput(allow_null=True)
    history = BindingOutput(many=True)


class TransferInput(serializers.Serializer):
    from_distributor = TenantRelatedField(model=Distributor)
    to_distributor = TenantRelatedField(model=Distributor, allow_null=True, help_text="null releases the customers.")
    customer_external_ids = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_null=True,
        default=None,
        max_length=10000,
        help_text="Only these customers; omit for all of the distributor's customers.",
    )
    reason = serializers.CharField(max_length=500)


class TransferOutput(serializers.Serializer):
    moved = IntegerField()


# --- blacklist -------------------------------------------------------------------------------------


class BlacklistOutput(ModelSerializer):
    value = serializers.CharField(source="value_display")
    distributor = DistributorBrief(allow_null=True)
    is_live = serializers.SerializerMethodField()

    class Meta:
        model = BlacklistEntry
        fields = [
            "id",
            "kind",
            "value",
            "distributor",
            "reason",
            "added_by",
            "expires_at",
            "removed_at",
            "removed_by",
            "is_live",
            "created_at",
        ]
        read_only_fields = fields

    def get_is_live(self, entry) -> bool:
        from django.utils import timezone

        return entry.removed_at is None and (entry.expires_at is None or entry.expires_at > timezone.now())


class BlacklistInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BlacklistEntry.Kind.choices)
    value = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="The phone, ID number or app user id (not for kind=distributor).",
    )
    distributor = TenantRelatedField(
        model=Distributor,
        required=False,
        allow_null=True,
        default=None,
        help_text="For kind=distributor.",
    )
    reason = serializers.CharField(max_length=500)
    expires_at = DateTimeField(required=False, allow_null=True, default=None)


class BlacklistAddedOutput(BlacklistOutput):
    blacklisted_distributors = serializers.ListField(child=IntegerField())

    class Meta(BlacklistOutput.Meta):
        fields = [*BlacklistOutput.Meta.fields, "blacklisted_distributors"]
        read_only_fields = fields


# --- the distributor's own view ---------------------------------------------------------------------


class ConditionProgress(serializers.Serializer):
    """One condition of the next level. `required` and `current` are strings in the condition's unit: an
    amount as a decimal string (`"3000.00"`) for `min_sales_amount`, a whole number (`"5"`) for the counts."""

    condition = serializers.CharField()
    unit = serializers.ChoiceField(choices=["amount", "count"])
    required = serializers.CharField()
    current = serializers.CharField()
    met = serializers.BooleanField()

    def to_representation(self, instance):
        is_amount = instance["condition"] == "min_sales_amount"
        currency = merchant_from_context(self.context).currency
        shown = (lambda v: format_amount(v, currency)) if is_amount else str
        return {
            "condition": instance["condition"],
            "unit": "amount" if is_amount else "count",
            "required": shown(instance["required"]),
            "current": shown(instance["current"]),
            "met": instance["met"],
        }


class LevelProgressOutput(serializers.Serializer):
    current_level = LevelBrief(allow_null=True)
    next_level = LevelBrief(allow_null=True)
    condition_mode = serializers.CharField(allow_null=True)
    window_days = IntegerField(allow_null=True)
    conditions = ConditionProgress(many=True)
    qualifies = serializers.BooleanField()


class DistributorMeOutput(serializers.Serializer):
    external_user_id = serializers.CharField()
    merchant = MerchantOutput()
    status = serializers.CharField(help_text="'none' when the person has not applied.")
    distributor = DistributorOutput(allow_null=True)
    team = TeamCounts(allow_null=True)
    progress = LevelProgressOutput(allow_null=True)


class InviteOutput(serializers.Serializer):
    invite_code = serializers.CharField()
    invite_link = serializers.CharField(allow_null=True)
    share_link = serializers.CharField(allow_null=True)


class TeamMemberOutput(ModelSerializer):
    """What a distributor sees of their team: names and dates, no contact data."""

    relative_depth = IntegerField()
    level = LevelBrief(allow_null=True)

    class Meta:
        model = Distributor
        fields = ["id", "display_name", "relative_depth", "status", "level", "activated_at"]
        read_only_fields = fields


class MyCustomerOutput(ModelSerializer):
    customer = serializers.SerializerMethodField()

    class Meta:
        model = CustomerBinding
        fields = ["id", "customer", "source", "bound_at", "expires_at"]
        read_only_fields = fields

    def get_customer(self, binding) -> str:
        from distribution.pii import mask_name

        value = binding.customer_external_id
        return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:] if len(value) > 4 else mask_name(value)


# --- level history and tier runs ---------------------------------------------------------------------


class LevelChangeOutput(ModelSerializer):
    distributor = IntegerField(source="distributor_id")
    old_level = LevelBrief(allow_null=True)
    new_level = LevelBrief(allow_null=True)
    run = IntegerField(source="run_id", allow_null=True)
    metrics = serializers.SerializerMethodField(
        help_text="The metrics that decided a recalculated change: `earned_rank`, and per window (`30d`, `all`) "
        "`sales_amount` (a decimal string), `order_count`, `direct_recruits`, `bound_customers`."
    )

    class Meta:
        model = LevelChange
        fields = ["id", "distributor", "old_level", "new_level", "direction", "metrics", "run", "reason", "created_at"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_metrics(self, change) -> dict:
        metrics = dict(change.metrics or {})
        currency = merchant_from_context(self.context).currency
        if isinstance(metrics.get("windows"), dict):
            metrics["windows"] = {
                name: {**values, "sales_amount": format_amount(values["sales_amount"], currency)}
                if isinstance(values.get("sales_amount"), int)
                else values
                for name, values in metrics["windows"].items()
            }
        return metrics


class TierRunOutput(ModelSerializer):
    class Meta:
        model = TierRun
        fields = [
            "id",
            "as_of",
            "trigger",
            "status",
            "downgrades",
            "period",
            "evaluated",
            "upgraded",
            "downgraded",
            "attempts",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields


class TierRunInput(serializers.Serializer):
    as_of = DateTimeField(
        required=False, future_limit=timedelta(minutes=1), help_text="Evaluate as of this time (default: now)."
    )


class ForfeitOutput(serializers.Serializer):
    lines_reversed = IntegerField()
    unsettled = MoneyField(help_text="Unsettled commission reversed, in minor units.")
    available = MoneyField(help_text="Available balance returned to the merchant, in minor units.")
